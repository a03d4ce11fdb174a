import { describe, expect, it } from 'vitest';
import { checkCommercialCertificate } from '../../../../src/doctor/checks/commercial-certificate.js';
import type { CertificateFacts } from '../../../../src/doctor/probes/certificates.js';

const COMMERCIAL = '/z/ssl/zimbra/commercial';
const WHERE = { workdir: '/z', nginxGroup: 'nogroup' };

function pair(
  subject: string,
  certPath: string,
  keyPath: string,
  fingerprint: string,
  publicKeySha256: string,
  matches = true,
): CertificateFacts {
  return {
    pair: { subject, certPath, keyPath },
    cert: {
      ok: true,
      source: 'file',
      chain: [
        { subject: `CN=${fingerprint}`, issuer: 'CN=CA', validFrom: 0, validTo: 1, fingerprint },
      ],
    },
    key: { ok: true, source: 'file', encrypted: false, matches, publicKeySha256 },
  };
}

const commercial = (fingerprint: string, key: string, matches = true) =>
  pair(
    'commercial',
    `${COMMERCIAL}/commercial.crt`,
    `${COMMERCIAL}/commercial.key`,
    fingerprint,
    key,
    matches,
  );
const deployed = (fingerprint: string, key: string) =>
  pair('default', '/z/conf/nginx.crt', '/z/conf/nginx.key', fingerprint, key);

describe('checkCommercialCertificate', () => {
  it('skips a work directory without a commercial pair', () => {
    const absent: CertificateFacts = {
      pair: { subject: 'commercial', certPath: 'c', keyPath: 'k' },
      cert: { ok: false, missing: true, error: 'no such file' },
      key: { ok: false, missing: true, error: 'no such file' },
    };
    const [finding] = checkCommercialCertificate(absent, deployed('A', 'a'), WHERE);
    expect(finding?.severity).toBe('ok');
  });

  it('passes when the default pair is the commercial one', () => {
    const [finding] = checkCommercialCertificate(commercial('A', 'a'), deployed('A', 'a'), WHERE);
    expect(finding?.severity).toBe('ok');
  });

  it('warns when the deployed default is another certificate, with the copy and reload commands', () => {
    const [finding] = checkCommercialCertificate(commercial('A', 'a'), deployed('B', 'b'), WHERE);
    expect(finding?.severity).toBe('warn');
    expect(finding?.evidence).toContain('/z/conf/nginx.crt is another certificate (CN=B)');
    expect(finding?.evidence).toContain('/z/conf/nginx.key is another key');
    expect(finding?.explanation).toContain('zmcertmgr deploycrt comm');
    expect(finding?.fix).toBe(
      [
        `cat ${COMMERCIAL}/commercial.crt ${COMMERCIAL}/commercial_ca.crt > /z/conf/nginx.crt`,
        `cp ${COMMERCIAL}/commercial.key /z/conf/nginx.key`,
        'chgrp nogroup /z/conf/nginx.key',
        'chmod 0640 /z/conf/nginx.key',
        'zmproxyctl reload -w /z',
      ].join(' && '),
    );
  });

  it('warns when the commercial key does not belong to its certificate', () => {
    const [finding] = checkCommercialCertificate(
      commercial('A', 'x', false),
      deployed('B', 'b'),
      WHERE,
    );
    expect(finding?.severity).toBe('warn');
    expect(finding?.evidence).toContain('does not belong to');
  });
});
