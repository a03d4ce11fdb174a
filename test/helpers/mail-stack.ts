/**
 * The mail stack the end-to-end tests build on the test stack (scripts/stack.sh): LDIF of the
 * directory's entries, the dovecot users, the lookup service in this process, the stock
 * templates rendered for the proxy, and nginx in a mount namespace whose /etc/hosts names the
 * directory's hosts on loopback.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import type { RunningLookup } from '../../src/cli/lookup.js';
import { startLookupServer } from '../../src/cli/lookup.js';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import { generate } from '../../src/engine/generate.js';
import { formatProblem, ProblemsError } from '../../src/errors.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { parseOverrides } from '../../src/vars/registry.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { writeSelfSignedCertificate } from './certificates.js';
import { stackLdapOptions, stackValue } from './stack.js';

export { domainLdif } from '../../bench/lib/ldif-entries.js';

export const NGINX = '/usr/sbin/nginx';

/**
 * The global config entry: the default domain, a short auth wait, the route lookup queries and
 * the mailbox port attributes for IMAP and POP3, then `lines`.
 */
export function globalConfigLdif(defaultDomain: string, lines: readonly string[]): string {
  return [
    'dn: cn=config,cn=zimbra',
    'objectClass: organizationalRole',
    'objectClass: zimbraGlobalConfig',
    'cn: config',
    `zimbraDefaultDomainName: ${defaultDomain}`,
    'zimbraReverseProxyAuthWaitInterval: 1s',
    'zimbraReverseProxyMailHostQuery: (|(zimbraMailDeliveryAddress=${USER})(zimbraMailAlias=${USER})(zimbraId=${USER}))',
    'zimbraReverseProxyMailHostAttribute: zimbraMailHost',
    'zimbraReverseProxyPortQuery: (&(zimbraServiceHostname=${MAILHOST})(objectClass=zimbraServer))',
    'zimbraReverseProxyImapPortAttribute: zimbraImapBindPort',
    'zimbraReverseProxyPop3PortAttribute: zimbraPop3BindPort',
    ...lines,
    '',
  ].join('\n');
}

/** A server entry: `<id>0000000-…` as zimbraId, its name as zimbraServiceHostname, then `lines`. */
export function serverLdif(name: string, id: string, lines: readonly string[]): string {
  return [
    `dn: cn=${name},cn=servers,cn=zimbra`,
    'objectClass: zimbraServer',
    `cn: ${name}`,
    `zimbraId: ${id}0000000-0000-4000-8000-00000000000f`,
    `zimbraServiceHostname: ${name}`,
    ...lines,
    '',
  ].join('\n');
}

/**
 * The first lines of the one server entry of a single-host install, `localhost`, running every
 * service the proxy looks at (as Zimbra 10.1 does), without a line break at the end: the test
 * writes the attributes it is about after it.
 */
export function localhostServerHead(zimbraId?: string): string {
  return [
    'dn: cn=localhost,cn=servers,cn=zimbra',
    'objectClass: zimbraServer',
    'cn: localhost',
    ...(zimbraId === undefined ? [] : [`zimbraId: ${zimbraId}`]),
    'zimbraServiceHostname: localhost',
    ...['mailbox', 'service', 'zimbra', 'proxy', 'memcached'].map(
      (service) => `zimbraServiceEnabled: ${service}`,
    ),
    'zimbraServerVersion: 10.1.0_GA_4633',
  ].join('\n');
}

/** The ports a proxy server entry listens on. */
export interface ProxyListenPorts {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  http?: number;
  https?: number;
}

/** A proxy server entry's listener attributes (the web ones only with `http` / `https`). */
export function proxyPortLines(ports: ProxyListenPorts): string[] {
  return [
    `zimbraImapProxyBindPort: ${ports.imap}`,
    `zimbraImapSSLProxyBindPort: ${ports.imaps}`,
    `zimbraPop3ProxyBindPort: ${ports.pop3}`,
    `zimbraPop3SSLProxyBindPort: ${ports.pop3s}`,
    ...(ports.http === undefined ? [] : [`zimbraMailProxyPort: ${ports.http}`]),
    ...(ports.https === undefined ? [] : [`zimbraMailSSLProxyPort: ${ports.https}`]),
  ];
}

