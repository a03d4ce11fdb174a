/** Self-signed certificates for tests that start or check real servers (openssl on the PATH). */
import { execFileSync } from 'node:child_process';

/** Writes a fresh self-signed certificate and its unencrypted key (PEM) for `commonName`. */
export function writeSelfSignedCertificate(
  crtPath: string,
  keyPath: string,
  commonName = 'localhost',
): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      keyPath,
      '-out',
      crtPath,
    ],
    { stdio: 'pipe' },
  );
}
