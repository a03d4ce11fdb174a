/**
 * Check `key-access`: with the certificate map (docs/certificates.md "What it costs and needs")
 * nginx's workers, not the root master, open the private keys at each full handshake, so every
 * key the served tree names must be readable by the worker user: the `user` directive of the
 * served nginx.conf, or nginx's built-in default (`nobody`, group `nogroup` on Debian). zmproxy
 * writes the keys 0640 in localconfig `zmproxy_nginx_group`; a key installed or changed by hand
 * can miss that. Without the map the master reads the keys at start and this check only reports.
 * Pure: stat results and the account files in, findings out.
 */
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import type { FileRead } from '../probes/files.js';
import type { FileOwnership } from '../probes/ownership.js';

const ID = 'key-access';

/** nginx's compiled-in worker user and group (Debian's build; `nobody` has no group of its name there). */
export const DEFAULT_WORKER = { user: 'nobody', group: 'nogroup' } as const;

/** Who nginx's workers run as, with the ids the account files give. */
export interface WorkerIdentity {
  user: string;
  group: string;
  /** Why this user: `user directive in …` or nginx's default. */
  from: string;
  uid: number | undefined;
  /** The directive's group and every group listing the user as a member (what initgroups gives). */
  gids: number[];
}

/** The `user` directive of a main nginx.conf: `user NAME [GROUP];` (the group defaults to NAME). */
export function parseUserDirective(text: string): { user: string; group: string } | undefined {
  const code = text.replace(/#[^\n]*/g, '');
  // Only the main context: a directive at the start of a line before the first block.
  const head = code.split('{')[0] ?? '';
  const match = /(?:^|[;\s])user\s+([^\s;]+)(?:\s+([^\s;]+))?\s*;/.exec(head);
  if (match?.[1] === undefined) return undefined;
  return { user: match[1], group: match[2] ?? match[1] };
}

/** The worker identity from the served nginx.conf and /etc/passwd, /etc/group. */
export function workerIdentity(
  mainConfig: FileRead,
  accounts: { passwd: FileRead; group: FileRead },
): WorkerIdentity {
  const directive = mainConfig.ok ? parseUserDirective(mainConfig.text) : undefined;
  const { user, group } = directive ?? DEFAULT_WORKER;
  const from =
    directive === undefined
      ? "nginx's default (no user directive)"
      : `user directive in ${mainConfig.path}`;
  const passwd = accounts.passwd.ok ? accounts.passwd.text : '';
  const groups = accounts.group.ok ? accounts.group.text : '';
  let uid: number | undefined;
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (name === user && id !== undefined && /^\d+$/.test(id)) uid = Number(id);
  }
  const gids: number[] = [];
  for (const line of groups.split('\n')) {
    const [name, , id, members = ''] = line.split(':');
    if (id === undefined || !/^\d+$/.test(id)) continue;
    if (name === group || members.split(',').includes(user)) gids.push(Number(id));
  }
  return { user, group, from, uid, gids };
}

/** Whether the worker may read the file: root reads all; else the owner, group or other bits. */
export function canRead(
  file: Extract<FileOwnership, { ok: true }>,
  worker: WorkerIdentity,
): boolean {
  if (worker.uid === 0) return true;
  if (worker.uid !== undefined && file.uid === worker.uid) return (file.mode & 0o400) !== 0;
  if (worker.gids.includes(file.gid)) return (file.mode & 0o040) !== 0;
  return (file.mode & 0o004) !== 0;
}

/** The served configuration loads keys per handshake (the certificate map's variables). */
export function usesCertificateMap(certificatesConfig: FileRead): boolean {
  return certificatesConfig.ok && /\$zmproxy_ssl_certificate_key\b/.test(certificatesConfig.text);
}

/** The findings of the key-access check. */
export function checkKeyAccess(facts: {
  keyFiles: readonly FileOwnership[];
  mainConfig: FileRead;
  certificatesConfig: FileRead;
  accounts: { passwd: FileRead; group: FileRead };
  nginxGroup: string;
  workdir: string;
}): Finding[] {
  const worker = workerIdentity(facts.mainConfig, facts.accounts);
  const present = facts.keyFiles.filter((file) => file.ok);
  if (!usesCertificateMap(facts.certificatesConfig)) {
    return [
      okFinding(
        ID,
        'private keys',
        `the served configuration names its keys directly (no certificate map), so nginx's master reads them at start; the workers (${worker.user}) need not read them`,
      ),
    ];
  }
  if (worker.uid === undefined) {
    return [
      {
        check: ID,
        severity: 'warn',
        subject: `user ${worker.user}`,
        evidence: `nginx's workers run as ${worker.user} (${worker.from}), which /etc/passwd does not list`,
        explanation: 'the doctor cannot tell which keys the workers can read without their user id',
        fix: `getent passwd ${worker.user}`,
      },
    ];
  }
  const findings: Finding[] = [];
  // The name of a user or group id in /etc/passwd or /etc/group (the third field is the id).
  const nameOf = (id: number, text: string): string =>
    text
      .split('\n')
      .find((line) => line.split(':')[2] === String(id))
      ?.split(':')[0] ?? String(id);
  const passwd = facts.accounts.passwd.ok ? facts.accounts.passwd.text : '';
  const groups = facts.accounts.group.ok ? facts.accounts.group.text : '';
  for (const file of present) {
    if (!file.ok || canRead(file, worker)) continue;
    const owner = nameOf(file.uid, passwd);
    const group = nameOf(file.gid, groups);
    const generated =
      file.path.includes('/domaincerts/') || file.path.includes('/nginx/generations/');
    findings.push({
      check: ID,
      severity: 'fail',
      subject: file.path,
      evidence: `owner ${owner}, group ${group}, mode ${(file.mode & 0o777).toString(8).padStart(4, '0')}; nginx's workers run as ${worker.user}:${worker.group} (${worker.from})`,
      explanation: `with the certificate map the workers open this key at each full handshake; ${worker.user} cannot read it, so TLS handshakes for the names it serves fail (nginx logs "cannot load certificate key … Permission denied")`,
      fix: generated
        ? `zmlocalconfig -e zmproxy_nginx_group=${worker.group} && zmproxyconfgen --apply -w ${facts.workdir}`
        : `chgrp ${worker.group} ${file.path} && chmod 0640 ${file.path}`,
    });
  }
  if (facts.nginxGroup !== worker.group && findings.length > 0) {
    for (const finding of findings) {
      finding.explanation += `; localconfig zmproxy_nginx_group is ${facts.nginxGroup}, not the workers' group ${worker.group}`;
    }
  }
  if (findings.length === 0) {
    findings.push(
      okFinding(
        ID,
        'private keys',
        `${worker.user} (${worker.from}) can read all ${present.length} key${present.length === 1 ? '' : 's'} the served tree names`,
      ),
    );
  }
  return findings;
}

/** The `key-access` check. */
export const keyAccessCheck = defineCheck({
  id: ID,
  title: 'Private key access',
  needs: ['keyFiles', 'served', 'accounts', 'localConfig', 'layout'],
  run: ({ keyFiles, served, accounts, localConfig, layout }) =>
    checkKeyAccess({
      keyFiles,
      mainConfig: served.mainConfig,
      certificatesConfig: served.certificatesConfig,
      accounts,
      nginxGroup: localConfig('zmproxy_nginx_group') || 'nogroup',
      workdir: layout.paths.workdir,
    }),
});
