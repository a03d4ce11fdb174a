/**
 * `zmproxy lookup`: the route lookup service nginx asks (docs/zimbra-nginx-lookup.md). Several
 * worker processes (node:cluster) share one listener: nginx opens a new connection for every mail
 * login, so accepting is the cost that has to scale. `--workers 0` runs the service in this
 * process.
 *
 * Precedence: flags over localconfig (`ldap_url`, `zimbra_ldap_userdn`, `zimbra_ldap_password`,
 * `zmproxy_lookup_shared_key`, `zmproxy_lookup_verify_password`) over Zimbra's defaults. memcached servers: `--memcached`, else the
 * servers of the directory that run the `memcached` service (zimbraMemcachedBindPort).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ProxyConfError } from '../errors.js';
import { DEFAULT_LOOKUP_PORT, formatEndpoint, LOOKUP_LC } from '../model/lookup-topology.js';
import type { ErrorCode } from '../errors.js';
import { createAddressResolver } from '../lookup/adapters/address-resolver.js';
import { createLdapLookupDirectory } from '../lookup/adapters/ldap-lookup-directory.js';
import { createExternalLdapAuth } from '../lookup/adapters/external-ldap-auth.js';
import {
  computeListenExposure,
  createLookupHttpServer,
  createLookupService,
  isLoopbackHost,
} from '../lookup/adapters/lookup-server.js';
import { createClusterRegistry, createLookupMetrics } from '../lookup/adapters/metrics.js';
import type { LookupCache } from '../lookup/ports.js';
import type { LdapSourceOptions } from '../sources/ldap/index.js';
import { readHostsFile } from '../sources/dns/resolve-hostnames.js';
import { discoverMemcachedServers } from '../lookup/adapters/memcached-servers.js';
import { createMemcachedClient } from '../sources/memcached/index.js';
import type { MemcachedClient } from '../sources/memcached/index.js';
import {
  loadLocalConfig,
  localConfigText,
  readLocalLookupTopology,
  readPasswordFile,
  resolveLdapOptions,
} from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import { DIRECTORY_FLAGS, parseCommandArgs } from './shared/parse-command-args.js';
import { EXIT, exitCodeOf, reportError } from './shared/run.js';

const HELP = `usage: zmproxy lookup [options]

Runs the route lookup service nginx asks for mail logins (auth_http, ${'/service/extension/nginx-lookup'})
and web routes (auth_request, /service/extension/zmproxy-route); /healthz and /metrics.

options:
  --listen HOST:PORT         where to listen (default: localconfig zmproxy_lookup_bind_address and
                             zmproxy_lookup_port, 127.0.0.1:7077); off loopback it needs TLS
                             (--tls-cert/--tls-key or zmproxy_lookup_tls_cert/_key) and a shared key
  --insecure                 allow a listener off loopback without TLS or shared key (logs a warning)
  --workers N                worker processes on the one listener (default: one per core; 0 = this process)
  --source ldap://…          LDAP URLs (default: localconfig ldap_url)
  --localconfig FILE         Zimbra's localconfig.xml
  -w, --workdir DIR          take localconfig from DIR/conf/localconfig.xml (as zmproxyctl starts it)
  --bind-dn DN               LDAP bind DN (default: localconfig zimbra_ldap_userdn)
  --bind-password-file FILE  LDAP password (default: localconfig zimbra_ldap_password)
  --shared-key-file FILE     key nginx must send as X-Zmproxy-Key (default: localconfig zmproxy_lookup_shared_key)
  --tls-cert FILE --tls-key FILE   serve HTTPS (needed when nginx is on another host: passwords cross the hop)
  --memcached H:P[,H:P…]     memcached servers (default: the directory's memcached servers)
  --no-cache                 no route cache and no login throttle counters
  --hosts FILE               host names answered before DNS (/etc/hosts format)
  --hosts-only               resolve host names from --hosts only
  --max-wait-attempts N      send Auth-Wait up to this login attempt (default 10)
  --verify-password          check mail passwords here, as the domain's zimbraAuthMech says (zimbra:
                             bind on this LDAP; ldap/ad: bind on zimbraAuthLdapURL; other mechanisms
                             refused), for mailbox servers that trust the proxy (default: localconfig
                             zmproxy_lookup_verify_password, false: route only, the mailbox server checks)
  --status-without-key       off loopback, answer /metrics and /healthz without the shared key
  --log-level LEVEL          info (one line per decision), warn, error or silent (default info)

SIGHUP forgets the domains and server ports kept in process (up to 15 minutes) and reads the
global config again; SIGTERM drains and exits.
  --debug                    stack traces on errors
`;

/** Settings of one lookup process, from flags and localconfig. */
export interface LookupRunOptions {
  host: string;
  port: number;
  workers: number;
  ldap: LdapSourceOptions;
  sharedKey: string;
  tls: { cert: Buffer; key: Buffer } | undefined;
  memcached: readonly string[] | undefined;
  noCache: boolean;
  hosts: ReadonlyMap<string, readonly string[]> | undefined;
  hostsOnly: boolean;
  maxWaitAttempts: number;
  logLevel: string;
  /**
   * What the listener lacks off loopback (TLS, shared key), accepted with `--insecure`; logged as
   * a warning at start. @default [] (none)
   */
  insecureListen?: readonly string[];
  /** `--verify-password`: check passwords at the proxy. @default false (route only) */
  verifyPassword?: boolean;
  /** `/metrics` and `/healthz` need the shared key (off loopback by default). @default false */
  statusNeedsKey?: boolean;
}

