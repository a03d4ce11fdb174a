/**
 * Certificates checked before they are published: the default certificate (a file nginx reads)
 * and every per-domain certificate the generation writes (from the directory's PEMs). Expired,
 * not yet valid, or a key that is not the certificate's: refused unless `--force`. Expiring
 * within the warning window, or names that do not cover the domain's virtual host names: warned.
 * The doctor applies the same rules to what nginx serves (src/doctor/checks/certificates.ts).
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
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

/**
 * What a certificate and key are, independent of the time: its validity dates, whether the key
 * is the certificate's, the names it does not cover. Parsing a key costs ~0.5 ms, so these facts
 * are kept per content hash between runs (see {@link checkGenerationCertificates}).
 */
export interface CertificateFacts {
  /** Why the PEM is not a certificate; the other fields are then empty. */
  notCertificate?: string | undefined;
  validFrom: number;
  validTo: number;
  /** Why the key does not go with the certificate (undefined: it does, or it is encrypted). */
  keyProblem?: string | undefined;
  uncovered: string[];
}

/** A certificate and key parsed once: many domains may share one pair (a wildcard). */
interface ParsedPair {
  cert?: X509Certificate | undefined;
  facts: Omit<CertificateFacts, 'uncovered'>;
}

/** Parses a certificate and checks its key against it. */
function parsePair(certPem: string, keyPem: string): ParsedPair {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(certPem)?.[0];
  let cert: X509Certificate;
  try {
    if (block === undefined) throw new Error('no -----BEGIN CERTIFICATE----- block');
    cert = new X509Certificate(block);
  } catch (error) {
    return { facts: { notCertificate: messageOf(error), validFrom: 0, validTo: 0 } };
  }
  let keyProblem: string | undefined;
  if (!/ENCRYPTED/.test(keyPem)) {
    try {
      const fromKey = createPublicKey(createPrivateKey(keyPem)).export({
        type: 'spki',
        format: 'der',
      });
      if (!fromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' })))
        keyProblem = "the private key is not the certificate's";
    } catch (error) {
      keyProblem = `the private key cannot be read (${messageOf(error)})`;
    }
  }
  return {
    cert,
    facts: { validFrom: Date.parse(cert.validFrom), validTo: Date.parse(cert.validTo), keyProblem },
  };
}

/**
 * The time-independent facts of one certificate and key (the expensive part: PEM parsing).
 * `parsed` keeps the pairs already parsed in this run, by their PEMs.
 */
export function computeCertificateFacts(
  input: Omit<CertificateInput, 'subject'>,
  parsed: Map<string, ParsedPair> = new Map(),
): CertificateFacts {
  const pairKey = `${input.certPem}\0${input.keyPem}`;
  let pair = parsed.get(pairKey);
  if (pair === undefined) {
    pair = parsePair(input.certPem, input.keyPem);
    parsed.set(pairKey, pair);
  }
  const { cert } = pair;
  return {
    ...pair.facts,
    uncovered:
      cert === undefined ? [] : input.names.filter((name) => cert.checkHost(name) === undefined),
  };
}

/** The verdict on a certificate's facts at `now` (ms since the epoch). */
export function judgeCertificate(
  subject: string,
  facts: CertificateFacts,
  now: number,
): CertificateVerdict {
  const refusals: string[] = [];
  const warnings: Warning[] = [];
  if (facts.notCertificate !== undefined) {
    refusals.push(`${subject}: not a PEM certificate (${facts.notCertificate})`);
    return { refusals, warnings };
  }
  const { validFrom: from, validTo: to } = facts;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  if (to <= now) refusals.push(`${subject}: expired on ${day(to)}`);
  else if (from > now) refusals.push(`${subject}: not valid before ${day(from)}`);
  else if (to - now < CERTIFICATE_WARNING_DAYS * DAY_MS) {
    warnings.push({
      code: 'W_CERT_EXPIRING',
      message: `${subject}: expires on ${day(to)}, in ${Math.floor((to - now) / DAY_MS)} days`,
      hint: 'renew it before it expires',
    });
  }
  if (facts.keyProblem !== undefined) refusals.push(`${subject}: ${facts.keyProblem}`);
  const { uncovered } = facts;
  if (uncovered.length > 0) {
    warnings.push({
      code: 'W_CERT_NAME_MISMATCH',
      message: `${subject}: the certificate does not name ${uncovered.join(', ')} (clients connecting with ${uncovered.length === 1 ? 'it' : 'them'} get a name mismatch)`,
      hint: 'get a certificate whose subjectAltName lists every zimbraVirtualHostname of the domain',
    });
  }
  return { refusals, warnings };
}

/** The checks of one certificate and key at `now` (ms since the epoch). */
export function inspectCertificate(input: CertificateInput, now: number): CertificateVerdict {
  return judgeCertificate(input.subject, computeCertificateFacts(input), now);
}

/** The key of a certificate's facts: a hash of everything they depend on. */
export function certificateFactsKey(input: Omit<CertificateInput, 'subject'>): string {
  return createHash('sha256')
    .update(input.certPem)
    .update('\0')
    .update(input.keyPem)
    .update('\0')
    .update(input.names.join('\n'))
    .digest('base64url');
}

/**
 * Facts kept between runs, by {@link certificateFactsKey}. `load` gives what the last run kept
 * (empty when there is nothing or it cannot be read); `save` keeps this run's, best effort: a
 * cache that cannot be written only costs the next run the parsing.
 */
export interface CertificateFactsCache {
  load(): Promise<Map<string, CertificateFacts>>;
  save(facts: ReadonlyMap<string, CertificateFacts>): Promise<void>;
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
  const domainEntries = new Map(
    generation.snapshot.domains.map((entry) => [firstValueOf(entry, 'zimbraDomainName'), entry]),
  );
  for (const file of generation.files) {
    const match = /(?:^|\/)domaincerts\/([^/]+)\.crt$/.exec(file.path);
    const domain = match?.[1];
    if (domain === undefined) continue;
    const keyPem = byPath.get(file.path.replace(/\.crt$/, '.key'));
    if (keyPem === undefined) continue;
    const entry = domainEntries.get(domain);
    inputs.push({
      subject: `domain ${domain}`,
      certPem: file.content,
      keyPem,
      names: entry?.attrs['zimbraVirtualHostname'] ?? [],
    });
  }
  return inputs;
}

/**
 * Every verdict of a generation at `now`. The facts of a pair already seen (in this run, or by
 * the last run through `cache`) are not computed again: at 10 000 domains, parsing every key
 * costs seconds, and their verdicts only depend on the dates the facts hold.
 */
export async function checkGenerationCertificates(
  generation: Generation,
  now: number,
  readText: ReadText,
  cache?: CertificateFactsCache,
): Promise<CertificateVerdict> {
  const known = (await cache?.load()) ?? new Map<string, CertificateFacts>();
  const used = new Map<string, CertificateFacts>();
  const parsed = new Map<string, ParsedPair>();
  const verdicts = (await collectCertificates(generation, readText)).map((input) => {
    const key = certificateFactsKey(input);
    let facts = used.get(key) ?? known.get(key);
    if (facts === undefined) facts = computeCertificateFacts(input, parsed);
    used.set(key, facts);
    return judgeCertificate(input.subject, facts, now);
  });
  const same = used.size === known.size && [...used.keys()].every((key) => known.has(key));
  if (cache !== undefined && !same) await cache.save(used);
  return {
    refusals: verdicts.flatMap((v) => v.refusals),
    warnings: verdicts.flatMap((v) => v.warnings),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
