/**
 * What a work directory needs before nginx can run from it (`zmproxyctl setup`), and the check
 * `zmproxyconfgen --apply` and `zmproxyctl start` run before using one: the directories nginx
 * writes to, the default certificate, localconfig (0600) with a shared lookup key, and a path
 * the nginx workers can traverse (a 0700 directory on it makes every worker die at start).
 */
import { WORKER_USER_KEY } from '../vars/worker-user.js';
import { lookupGroupIdSync } from '../writer/groups.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Warning } from '../errors.js';
import { ProxyConfError } from '../errors.js';
import { DEFAULT_LOOKUP_PORT, LOOKUP_LC } from '../model/lookup-topology.js';
import { readLocalConfig } from '../sources/localconfig/index.js';
import { editLocalConfigFile } from '../sources/localconfig/write-localconfig.js';

/** Directories nginx writes to or reads from, relative to the work directory. */
export const WORKDIR_DIRECTORIES = ['conf', 'log', 'data/tmp/nginx', 'data/nginx/html'] as const;

/** The files of a work directory nginx cannot start without. */
export const WORKDIR_FILES = ['conf/nginx.crt', 'conf/nginx.key'] as const;

/** What is missing from a work directory, relative paths; empty when it is set up. */
export function findMissingSetup(workdir: string): string[] {
  return [...WORKDIR_DIRECTORIES, ...WORKDIR_FILES]
    .filter((path) => !existsSync(join(workdir, path)))
    .map((path) =>
      WORKDIR_FILES.includes(path as (typeof WORKDIR_FILES)[number]) ? path : `${path}/`,
    );
}

/**
 * Throws E_INPUT naming what is missing and `zmproxyctl setup -w DIR` as the fix, or the
 * directories on the way that nginx's workers (`nobody` for Debian's nginx) cannot enter.
 */
export function assertWorkdirSetUp(workdir: string, nginxUser = 'nobody'): void {
  const missing = findMissingSetup(workdir);
  if (missing.length > 0) {
    throw new ProxyConfError(
      'E_INPUT',
      `${workdir} is not set up for nginx: ${missing.join(', ')} missing`,
      { hint: `zmproxyctl setup -w ${workdir}` },
    );
  }
  const user = lookupUser(nginxUser);
  const blocked = user === undefined ? [] : findUntraversable(`${workdir}/log`, user);
  if (blocked.length > 0) {
    throw new ProxyConfError(
      'E_INPUT',
      `nginx's workers (user ${nginxUser}) cannot enter ${blocked.join(', ')}: every worker would die at start`,
      { hint: `chmod o+x ${blocked.join(' ')} (or move the work directory)` },
    );
  }
}

/** uid and gid of a user from /etc/passwd; undefined when there is no such user. */
export function lookupUser(name: string): { uid: number; gid: number } | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * The directories on the way to `path` (itself included) that `user` cannot traverse: nginx's
 * workers run as that user and chdir or open files below them.
 */
