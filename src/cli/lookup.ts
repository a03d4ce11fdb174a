/**
 * `zmproxy lookup`: the route lookup service nginx asks (docs/zimbra-nginx-lookup.md). Several
 * worker processes (node:cluster) share one listener: nginx opens a new connection for every mail
 * login, so accepting is the cost that has to scale. `--workers 0` runs the service in this
 * process.
 *
 * Precedence: flags over localconfig (`ldap_url`, `zimbra_ldap_userdn`, `zimbra_ldap_password`,
 * `zmproxy_lookup_shared_key`, `zmproxy_lookup_verify_password`) over Zimbra's defaults.
 * memcached servers: `--memcached`, else the servers of the directory that run the `memcached`
 * service (zimbraMemcachedBindPort).
 *
 * The service follows the directory (lookup/adapters/directory-follower.ts): the change probe of
 * `--watch` every `--follow-interval` seconds, and on a change the global settings, the memcached
 * ring and the in-process domain and server data are read again. With workers, the primary
 * probes (one LDAP connection per interval, not one per worker) and tells every worker; the
 * process supervision is lookup/adapters/worker-supervisor.ts, one service in a process
 * lookup/adapters/lookup-instance.ts. This module parses flags and wires those together.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ProxyConfError } from '../errors.js';
import { DEFAULT_LOOKUP_PORT, formatEndpoint, LOOKUP_LC } from '../model/lookup-topology.js';
import { computeListenExposure, isLoopbackHost } from '../lookup/adapters/lookup-server.js';
import { newestRevision, startDirectoryFollower } from '../lookup/adapters/directory-follower.js';
import type { DirectoryFollower, ProbeAnswer } from '../lookup/adapters/directory-follower.js';
import {
  startWorkerSupervisor,
  tellPrimary,
  workerExecArgv,
} from '../lookup/adapters/worker-supervisor.js';
import { readDirectoryRevision } from '../reload/input-probe.js';
import { readHostsFile } from '../sources/dns/resolve-hostnames.js';
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
  --memcached H:P[,H:P…]     memcached servers (default: the directory's memcached servers, followed)
  --follow-interval SECONDS  ask the directory whether it changed this often (contextCSN, as
                             --watch does); on a change read the global config and the memcached
                             servers again and forget the domains and servers kept in process
                             (default: localconfig zmproxy_lookup_follow_interval, 2; 0 = never)
  --safety-refresh SECONDS   while that probe fails, read everything again this often
                             (default: localconfig zmproxy_lookup_safety_refresh, 300; 0 = never)
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

SIGHUP reads the global config and the memcached servers again now and forgets the domains and
server ports kept in process; SIGTERM drains and exits.
  --debug                    stack traces on errors
`;

import { logFollowSummary, startLookupServer } from '../lookup/adapters/lookup-instance.js';
import type { FollowSummary, LookupRunOptions } from '../lookup/adapters/lookup-instance.js';

// Tests and zmproxyctl start one service in process through the CLI module.
export { startLookupServer };
export type {
  FollowSummary,
  LookupRunOptions,
  RunningLookup,
} from '../lookup/adapters/lookup-instance.js';

/** localconfig keys of the directory following, and their defaults in seconds. */
export const FOLLOW_LC = {
  interval: { key: 'zmproxy_lookup_follow_interval', seconds: 2 },
  safety: { key: 'zmproxy_lookup_safety_refresh', seconds: 300 },
} as const;