const FLAGS = {
  ...DIRECTORY_FLAGS,
  hosts: { type: 'string' },
  listen: { type: 'string' },
  workers: { type: 'string' },
  'shared-key-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  insecure: { type: 'boolean' },
  memcached: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'hosts-only': { type: 'boolean' },
  'max-wait-attempts': { type: 'string' },
  'verify-password': { type: 'boolean' },
  'status-without-key': { type: 'boolean' },
  'log-level': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function usage(message: string, hint = 'zmproxy lookup -h lists the options'): ProxyConfError {
  return new ProxyConfError('E_USAGE', message, { hint });
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match?.[1] === undefined || match[1] === '' || !(port >= 0 && port <= 65535)) {
    throw usage(`--listen ${text}: expected HOST:PORT`, 'e.g. --listen 127.0.0.1:7077');
  }
  return { host: match[1], port };
}

function count(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw usage(`${flag} ${text}: expected a whole number`);
  return Number(text);
}

/** Reads flags, localconfig and the files they name into {@link LookupRunOptions}. */
export async function resolveLookupRunOptions(argv: readonly string[]): Promise<LookupRunOptions> {
  const { values } = parseCommandArgs(argv, FLAGS, 'lookup');
  // -w DIR (what zmproxyctl passes): the host's own localconfig, as Zimbra's tools read it.
  const workdirLc =
    values.workdir === undefined ? undefined : join(values.workdir, 'conf/localconfig.xml');
  const lc = await loadLocalConfig(
    values.localconfig ??
      (workdirLc !== undefined && existsSync(workdirLc) ? workdirLc : undefined),
  );
  const ldap = await resolveLdapOptions(values.source, {
    localConfig: lc,
    bindDn: values['bind-dn'],
    bindPasswordFile: values['bind-password-file'],
  });
  checkLdapUrls(ldap.urls, values.source !== undefined);
  const sharedKey =
    values['shared-key-file'] === undefined
      ? (lc.get('zmproxy_lookup_shared_key')?.trim() ?? '')
      : await readPasswordFile(values['shared-key-file'], {
          flag: '--shared-key-file',
          holds: 'the key nginx sends in X-Zmproxy-Key',
          otherwise: 'leave it out to use localconfig zmproxy_lookup_shared_key',
        });
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw usage('--tls-cert and --tls-key go together');
  }
  // Without flags, the listener localconfig describes: the one nginx is generated to ask.
  const local = localLookupListener(lc, values.listen === undefined);
  const readPem = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ProxyConfError('E_INPUT', `cannot read ${file}`, {
        cause: error,
        hint: 'give a readable PEM file',
      });
    }
  };
  const certFile = values['tls-cert'] ?? local?.tlsCert;
  const keyFile = values['tls-key'] ?? local?.tlsKey;
  const tls =
    certFile === undefined || keyFile === undefined
      ? undefined
      : checkTlsPair(
          { cert: await readPem(certFile), key: await readPem(keyFile) },
          certFile,
          keyFile,
        );
  const listen = values.listen ?? local?.listen ?? `127.0.0.1:${DEFAULT_LOOKUP_PORT}`;
  const { host, port } = parseListen(listen);
  // Plain HTTP only for loopback. Off loopback nginx sends passwords over the network.
  const missing = computeListenExposure({ host, tls: tls !== undefined, sharedKey });
  if (missing.length > 0 && values.insecure !== true) {
    throw usage(
      `--listen ${listen}: not a loopback address, and the service has no ${missing.join(' and no ')} (got "${host}")`,
      "nginx sends the users' passwords: give --tls-cert and --tls-key and a shared key (--shared-key-file or localconfig zmproxy_lookup_shared_key), listen on 127.0.0.1, or add --insecure to run without them",
    );
  }
  const level = values['log-level'] ?? 'info';
  if (!['info', 'warn', 'error', 'silent', 'debug'].includes(level)) {
    throw usage(`--log-level ${level}: expected info, warn, error or silent`);
  }
  return {
    host,
    port,
    workers: count('--workers', values.workers, availableParallelism()),
    ldap,
    sharedKey,
    tls,
    memcached: values.memcached?.split(/[\s,]+/).filter((s) => s !== ''),
    noCache: values['no-cache'] ?? false,
    hosts: values.hosts === undefined ? undefined : await readHostsFile(values.hosts),
    hostsOnly: values['hosts-only'] ?? false,
    maxWaitAttempts: count('--max-wait-attempts', values['max-wait-attempts'], 10),
    logLevel: level,
    insecureListen: missing,
    verifyPassword:
      values['verify-password'] ??
      parseLocalConfigBoolean(
        lc.get('zmproxy_lookup_verify_password'),
        'zmproxy_lookup_verify_password',
      ),
    statusNeedsKey: !isLoopbackHost(host) && values['status-without-key'] !== true,
  };
}

