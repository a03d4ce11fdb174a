/**
 * The certificate probe: reads each certificate chain and key (from its file, else from the PEM
 * the directory holds) and turns them into facts with node:crypto: every certificate's subject,
 * issuer and validity, whether the key is encrypted, whether it matches the first certificate.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readTextFiles } from './files.js';

/** A certificate and key nginx is configured with. */
export interface CertificatePair {
  /** `default` or `domain example.com`. */
  subject: string;
  certPath: string;
  keyPath: string;
  /** PEM from the directory, used when the file does not exist (the generator writes it). */
  certPem?: string | undefined;
  keyPem?: string | undefined;
}

/** One certificate of a chain. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Milliseconds since the epoch. */
  validFrom: number;
  validTo: number;
  /** SHA-256 of the DER certificate, `AA:BB:…` (tells two copies of one certificate apart from two certificates). */
  fingerprint?: string | undefined;
}

/** Where a PEM was read from. */
export type PemSource = 'file' | 'directory';

/** What the probe found out about one pair. */
export interface CertificateFacts {
  pair: CertificatePair;
  cert:
    | { ok: true; source: PemSource; chain: CertificateInfo[] }
    | { ok: false; missing: boolean; error: string };
  key:
    | {
        ok: true;
        source: PemSource;
        encrypted: boolean;
        /** undefined when it could not be compared (encrypted key, unreadable certificate). */
        matches: boolean | undefined;
        error?: string | undefined;
        /** SHA-256 of the public key (SPKI DER), hex; undefined for an encrypted key. */
        publicKeySha256?: string | undefined;
      }
    | { ok: false; missing: boolean; error: string };
}

/** Reads and inspects every pair. */
export async function probeCertificates(
  pairs: readonly CertificatePair[],
): Promise<CertificateFacts[]> {
  const reads = await readTextFiles(pairs.flatMap((pair) => [pair.certPath, pair.keyPath]));
  return pairs.map((pair, index) => {
    const certRead = reads[index * 2];
    const keyRead = reads[index * 2 + 1];
    const certText = certRead?.ok === true ? certRead.text : pair.certPem;
    const keyText = keyRead?.ok === true ? keyRead.text : pair.keyPem;
    const certSource: PemSource = certRead?.ok === true ? 'file' : 'directory';
    const keySource: PemSource = keyRead?.ok === true ? 'file' : 'directory';

    let cert: CertificateFacts['cert'];
    let leaf: X509Certificate | undefined;
    if (certText === undefined) {
      cert = {
        ok: false,
        missing: certRead?.ok === false && certRead.missing,
        error: certRead?.ok === false ? certRead.error : 'not read',
      };
    } else {
      try {
        const parsed = parseChain(certText);
        leaf = parsed[0];
        cert = { ok: true, source: certSource, chain: parsed.map(describe) };
      } catch (error) {
        cert = { ok: false, missing: false, error: `not a PEM certificate: ${message(error)}` };
      }
    }

    let key: CertificateFacts['key'];
    if (keyText === undefined) {
      key = {
        ok: false,
        missing: keyRead?.ok === false && keyRead.missing,
        error: keyRead?.ok === false ? keyRead.error : 'not read',
      };
    } else {
      key = inspectKey(keyText, keySource, leaf);
    }
    return { pair, cert, key };
  });
}

/** An encrypted key shows in its PEM header, or fails to load without a passphrase. */
function inspectKey(
  text: string,
  source: PemSource,
  leaf: X509Certificate | undefined,
): CertificateFacts['key'] {
  if (/-----BEGIN [A-Z ]*ENCRYPTED|Proc-Type:\s*4,\s*ENCRYPTED/.test(text)) {
    return { ok: true, source, encrypted: true, matches: undefined };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    if (/passphrase|password|bad decrypt/i.test(message(error))) {
      return { ok: true, source, encrypted: true, matches: undefined };
    }
    return { ok: false, missing: false, error: `not a PEM private key: ${message(error)}` };
  }
  return {
    ok: true,
    source,
    encrypted: false,
    matches: leaf === undefined ? undefined : samePublicKey(leaf, privateKey),
    publicKeySha256: createHash('sha256')
      .update(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }))
      .digest('hex'),
  };
}

function parseChain(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no -----BEGIN CERTIFICATE----- block');
  return blocks.map((block) => new X509Certificate(block));
}

function describe(cert: X509Certificate): CertificateInfo {
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    validFrom: Date.parse(cert.validFrom),
    validTo: Date.parse(cert.validTo),
    fingerprint: cert.fingerprint256,
  };
}

/** node prints a distinguished name one attribute per line. */
function oneLine(name: string): string {
  return name
    .split('\n')
    .filter((part) => part !== '')
    .join(', ');
}

function samePublicKey(cert: X509Certificate, key: KeyObject): boolean {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCert = cert.publicKey.export({ type: 'spki', format: 'der' });
  return fromKey.equals(fromCert);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
