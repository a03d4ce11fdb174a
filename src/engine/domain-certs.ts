/**
 * Per-domain certificates and keys (what zmdomaincertmgr deploycrts does for Zimbra): every domain
 * with both zimbraSSLCertificate and zimbraSSLPrivateKey gets `<domain>.crt` and `<domain>.key`
 * in `<workdir>/conf/domaincerts`, keys mode 0600.
 */
import type { Problem } from '../errors.js';
import type { ResolvedPaths } from '../model/paths.js';
import type { DirectorySnapshot } from '../model/snapshot.js';
import { entryName, firstValueOf } from '../model/snapshot.js';
import { parseHostname } from '../model/value-types.js';
import type { PlannedFile } from '../plan/plan-changes.js';
import { SECRET_FILE_MODE } from '../plan/plan-changes.js';

const PEM = /^-----BEGIN [A-Z0-9 ]+-----\r?\n[\s\S]*-----END [A-Z0-9 ]+-----\s*$/;

/** The certificate and key files of every domain that has both; problems for malformed ones. */
export function computeDomainCertFiles(
  snapshot: DirectorySnapshot,
  paths: ResolvedPaths,
  report: (problem: Problem) => void,
): PlannedFile[] {
  const files: PlannedFile[] = [];
  for (const domain of snapshot.domains) {
    const cert = firstValueOf(domain, 'zimbraSSLCertificate');
    const key = firstValueOf(domain, 'zimbraSSLPrivateKey');
    if (cert === undefined || key === undefined) continue;
    const name = entryName(domain);
    // The domain name becomes a file name: it must not climb out of domaincerts.
    if (!parseHostname(name).ok) {
      report({
        subject: 'zimbraDomainName',
        entry: `domain ${name}`,
        message: 'not a valid domain name',
        value: name,
      });
      continue;
    }
    let valid = true;
    for (const [attribute, text] of [
      ['zimbraSSLCertificate', cert],
      ['zimbraSSLPrivateKey', key],
    ] as const) {
      if (!PEM.test(text.trim() + '\n')) {
        valid = false;
        report({
          subject: attribute,
          entry: `domain ${name}`,
          message: 'not a PEM block',
          value: `${text.slice(0, 30)}…`,
          hint: `zmprov md ${name} ${attribute} "$(cat FILE.pem)"`,
        });
      }
    }
    if (!valid) continue;
    files.push({ path: `${paths.domainCertDir}/${name}.crt`, content: pemText(cert), mode: 0o644 });
    files.push({
      path: `${paths.domainCertDir}/${name}.key`,
      content: pemText(key),
      mode: SECRET_FILE_MODE,
      secret: true,
    });
  }
  return files;
}

function pemText(text: string): string {
  const normalized = text.replace(/\r\n?/g, '\n').trim();
  return `${normalized}\n`;
}
