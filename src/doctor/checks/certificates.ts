/**
 * Check `certificates` (README "zmproxy doctor"): the default certificate and key, and every
 * per-domain pair, exist; the key is not encrypted (an encrypted key is why nginx "asks for a
 * password" at start and never comes up under zmproxyctl); key and certificate match; none expires
 * within 30 days; the chain is in order (each certificate's issuer is the next one's subject).
 * Pure: the probe's facts and the time in, findings out.
 */
import { firstValueOf } from '../../model/snapshot.js';
import { computeDomainData } from '../../vars/domains.js';
import type { VarContext } from '../../vars/types.js';
import type { CertificateFacts, CertificatePair } from '../probes/certificates.js';
import type { Finding } from '../finding.js';
import { defineCheck } from '../check.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Certificates that expire within this many days are reported. */
export const EXPIRY_WARNING_DAYS = 30;

/** The pairs nginx is configured with: the default one, and one per domain with its own. */
export function computeCertificatePairs(ctx: VarContext): CertificatePair[] {
  // A generation names its domain certificates relative to itself: read what nginx serves.
  const served = (path: string): string =>
    path.startsWith('/') ? path : `${ctx.paths.liveDir}/${path}`;
  const pairs: CertificatePair[] = [
    { subject: 'default', certPath: ctx.paths.sslCrtDefault, keyPath: ctx.paths.sslKeyDefault },
  ];
  const seen = new Set<string>();
  for (const item of computeDomainData(ctx).items) {
    if (seen.has(item.domain)) continue;
    seen.add(item.domain);
    const certPath = item.vars['ssl.crt'] ?? ctx.paths.sslCrtDefault;
    const keyPath = item.vars['ssl.key'] ?? ctx.paths.sslKeyDefault;
    if (certPath === ctx.paths.sslCrtDefault && keyPath === ctx.paths.sslKeyDefault) continue;
    const entry = ctx.snapshot.domains.find(
      (domain) => firstValueOf(domain, 'zimbraDomainName') === item.domain,
    );
    pairs.push({
      subject: `domain ${item.domain}`,
      certPath: served(certPath),
      keyPath: served(keyPath),
      certPem: entry === undefined ? undefined : firstValueOf(entry, 'zimbraSSLCertificate'),
      keyPem: entry === undefined ? undefined : firstValueOf(entry, 'zimbraSSLPrivateKey'),
    });
  }
  return pairs;
}

/** The findings of the certificate check; `now` in milliseconds since the epoch. */
export function checkCertificates(
  facts: readonly CertificateFacts[],
  now: number,
  publish: PublishCommands = { managed: false, workdir: '/opt/zimbra' },
): Finding[] {
  return facts.flatMap((fact) => checkPair(fact, now, publish));
}

/** How a fix publishes: `zmproxyconfgen --apply` on a work directory it manages. */
export interface PublishCommands {
  managed: boolean;
  workdir: string;
}