/**
 * Every LDAP URL as ldapts will parse it (scheme ldap or ldaps, a host, a port in range): a bad
 * one is a usage error at start, not a warning repeated while the service runs without LDAP.
 */
function checkLdapUrls(urls: readonly string[], fromFlag: boolean): void {
  const where = fromFlag ? '--source' : 'localconfig ldap_url';
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    const port = parsed?.port === '' ? undefined : Number(parsed?.port);
    const ok =
      parsed !== undefined &&
      (parsed.protocol === 'ldap:' || parsed.protocol === 'ldaps:') &&
      parsed.hostname !== '' &&
      (port === undefined || (port >= 1 && port <= 65535));
    if (!ok) {
      throw new ProxyConfError('E_USAGE', `${where}: "${url}" is not an LDAP URL`, {
        hint: `write ldap://HOST:PORT or ldaps://HOST:PORT (several separated by spaces), e.g. ldap://127.0.0.1:389${fromFlag ? '' : '; zmlocalconfig -e ldap_url=...'}`,
      });
    }
  }
}

/** A localconfig true/false value (Zimbra writes `true`/`false`); unset is false. */
function parseLocalConfigBoolean(text: string | undefined, key: string): boolean {
  const value = text?.trim().toLowerCase() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new ProxyConfError(
    'E_INPUT',
    `localconfig ${key}: expected true or false (got "${text ?? ''}")`,
    {
      hint: `zmlocalconfig -e ${key}=false (route only, the default) or true`,
    },
  );
}

