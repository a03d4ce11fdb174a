/**
 * Certificates checked before they are published: the default certificate (a file nginx reads)
 * and every per-domain certificate the generation writes (from the directory's PEMs). Expired,
 * not yet valid, or a key that is not the certificate's: refused unless `--force`. Expiring
 * within the warning window, or names that do not cover the domain's virtual host names: warned.
 * The doctor applies the same rules to what nginx serves (src/doctor/checks/certificates.ts).
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import type { Warning } from '../errors.js';
import { firstValueOf } from '../model/snapshot.js';
import type { Generation } from './generate.js';

/** Reads a text file (the default certificate pair lives outside the generation). */
export type ReadText = (path: string) => Promise<string>;

/** Days ahead an expiry is warned about (the doctor's window). */
export const CERTIFICATE_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** One certificate and key as nginx will load them. */
export interface CertificateInput {
  /** `default certificate conf/nginx.crt` or `domain example.com`. */
  subject: string;
  certPem: string;
  keyPem: string;
  /** Names clients connect with (the domain's virtual host names); empty: not checked. */
  names: readonly string[];
}

/** What the check found: refusals stop a publish, warnings are printed. */
export interface CertificateVerdict {
  refusals: string[];
  warnings: Warning[];
}

/** The checks of one certificate and key at `now` (ms since the epoch). */
export function inspectCertificate(input: CertificateInput, now: number): CertificateVerdict {
  const refusals: string[] = [];
  const warnings: Warning[] = [];
  const block = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(
    input.certPem,
  )?.[0];
  let cert: X509Certificate;
  try {
    if (block === undefined) throw new Error('no -----BEGIN CERTIFICATE----- block');
    cert = new X509Certificate(block);
  } catch (error) {
    refusals.push(`${input.subject}: not a PEM certificate (${messageOf(error)})`);
    return { refusals, warnings };
  }
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  if (to <= now) refusals.push(`${input.subject}: expired on ${day(to)}`);
  else if (from > now) refusals.push(`${input.subject}: not valid before ${day(from)}`);
  else if (to - now < CERTIFICATE_WARNING_DAYS * DAY_MS) {
    warnings.push({
      code: 'W_CERT_EXPIRING',
      message: `${input.subject}: expires on ${day(to)}, in ${Math.floor((to - now) / DAY_MS)} days`,
      hint: 'renew it before it expires',
    });
  }
  if (!/ENCRYPTED/.test(input.keyPem)) {
    try {
      const fromKey = createPublicKey(createPrivateKey(input.keyPem)).export({
        type: 'spki',
        format: 'der',
      });
      if (!fromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' })))
        refusals.push(`${input.subject}: the private key is not the certificate's`);
    } catch (error) {
      refusals.push(`${input.subject}: the private key cannot be read (${messageOf(error)})`);
    }
  }
  const uncovered = input.names.filter((name) => cert.checkHost(name) === undefined);
  if (uncovered.length > 0) {
    warnings.push({
      code: 'W_CERT_NAME_MISMATCH',
      message: `${input.subject}: the certificate does not name ${uncovered.join(', ')} (clients connecting with ${uncovered.length === 1 ? 'it' : 'them'} get a name mismatch)`,
      hint: 'get a certificate whose subjectAltName lists every zimbraVirtualHostname of the domain',
    });
  }
  return { refusals, warnings };
}

/**
 * The certificates of a generation: the default pair read from disk (missing files are left to
 * `nginx -t`), and each domain pair the generation writes.
 */
export async function collectCertificates(
  generation: Generation,
  readText: ReadText,
): Promise<CertificateInput[]> {
  const inputs: CertificateInput[] = [];
  const { sslCrtDefault, sslKeyDefault } = generation.paths;
  try {
    inputs.push({
      subject: `default certificate ${sslCrtDefault}`,
      certPem: await readText(sslCrtDefault),
      keyPem: await readText(sslKeyDefault),
      names: [],
    });
  } catch {
    // nginx -t names a missing or unreadable default pair.
  }
  const byPath = new Map(generation.files.map((file) => [file.path, file.content]));
  for (const file of generation.files) {
    const match = /(?:^|\/)domaincerts\/([^/]+)\.crt$/.exec(file.path);
    const domain = match?.[1];
    if (domain === undefined) continue;
    const keyPem = byPath.get(file.path.replace(/\.crt$/, '.key'));
    if (keyPem === undefined) continue;
    const entry = generation.snapshot.domains.find(
      (d) => firstValueOf(d, 'zimbraDomainName') === domain,
    );
    inputs.push({
      subject: `domain ${domain}`,
      certPem: file.content,
      keyPem,
      names: entry?.attrs['zimbraVirtualHostname'] ?? [],
    });
  }
  return inputs;
}

/** Every verdict of a generation at `now`. */
export async function checkGenerationCertificates(
  generation: Generation,
  now: number,
  readText: ReadText,
): Promise<CertificateVerdict> {
  const verdicts = (await collectCertificates(generation, readText)).map((input) =>
    inspectCertificate(input, now),
  );
  return {
    refusals: verdicts.flatMap((v) => v.refusals),
    warnings: verdicts.flatMap((v) => v.warnings),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