/** A following interval in ms: the flag when given, else localconfig, else the default. */
function followSetting(
  setting: (typeof FOLLOW_LC)[keyof typeof FOLLOW_LC],
  flag: string,
  flagValue: string | undefined,
  lc: ReadonlyMap<string, string>,
): number {
  return secondsToMs(
    flagValue === undefined ? `localconfig ${setting.key}` : flag,
    flagValue ?? lc.get(setting.key),
    setting.seconds,
  );
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
  'follow-interval': { type: 'string' },
  'safety-refresh': { type: 'string' },
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

/** A duration in seconds (decimals allowed) from a flag or a localconfig key, in ms. */
function secondsToMs(where: string, text: string | undefined, fallbackSeconds: number): number {
  const value = text?.trim() ?? '';
  if (value === '') return fallbackSeconds * 1000;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw usage(
      `${where} ${value}: expected a number of seconds`,
      `e.g. ${where} ${fallbackSeconds} (0 turns it off)`,
    );
  }
  return Math.round(Number(value) * 1000);
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
    followIntervalMs: followSetting(
      FOLLOW_LC.interval,
      '--follow-interval',
      values['follow-interval'],
      lc,
    ),
    safetyRefreshMs: followSetting(
      FOLLOW_LC.safety,
      '--safety-refresh',
      values['safety-refresh'],
      lc,
    ),
    serverName: lc.get('zimbra_server_hostname')?.trim() || hostname(),
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

/** The environment variable that carries the directory revision a worker starts from. */
const REVISION_ENV = 'ZMPROXY_LOOKUP_REVISION';

/** The probe the service follows: the directory's revision, as `--watch` reads it. */
function createLookupProbe(options: LookupRunOptions): () => Promise<ProbeAnswer> {
  return async () => {
    const text = await readDirectoryRevision(options.ldap);
    return { fingerprint: text, revision: newestRevision(text) };
  };
}

/** Messages of the directory following between the cluster primary and its workers. */
const FOLLOW_MESSAGE = {
  /** primary → workers: the directory changed (or the safety refresh is due). */
  follow: 'zmproxy:follow',
  /** worker → primary: what it changed (the primary logs the first of each revision). */
  followed: 'zmproxy:followed',
} as const;

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
    if (cluster.isWorker) return await runWorker(options, logger, deps.signal);
    if (options.workers === 0) return await runSingle(options, logger, deps.signal);
    return await runPrimary(argv, options, logger, deps.signal);
  } catch (error) {
    if (cluster.isWorker && error instanceof ProxyConfError) {
      // The primary prints it, once for all workers, and exits with its code.
      await tellPrimary({
        type: 'zmproxy:start-failed',
        code: error.code,
        message: error.message,
        hint: error.hint,
      });
      return exitCodeOf(error);
    }
    return reportError(error, io, debug);
  }
}

type FollowStart = Pick<
  Parameters<typeof startDirectoryFollower>[0],
  'probe' | 'initial' | 'logger'
>;

/** The directory follower at the intervals the options (or localconfig's defaults) give. */
function followDirectory(
  options: LookupRunOptions,
  start: FollowStart,
  onChange: Parameters<typeof startDirectoryFollower>[0]['onChange'],
): ReturnType<typeof startDirectoryFollower> {
  return startDirectoryFollower({
    ...start,
    intervalMs: options.followIntervalMs ?? FOLLOW_LC.interval.seconds * 1000,
    safetyMs: options.safetyRefreshMs ?? FOLLOW_LC.safety.seconds * 1000,
    onChange,
  });
}

/** What the "lookup service ready" line says about the service, in either mode. */
function readyFields(options: LookupRunOptions, revision: string | undefined) {
  return {
    tls: options.tls !== undefined,
    passwords: options.verifyPassword === true ? 'verified here' : 'mailbox server',
    followIntervalSeconds: (options.followIntervalMs ?? 0) / 1000,
    revision,
  };
}

/**
 * The change probe and its first answer (none while the directory cannot be probed). Asked
 * before the directory is read, so that a change in between is seen at the first tick.
 */
async function probeAtStart(options: LookupRunOptions) {
  const probe = createLookupProbe(options);
  return { probe, initial: await probe().catch(() => undefined) };
}

/** `--workers 0`: the service, its follower and its signals in this process. */
async function runSingle(
  options: LookupRunOptions,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { probe, initial } = await probeAtStart(options);
  const running = await startLookupServer(options, logger, { revision: initial?.revision });
  const follower = followDirectory(
    options,
    { probe, initial, logger },
    async (revision, reason) => {
      logFollowSummary(logger, await running.follow(revision, reason));
    },
  );
  const onHup = (): void =>
    void running.forget().catch((error: unknown) => warnFollow(logger, error));
  process.on('SIGHUP', onHup);
  logger.info(
    { listen: running.address, ...readyFields(options, initial?.revision) },
    'lookup service ready',
  );
  const why = await stopRequested(signal);
  logger.info({ signal: why }, 'draining');
  follower.stop();
  process.off('SIGHUP', onHup);
  await running.stop();
  return EXIT.ok;
}