export function findUntraversable(path: string, user: { uid: number; gid: number }): string[] {
  const blocked: string[] = [];
  let dir = path;
  for (;;) {
    try {
      const stats = statSync(dir);
      const bit = stats.uid === user.uid ? 0o100 : stats.gid === user.gid ? 0o010 : 0o001;
      if ((stats.mode & bit) === 0) blocked.push(dir);
    } catch {
      // Not there yet: setup creates it with 0755.
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return blocked.reverse();
}

/** Options of {@link setUpWorkdir}. */
export interface SetupOptions {
  workdir: string;
  /** zimbra_server_hostname when localconfig has none. @default os.hostname() */
  server?: string | undefined;
  /** localconfig keys to set (ldap_url, zimbra_ldap_userdn, zimbra_ldap_password). */
  keys?: ReadonlyMap<string, string>;
  /** The nginx worker user. @default 'nobody' (Debian's nginx without a `user` directive) */
  nginxUser?: string | undefined;
}

/** What {@link setUpWorkdir} did, line by line, and the warnings to show. */
export interface SetupReport {
  done: string[];
  warnings: Warning[];
}

/** Creates what is missing; leaves what exists. Idempotent. */
export async function setUpWorkdir(options: SetupOptions): Promise<SetupReport> {
  const { workdir } = options;
  const done: string[] = [];
  const warnings: Warning[] = [];
  const userName = options.nginxUser ?? 'nobody';
  const user = lookupUser(userName);
  if (user === undefined) {
    throw new ProxyConfError('E_INPUT', `the nginx worker user ${userName} does not exist`, {
      hint: 'give --nginx-user the user nginx runs its workers as (the user directive; nobody without one)',
    });
  }
  // Checked before anything is written: a half set-up directory would still not work.
  const blocked = findUntraversable(workdir, user);
  if (blocked.length > 0) {
    throw new ProxyConfError(
      'E_INPUT',
      `nginx's workers (user ${userName}) cannot enter ${blocked.join(', ')}: every worker would die at start`,
      { hint: `chmod o+x ${blocked.join(' ')} (or move the work directory)` },
    );
  }
  for (const dir of WORKDIR_DIRECTORIES) {
    const path = join(workdir, dir);
    if (!existsSync(path)) {
      mkdirSync(path, { recursive: true, mode: 0o755 });
      done.push(`created ${path}/`);
    }
  }

  const lcFile = join(workdir, 'conf/localconfig.xml');
  const existing = existsSync(lcFile) ? await readLocalConfig(lcFile) : new Map<string, string>();
  const edits = new Map<string, string>(options.keys ?? []);
  const unset = (key: string) => (existing.get(key) ?? '') === '' && !edits.has(key);
  const server = options.server ?? hostname();
  if (options.server !== undefined || unset('zimbra_server_hostname'))
    edits.set('zimbra_server_hostname', server);
  if (unset(LOOKUP_LC.sharedKey)) {
    edits.set(LOOKUP_LC.sharedKey, randomBytes(24).toString('hex'));
    done.push(`generated the lookup shared key (localconfig ${LOOKUP_LC.sharedKey})`);
  }
  // Written out so that an admin sees the lookup topology (docs/deployment.md) in zmlocalconfig.
  const topology: [string, string][] = [
    [LOOKUP_LC.servers, 'local'],
    [LOOKUP_LC.bindAddress, '127.0.0.1'],
    [LOOKUP_LC.port, String(DEFAULT_LOOKUP_PORT)],
    [LOOKUP_LC.scheme, 'http'],
  ];
  for (const [key, value] of topology) if (unset(key)) edits.set(key, value);
  // The stock templates' user directive names it, so nginx runs its workers as the user checked above.
  if (options.nginxUser !== undefined && unset(WORKER_USER_KEY))
    edits.set(WORKER_USER_KEY, options.nginxUser);
  const written = await editLocalConfigFile(lcFile, edits);
  done.push(`${existing.size === 0 ? 'created' : 'updated'} ${lcFile} (mode 0600)`);
  if ((written.get('ldap_url') ?? '') === '') {
    warnings.push({
      code: 'W_SETUP_NO_LDAP_URL',
      message: 'localconfig has no ldap_url: nothing can read the directory yet',
      hint: `zmlocalconfig -w ${workdir} -e ldap_url=ldap://<ldap host>:389 zimbra_ldap_userdn=uid=zimbra,cn=admins,cn=zimbra zimbra_ldap_password=<password>`,
    });
  }

  const crt = join(workdir, 'conf/nginx.crt');
  const key = join(workdir, 'conf/nginx.key');
  if (!existsSync(crt) || !existsSync(key)) {
    const name = written.get('zimbra_server_hostname') ?? server;
    writeSelfSignedCertificate(crt, key, name);
    // With certificates chosen by map, nginx's workers load the default key at the handshake.
    const group = written.get('zmproxy_nginx_group') || 'nogroup';
    const gid = lookupGroupIdSync(group);
    if (gid !== undefined) {
      chownSync(key, -1, gid);
      chmodSync(key, 0o640);
    }
    done.push(`created a self-signed certificate for ${name} (${crt}, ${key})`);
    warnings.push({
      code: 'W_SETUP_SELF_SIGNED_CERT',
      message: `${crt} is self-signed: clients will warn until you install a certificate signed by a CA they trust`,
      hint: "install it at the same paths; keep the key mode 0640 in the nginx workers' group, which loads it at the handshake when certificates are chosen by map",
    });
  }
  return { done, warnings };
}

/** A self-signed certificate for `name`, valid one year; the key is 0600 from its creation. */
function writeSelfSignedCertificate(crt: string, key: string, name: string): void {
  try {
    // openssl truncates and keeps the mode of an existing file: the key is never world-readable.
    writeFileSync(key, '', { mode: 0o600 });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '365',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
        '-keyout',
        key,
        '-out',
        crt,
      ],
      { stdio: 'pipe' },
    );
    chmodSync(key, 0o600);
  } catch (error) {
    throw new ProxyConfError(
      'E_WRITE',
      `cannot create a self-signed certificate in ${dirname(crt)}`,
      {
        hint: 'install openssl (apt-get install openssl), or put a certificate and key at conf/nginx.crt and conf/nginx.key',
        cause: error,
      },
    );
  }
}