/**
 * The certificate and key as node:tls will load them: a garbage certificate, a garbage key or a
 * key that does not belong to the certificate is a usage error now, not a crash at listen.
 */
function checkTlsPair(
  pair: { cert: Buffer; key: Buffer },
  certFile: string,
  keyFile: string,
): { cert: Buffer; key: Buffer } {
  try {
    createSecureContext(pair);
    return pair;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const mismatch = /KEY_VALUES_MISMATCH|key values mismatch/i.test(reason);
    throw new ProxyConfError(
      'E_USAGE',
      mismatch
        ? `--tls-key ${keyFile} is not the key of --tls-cert ${certFile}`
        : `--tls-cert ${certFile} / --tls-key ${keyFile}: not a usable PEM certificate and key (${reason})`,
      {
        hint: 'give the PEM certificate (chain) and its own private key, e.g. openssl x509 -noout -modulus -in CERT and openssl rsa -noout -modulus -in KEY must match',
        cause: error,
      },
    );
  }
}

/**
 * The listen address and TLS files of the local lookup service from the `zmproxy_lookup_*`
 * localconfig keys (model/lookup-topology.ts), when `--listen` is not given. A key that cannot
 * be used is an error here: the service would listen where nginx does not ask.
 */
function localLookupListener(
  lc: ReadonlyMap<string, string>,
  fromLocalConfig: boolean,
): { listen: string; tlsCert?: string; tlsKey?: string } | undefined {
  if (!fromLocalConfig) return undefined;
  const read = (key: string): string => localConfigText(lc, key);
  const topology = readLocalLookupTopology(lc);
  // A host that runs a service for remote proxies sets bind address, port and TLS the same way.
  const listen = topology.kind === 'local' ? topology.listen : undefined;
  if (listen === undefined)
    return { listen: `${read(LOOKUP_LC.bindAddress)}:${read(LOOKUP_LC.port)}` };
  const files =
    topology.kind === 'local' && topology.scheme === 'https'
      ? { tlsCert: topology.tlsCert, tlsKey: topology.tlsKey }
      : {};
  return { listen: formatEndpoint(listen), ...files };
}

/** What a listen error means, and what to do, by errno code. */
const LISTEN_ERRORS: Readonly<Record<string, { what: string; hint: string }>> = {
  EADDRINUSE: {
    what: 'the address is already in use',
    hint: 'another process listens there (ss -ltnp shows which): stop it, or give --listen another port',
  },
  EACCES: {
    what: 'permission denied',
    hint: 'ports below 1024 need root or CAP_NET_BIND_SERVICE: give --listen a port of 1024 or above',
  },
  EADDRNOTAVAIL: {
    what: 'no interface of this host has that address',
    hint: 'give --listen an address of this host (ip -brief address lists them), or 127.0.0.1',
  },
  ENOTFOUND: {
    what: 'the host name does not resolve',
    hint: 'give --listen an IP address of this host, or 127.0.0.1',
  },
};

/** A listen error as ProxyConfError when the user can act on it; anything else unchanged. */
function translateListenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const known = code === undefined ? undefined : LISTEN_ERRORS[code];
  if (known === undefined) return error;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new ProxyConfError('E_INPUT', `cannot listen on ${address}: ${known.what} (${code})`, {
    hint: known.hint,
    cause: error,
  });
}

/** A running lookup server (one process). */
export interface RunningLookup {
  server: Server;
  /** `host:port` it listens on (the real port when 0 was asked). */
  address: string;
  /** Reads the global config again now (it is also re-read every minute). */
  refresh(): Promise<void>;
  /** Forgets the in-process domain and server data and reads the global config again. */
  forget(): Promise<void>;
  /** Stops accepting, finishes the requests in flight, closes LDAP and memcached. */
  stop(): Promise<void>;
}