/** An account `uid@mailDomain` under `ou=people,<domainDn>` living on mailbox `host`. */
export function accountLdif(account: {
  uid: string;
  domainDn: string;
  mailDomain: string;
  host: string;
  /** The last digit of the zimbraId, so that tests' accounts differ. */
  idDigit: string;
  lines?: readonly string[];
}): string {
  const { uid } = account;
  return [
    `dn: uid=${uid},ou=people,${account.domainDn}`,
    'objectClass: inetOrgPerson',
    'objectClass: zimbraAccount',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    ...(account.lines ?? []),
    `zimbraId: ${uid.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-00000000000${account.idDigit}`,
    `zimbraMailDeliveryAddress: ${uid}@${account.mailDomain}`,
    `zimbraMailHost: ${account.host}`,
    '',
  ].join('\n');
}

/** Adds `address:{PLAIN}password` lines to the passwd-file the stack's dovecots read, once. */
export function addDovecotUsers(users: readonly (readonly [address: string, password: string])[]) {
  const file = stackValue('DOVECOT_USERS_FILE');
  const known = readFileSync(file, 'utf8');
  for (const [address, password] of users) {
    if (!known.includes(`${address}:`)) appendFileSync(file, `${address}:{PLAIN}${password}\n`);
  }
}

/**
 * The lookup service in this process against the stack's slapd, its log lines kept in `log`
 * (warnings and worse thrown away without one).
 */
export function startStackLookup(options: {
  sharedKey: string;
  noCache: boolean;
  hosts: ReadonlyMap<string, readonly string[]>;
  log?: string[];
}): Promise<RunningLookup> {
  const { log } = options;
  const logger =
    log === undefined
      ? pino({ level: 'warn' }, { write: () => undefined })
      : pino({ level: 'info' }, { write: (line: string) => void log.push(line) });
  return startLookupServer(
    {
      host: '127.0.0.1',
      port: 0,
      workers: 0,
      ldap: stackLdapOptions(),
      sharedKey: options.sharedKey,
      tls: undefined,
      memcached: undefined,
      noCache: options.noCache,
      hosts: new Map([...options.hosts].map(([name, addresses]) => [name, [...addresses]])),
      hostsOnly: true,
      maxWaitAttempts: 10,
      logLevel: log === undefined ? 'warn' : 'info',
    },
    logger,
  );
}

/**
 * Renders the stock templates for `serverName` (default `proxy.test`) from `ldif` into `work`
 * (its lookup upstream the service at `lookupAddress`), with a self-signed default certificate
 * and nginx's directories.
 */
export async function renderStockProxy(options: {
  work: string;
  ldif: string;
  serverName?: string;
  lookupAddress: string;
  hosts: ReadonlyMap<string, readonly string[]>;
  localConfig: readonly (readonly [string, string])[];
}): Promise<void> {
  const { work, ldif } = options;
  const serverName = options.serverName ?? 'proxy.test';
  const hosts = new Map([...options.hosts].map(([name, addresses]) => [name, [...addresses]]));
  const generation = await generate(
    {
      paths: { workdir: work, templateDir: BUNDLED_TEMPLATE_DIR },
      serverName,
      overrides: parseOverrides([
        `stock.lookup.:servers=server    ${options.lookupAddress};`,
        'stock.lookup.scheme=http',
      ]).overrides,
    },
    {
      source: { description: ldif, load: () => readLdifSnapshot([ldif]) },
      localConfig: new Map([['zimbra_server_hostname', serverName], ...options.localConfig]),
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
    },
  ).catch((error: unknown) => {
    // Name every problem: the test's directory is what needs fixing.
    const problems = error instanceof ProblemsError ? error.problems.map(formatProblem) : [];
    throw new Error(`generate for ${serverName}: ${String(error)} ${problems.join('; ')}`);
  });
  for (const file of generation.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    chmodSync(file.path, file.mode);
  }
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html'])
    mkdirSync(join(work, dir), { recursive: true });
}