function checkPair(fact: CertificateFacts, now: number, publish: PublishCommands): Finding[] {
  const { pair, cert, key } = fact;
  const findings: Finding[] = [];
  const fail = (evidence: string, explanation: string, fix: string): void => {
    findings.push({
      check: 'certificates',
      severity: 'fail',
      subject: pair.subject,
      evidence,
      explanation,
      fix,
    });
  };
  const warn = (evidence: string, explanation: string, fix: string): void => {
    findings.push({
      check: 'certificates',
      severity: 'warn',
      subject: pair.subject,
      evidence,
      explanation,
      fix,
    });
  };
  const fromDirectory = pair.subject.startsWith('domain ');
  const republish = publish.managed
    ? `zmproxyconfgen --apply -w ${publish.workdir}`
    : `zmproxyconfgen -w ${publish.workdir} && zmproxyctl reload -w ${publish.workdir}`;
  // A file nginx reads directly: a reload makes it read it again (--apply sees no change).
  const reload = `zmproxyctl reload -w ${publish.workdir}`;
  const deploy = fromDirectory
    ? `zmprov md ${pair.subject.slice('domain '.length)} zimbraSSLCertificate "$(cat chain.pem)" zimbraSSLPrivateKey "$(cat key.pem)" && ${republish}`
    : `install -m 600 key.pem ${pair.keyPath} && install -m 644 chain.pem ${pair.certPath} && ${reload}`;

  if (!cert.ok && !key.ok && cert.missing && key.missing) {
    fail(
      `${pair.certPath} and ${pair.keyPath}: no such file`,
      'nginx cannot load its ssl_certificate and ssl_certificate_key, so it does not start (or the reload is refused)',
      deploy,
    );
    return findings;
  }
  if (!cert.ok) {
    fail(
      `${pair.certPath}: ${cert.error}`,
      'nginx cannot load its ssl_certificate, so it does not start (or the reload is refused)',
      deploy,
    );
  }
  if (!key.ok) {
    fail(
      `${pair.keyPath}: ${key.error}`,
      'nginx cannot load its ssl_certificate_key, so it does not start (or the reload is refused)',
      deploy,
    );
  } else if (key.encrypted) {
    fail(
      `${where(pair.keyPath, key.source)} is encrypted with a pass phrase`,
      'nginx asks for the pass phrase on the terminal at start: under zmproxyctl (no terminal) it waits or fails, which is the classic "nginx asks for a password". The key nginx reads must be unencrypted and readable only by its user.',
      `openssl pkey -in ${pair.keyPath} -out ${pair.keyPath}.plain && chmod 600 ${pair.keyPath}.plain && mv ${pair.keyPath}.plain ${pair.keyPath} && ${fromDirectory ? republish : reload}`,
    );
  } else if (key.matches === false) {
    fail(
      `the public key of ${where(pair.keyPath, key.source)} is not the one in the first certificate of ${cert.ok ? where(pair.certPath, cert.source) : pair.certPath}`,
      'nginx refuses a key that does not belong to the certificate ("key values mismatch") and does not start',
      `openssl x509 -noout -pubkey -in ${pair.certPath} | openssl sha256 && openssl pkey -pubout -in ${pair.keyPath} | openssl sha256`,
    );
  }
  if (!cert.ok) return findings;

  const leaf = cert.chain[0];
  if (leaf !== undefined) {
    const days = Math.floor((leaf.validTo - now) / DAY_MS);
    const expires = new Date(leaf.validTo).toISOString().slice(0, 10);
    if (leaf.validTo <= now) {
      fail(
        `${leaf.subject} expired on ${expires}`,
        'clients refuse the connection or show a certificate warning; mail clients often just fail to log in',
        deploy,
      );
    } else if (days < EXPIRY_WARNING_DAYS) {
      warn(
        `${leaf.subject} expires on ${expires}, in ${days} day${days === 1 ? '' : 's'}`,
        `renew it before it expires (the doctor warns ${EXPIRY_WARNING_DAYS} days ahead)`,
        deploy,
      );
    }
  }
  const outOfOrder = cert.chain.findIndex(
    (info, index) =>
      index + 1 < cert.chain.length && info.issuer !== cert.chain[index + 1]?.subject,
  );
  if (outOfOrder >= 0) {
    warn(
      `in ${where(pair.certPath, cert.source)}, certificate ${outOfOrder + 1} (${cert.chain[outOfOrder]?.subject ?? ''}) is issued by ${cert.chain[outOfOrder]?.issuer ?? ''}, but certificate ${outOfOrder + 2} is ${cert.chain[outOfOrder + 1]?.subject ?? ''}`,
      'nginx sends the chain as it is in the file: the server certificate first, then each issuer in turn. Out of order, clients that do not repair chains fail with "unable to get local issuer certificate".',
      fromDirectory ? deploy : `cat server.crt intermediate.crt > ${pair.certPath} && ${reload}`,
    );
  }
  if (findings.length === 0 && leaf !== undefined && key.ok && key.matches === true) {
    const days = Math.floor((leaf.validTo - now) / DAY_MS);
    findings.push({
      check: 'certificates',
      severity: 'ok',
      subject: pair.subject,
      evidence: `${leaf.subject}, ${cert.chain.length} certificate${cert.chain.length === 1 ? '' : 's'} in order, key matches, valid ${days} more days (${where(pair.certPath, cert.source)})`,
      explanation: '',
      fix: null,
    });
  }
  return findings;
}

function where(path: string, source: 'file' | 'directory'): string {
  return source === 'file' ? path : `the directory's PEM for ${path} (not written yet)`;
}

/** The `certificates` check. */
export const certificatesCheck = defineCheck({
  id: 'certificates',
  title: 'Certificates',
  needs: ['certificates', 'now', 'layout'],
  run: ({ certificates, now, layout }) =>
    checkCertificates(certificates, now, {
      managed: layout.managed,
      workdir: layout.paths.workdir,
    }),
});