/** A cache that starts once the memcached servers are known. */
function lazyCache(
  servers: () => Promise<readonly string[]>,
  logger: Logger,
): { cache: LookupCache; close(): void } {
  let client: MemcachedClient | undefined;
  let pending: Promise<void> | undefined;
  let retryAt = 0;
  const ensure = async (): Promise<MemcachedClient> => {
    if (client !== undefined) return client;
    if (Date.now() < retryAt) throw new Error('memcached servers unknown');
    pending ??= servers()
      .then((list) => {
        if (list.length === 0) throw new Error('the directory names no memcached server');
        logger.info({ memcached: list }, 'memcached servers');
        client = createMemcachedClient({ servers: list });
      })
      .catch((error: unknown) => {
        retryAt = Date.now() + 30_000;
        logger.warn({ err: String(error) }, 'no memcached servers; lookups go to LDAP');
      })
      .finally(() => {
        pending = undefined;
      });
    await pending;
    if (client === undefined) throw new Error('memcached servers unknown');
    return client;
  };
  return {
    cache: {
      get: async (key) => (await ensure()).get(key),
      add: async (key, value, ttl) => (await ensure()).add(key, value, ttl),
      delete: async (key) => (await ensure()).delete(key),
      increment: async (key, ttl) => (await ensure()).increment(key, ttl),
    },
    close: () => client?.close(),
  };
}

/** Metrics text for `/metrics`: the primary's aggregate when in a cluster worker. */
function workerMetricsText(): () => Promise<{ contentType: string; body: string }> {
  let next = 0;
  const waiting = new Map<number, (body: string) => void>();
  process.on('message', (message: unknown) => {
    const m = message as { type?: string; id?: number; body?: string };
    if (m.type === 'zmproxy:metrics-reply' && m.id !== undefined) {
      waiting.get(m.id)?.(m.body ?? '');
      waiting.delete(m.id);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ contentType: 'text/plain', body: '# metrics unavailable\n' });
      }, 5000);
      waiting.set(id, (body) => {
        clearTimeout(timer);
        resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body });
      });
      process.send?.({ type: 'zmproxy:metrics', id });
    });
}