function warnFollow(logger: Logger, error: unknown): void {
  logger.warn(
    { err: error instanceof Error ? error.message : String(error) },
    'cannot re-read the directory; keeping what is in use and trying again',
  );
}

/** A cluster worker: the service; the primary says when the directory changed. */
async function runWorker(
  options: LookupRunOptions,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<number> {
  const running = await startLookupServer(options, logger, {
    revision: process.env[REVISION_ENV],
  });
  let latest: string | undefined;
  let retry: NodeJS.Timeout | undefined;
  const retryMs = Math.max(1000, options.followIntervalMs ?? 0);
  const follow = (revision: string | undefined, reason: string): void => {
    latest = revision;
    clearTimeout(retry);
    running.follow(revision, reason).then(
      (summary) => process.send?.({ type: FOLLOW_MESSAGE.followed, summary }),
      (error: unknown) => {
        warnFollow(logger, error);
        retry = setTimeout(() => {
          if (latest === revision) follow(revision, reason);
        }, retryMs);
        retry.unref();
      },
    );
  };
  const onMessage = (message: unknown): void => {
    const m = message as { type?: string; revision?: string; reason?: string };
    if (m.type === FOLLOW_MESSAGE.follow) follow(m.revision, m.reason ?? 'changed');
  };
  process.on('message', onMessage);
  // SIGHUP (relayed by the primary, or kill -HUP): read everything again now.
  const onHup = (): void => follow(latest, 'signal');
  process.on('SIGHUP', onHup);
  const why = await stopRequested(signal);
  logger.info({ signal: why }, 'draining');
  clearTimeout(retry);
  process.off('message', onMessage);
  process.off('SIGHUP', onHup);
  await running.stop();
  return EXIT.ok;
}

/**
 * The cluster primary: probes the directory and tells the workers (one probe per interval for
 * all of them, and every worker switches on the same revision), supervises them, and logs one
 * line per change from the first worker's summary.
 */
async function runPrimary(
  argv: readonly string[],
  options: LookupRunOptions,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { probe, initial } = await probeAtStart(options);
  // Set once the workers listen; a worker forked before that starts from the initial revision.
  const followed: { follower?: DirectoryFollower } = {};
  let logged: string | undefined;
  const supervisor = startWorkerSupervisor({
    workers: options.workers,
    exec: fileURLToPath(import.meta.url),
    execArgv: workerExecArgv(process.execArgv),
    env: () => ({
      [WORKER_ENV]: JSON.stringify(argv),
      [REVISION_ENV]: followed.follower?.revision() ?? initial?.revision ?? '',
    }),
    logger,
    onMessage: (_worker, message) => {
      const m = message as { type?: string; summary?: FollowSummary };
      if (m.type !== FOLLOW_MESSAGE.followed || m.summary === undefined) return;
      const key = `${m.summary.reason}/${m.summary.revision ?? ''}/${JSON.stringify(m.summary.memcached)}`;
      if (key === logged) return;
      logged = key;
      logFollowSummary(logger, m.summary);
    },
  });
  // SIGHUP to the primary reaches every worker (each reads the directory again).
  const relayHup = (): void => supervisor.signal('SIGHUP');
  process.on('SIGHUP', relayHup);
  try {
    await supervisor.ready;
  } catch (error) {
    process.off('SIGHUP', relayHup);
    throw error;
  }
  const follower = followDirectory(options, { probe, initial, logger }, (revision, reason) => {
    supervisor.broadcast({ type: FOLLOW_MESSAGE.follow, revision, reason });
    return Promise.resolve();
  });
  followed.follower = follower;
  logger.info(
    {
      listen: `${options.host}:${options.port}`,
      workers: options.workers,
      ...readyFields(options, initial?.revision),
    },
    'lookup service ready',
  );
  const why = await stopRequested(signal);
  logger.info({ signal: why }, 'draining');
  follower.stop();
  await supervisor.stop();
  process.off('SIGHUP', relayHup);
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