/**
 * Starts nginx on `work/conf/nginx.conf` (after `nginx -t` when `testFirst`) in a mount namespace
 * of its own, where /etc/hosts names `names` on 127.0.0.1: nginx resolves upstream host names
 * when it reads its configuration, and the master stays in that namespace. Returns its pid.
 */
export async function startNginxWithHosts(
  work: string,
  names: readonly string[],
  testFirst = false,
): Promise<number> {
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${names.join(' ')}\n`);
  const run = 'exec "$2" -p "$3/" -c "$3/conf/nginx.conf"';
  const script = `mount --bind "$1" /etc/hosts && ${testFirst ? '"$2" -t -q -p "$3/" -c "$3/conf/nginx.conf" && ' : ''}${run}`;
  const started = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', hosts, NGINX, work], {
    encoding: 'utf8',
  });
  if (started.status !== 0)
    throw new Error(`nginx did not start: ${started.stdout}${started.stderr}`);
  for (let i = 0; i < 50; i++) {
    try {
      const pid = Number(readFileSync(join(work, 'log/nginx.pid'), 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('nginx wrote no pid file');
}

/** Ends the process `pid` if it still runs (nginx's master at the end of a test file). */
export function stopPid(pid: number): void {
  if (pid === 0) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** What {@link startProxyNginx} needs: the proxy's directory, its name and its lookup service. */
export interface ProxyNginxOptions {
  work: string;
  ldif: string;
  /** @default 'proxy.test' */
  serverName?: string;
  lookupAddress: string;
  sharedKey: string;
  authHttpPort: number;
  hosts: ReadonlyMap<string, readonly string[]>;
  localConfig?: readonly (readonly [string, string])[];
  testFirst?: boolean;
}

/**
 * One proxy in front of a running lookup service: the stock templates rendered with
 * `localConfig` besides the auth_http listener and the shared key ({@link renderStockProxy}),
 * and nginx ({@link startNginxWithHosts}) naming every host of `hosts`. Returns nginx's pid.
 */
export async function startProxyNginx(options: ProxyNginxOptions): Promise<number> {
  await renderStockProxy({
    work: options.work,
    ldif: options.ldif,
    serverName: options.serverName,
    lookupAddress: options.lookupAddress,
    hosts: options.hosts,
    localConfig: [
      ['zmproxy_auth_http_listen', `127.0.0.1:${options.authHttpPort}`],
      ['zmproxy_lookup_shared_key', options.sharedKey],
      ...(options.localConfig ?? []),
    ],
  });
  return startNginxWithHosts(options.work, [...options.hosts.keys()], options.testFirst ?? false);
}

/**
 * The whole proxy of an end-to-end test: the lookup service ({@link startStackLookup}) and one
 * nginx in front of it ({@link startProxyNginx}).
 */
export async function startMailProxy(
  options: Omit<ProxyNginxOptions, 'lookupAddress'> & { noCache: boolean; log: string[] },
): Promise<{ lookup: RunningLookup; nginxPid: number }> {
  const lookup = await startStackLookup(options);
  const nginxPid = await startProxyNginx({ ...options, lookupAddress: lookup.address });
  return { lookup, nginxPid };
}

/** A web backend that names itself in every answer. */
export function startWebBackend(name: string, port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${name} ${req.url ?? ''}\n`);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Runs curl without blocking the event loop (the lookup service may run in this process). */
export function curl(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', '--max-time', '15', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** How many logins of `user` the stack's dovecot instance has logged. */
export function dovecotLogins(instance: 1 | 2, user: string): number {
  const log = readFileSync(
    join(stackValue('STACK_DIR'), `dovecot${instance}`, 'dovecot.log'),
    'utf8',
  );
  return log.split('\n').filter((line) => line.includes(`Login: user=<${user}>`)).length;
}