/** Starts one lookup server in this process. */
export async function startLookupServer(
  options: LookupRunOptions,
  logger: Logger,
): Promise<RunningLookup> {
  const directory = createLdapLookupDirectory(options.ldap);
  const resolver = createAddressResolver({ hosts: options.hosts, hostsOnly: options.hostsOnly });
  const metrics = createLookupMetrics();
  const memcached = options.noCache
    ? undefined
    : lazyCache(
        () =>
          options.memcached !== undefined
            ? Promise.resolve(options.memcached)
            : discoverMemcachedServers(directory, (host) => resolver.resolve(host)),
        logger,
      );
  const service = createLookupService(
    {
      sharedKey: options.sharedKey,
      maxWaitAttempts: options.maxWaitAttempts,
      statusNeedsKey: options.statusNeedsKey,
    },
    {
      directory,
      cache: memcached?.cache,
      resolver,
      logger,
      metrics: metrics,
      passwords:
        options.verifyPassword === true
          ? createExternalLdapAuth({
              connectTimeoutMs: options.ldap.connectTimeoutMs,
              caFile: options.ldap.caFile,
            })
          : undefined,
    },
  );
  const metricsText = cluster.isWorker
    ? workerMetricsText()
    : async () => ({
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      });
  const server = createLookupHttpServer(service, { logger, metricsText }, options.tls);
  await service.refresh().catch((error: unknown) => {
    logger.warn(
      { err: String(error) },
      'cannot read the global config yet; retrying in the background',
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    service.stop();
    memcached?.close();
    await directory.close();
    throw translateListenError(error, options.host, options.port);
  }
  const info = server.address() as AddressInfo;
  const address = `${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
  let stopping: Promise<void> | undefined;
  return {
    server,
    address,
    refresh: async () => {
      await service.refresh();
    },
    forget: () => service.forget(),
    stop: () => {
      stopping ??= (async () => {
        service.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(force);
        memcached?.close();
        await directory.close();
      })();
      return stopping;
    },
  };
}

function createLogger(io: CliIo, level: string): Logger {
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    { write: (text: string) => io.stdout(text) },
  );
}

/** Resolves on SIGTERM or SIGINT (or `signal`), once. */
function stopRequested(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const done = (name: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(name);
    };
    const onTerm = () => done('SIGTERM');
    const onInt = () => done('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    signal?.addEventListener('abort', () => done('abort'), { once: true });
  });
}

/** The environment variable that marks a forked worker and carries its argv. */
const WORKER_ENV = 'ZMPROXY_LOOKUP_WORKER_ARGV';

/** Runs `zmproxy lookup` with `argv`; resolves with the exit code once stopped (SIGTERM). */
export async function run(
  argv: readonly string[],
  io: CliIo,
  deps: { signal?: AbortSignal } = {},
): Promise<number> {
  const debug = argv.includes('--debug');
  if (argv.includes('-h') || argv.includes('--help')) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  try {
    const options = await resolveLookupRunOptions(argv);
    const logger = createLogger(io, options.logLevel);
    if (!cluster.isWorker && (options.insecureListen ?? []).length > 0) {
      logger.warn(
        { listen: `${options.host}:${options.port}`, missing: options.insecureListen },
        'listening off loopback without TLS or shared key (--insecure): passwords cross the network unprotected',
      );
    }
    if (options.workers === 0 || cluster.isWorker) {
      const running = await startLookupServer(options, logger);
      // SIGHUP (from the cluster primary, or kill -HUP): forget the domains and servers kept in
      // process, so that a changed domain is read again now rather than within 15 minutes.
      const onHup = (): void => {
        void running
          .forget()
          .then(() => logger.info('in-process directory data forgotten (SIGHUP)'));
      };
      process.on('SIGHUP', onHup);
      if (!cluster.isWorker)
        logger.info(
          {
            listen: running.address,
            tls: options.tls !== undefined,
            passwords: options.verifyPassword === true ? 'verified here' : 'mailbox server',
          },
          'lookup service ready',
        );
      const why = await stopRequested(deps.signal);
      logger.info({ signal: why }, 'draining');
      process.off('SIGHUP', onHup);
      await running.stop();
      return EXIT.ok;
    }
    return await runPrimary(argv, options, logger, deps.signal);
  } catch (error) {
    if (cluster.isWorker && error instanceof ProxyConfError) {
      // The primary prints it, once for all workers, and exits with its code.
      await tellPrimary({
        type: START_FAILED,
        code: error.code,
        message: error.message,
        hint: error.hint,
      });
      return exitCodeOf(error);
    }
    return reportError(error, io, debug);
  }
}

/** The message a worker sends its primary when it cannot start: a ProxyConfError's parts. */
const START_FAILED = 'zmproxy:start-failed';

interface StartFailedMessage {
  type: typeof START_FAILED;
  code: ErrorCode;
  message: string;
  hint: string | undefined;
}

/** Sends `message` to the cluster primary; resolves once it is written (or there is no channel). */
function tellPrimary(message: StartFailedMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Node flags for the workers: the primary's, without a script given inline (`-e`, `-p`). */
function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] ?? '';
    if (['-e', '--eval', '-p', '--print'].includes(flag)) i += 1;
    else if (!/^--(eval|print|input-type)=/.test(flag) && flag !== '--input-type') kept.push(flag);
    else if (flag === '--input-type') i += 1;
  }
  return kept;
}

/** The cluster primary: forks the workers, restarts crashed ones, aggregates metrics, drains on SIGTERM. */
async function runPrimary(
  argv: readonly string[],
  options: LookupRunOptions,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<number> {
  const registry = createClusterRegistry();
  cluster.setupPrimary({
    exec: fileURLToPath(import.meta.url),
    args: [],
    execArgv: workerExecArgv(process.execArgv),
    silent: false,
  });
  let stopping = false;
  let started = false;
  const fork = (): Worker => cluster.fork({ [WORKER_ENV]: JSON.stringify(argv) });
  // Workers that listened, and why those that could not start said they could not.
  const listened = new Set<number>();
  const startFailures = new Map<number, StartFailedMessage>();
  let resolveStart: () => void = () => undefined;
  let failStart: (error: ProxyConfError) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    failStart = reject;
  });
  const onListening = (worker: Worker): void => {
    listened.add(worker.id);
    if (!started && listened.size === options.workers) resolveStart();
  };
  const onMessage = (worker: Worker, message: unknown): void => {
    const m = message as { type?: string; id?: number };
    if (m.type === START_FAILED) {
      startFailures.set(worker.id, message as StartFailedMessage);
      return;
    }
    if (m.type !== 'zmproxy:metrics') return;
    registry.clusterMetrics().then(
      (body) => worker.send({ type: 'zmproxy:metrics-reply', id: m.id, body }),
      () => worker.send({ type: 'zmproxy:metrics-reply', id: m.id, body: '' }),
    );
  };
  const onExit = (worker: Worker, code: number | null, sig: string | null): void => {
    if (stopping) return;
    if (!started && !listened.has(worker.id)) {
      // A worker that cannot start (the port in use, say) would fail again on every restart:
      // stop with its reason instead. Its message arrives before its channel closes.
      const fail = (): void => {
        const reason = startFailures.get(worker.id);
        failStart(
          reason === undefined
            ? new ProxyConfError(
                'E_INTERNAL',
                `lookup worker ${worker.process.pid ?? '?'} exited (${sig ?? `code ${code ?? '?'}`}) before it started listening`,
                { hint: 'its output is above; --workers 0 runs the service in this process' },
              )
            : new ProxyConfError(reason.code, reason.message, { hint: reason.hint }),
        );
      };
      if (worker.isConnected()) worker.once('disconnect', fail);
      else fail();
      return;
    }
    logger.error(
      { worker: worker.process.pid, code, signal: sig },
      'worker exited; starting another',
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, 1000).unref();
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  cluster.on('listening', onListening);
  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && !w.isDead(),
    );
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    cluster.off('message', onMessage);
    cluster.off('exit', onExit);
    cluster.off('listening', onListening);
    process.off('SIGHUP', relayHup);
  };
  // SIGHUP to the primary reaches every worker (each forgets its in-process directory data).
  const relayHup = (): void => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  };
  process.on('SIGHUP', relayHup);
  for (let i = 0; i < options.workers; i++) fork();
  try {
    await ready;
  } catch (error) {
    await stopWorkers();
    throw error;
  }
  started = true;
  logger.info(
    {
      listen: `${options.host}:${options.port}`,
      workers: options.workers,
      tls: options.tls !== undefined,
      passwords: options.verifyPassword === true ? 'verified here' : 'mailbox server',
    },
    'lookup service ready',
  );
  const why = await stopRequested(signal);
  stopping = true;
  logger.info({ signal: why }, 'draining');
  await stopWorkers();
  return EXIT.ok;
}

// A forked worker runs this module as its main script.
const workerArgv = process.env[WORKER_ENV];
if (cluster.isWorker && workerArgv !== undefined) {
  const io: CliIo = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
  // The primary is gone (killed, not stopped): drain and exit rather than linger.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  run(JSON.parse(workerArgv) as string[], io).then(
    (code) => process.exit(code),
    () => process.exit(EXIT.error),
  );
}
