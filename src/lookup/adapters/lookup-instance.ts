/**
 * One lookup service in this process (the whole service with `--workers 0`, or one cluster
 * worker): the HTTP listener, the directory and memcached adapters, and what a directory change
 * does to them ({@link RunningLookup.follow}: the global settings and the memcached ring read
 * again, the in-process domain and server data dropped). The CLI (src/cli/lookup.ts) parses the
 * flags, builds the change probe and wires this to the follower or the cluster supervisor.
 */
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ProxyConfError } from '../../errors.js';
import type { LdapSourceOptions } from '../../sources/ldap/index.js';
import { createMemcachedClient } from '../../sources/memcached/index.js';
import { listChangedSettings } from '../settings.js';
import type { LookupSettings } from '../settings.js';
import { createAddressResolver } from './address-resolver.js';
import { createExternalLdapAuth } from './external-ldap-auth.js';
import { createFollowingCache } from './following-cache.js';
import type { RingChange } from './following-cache.js';
import { createLdapLookupDirectory } from './ldap-lookup-directory.js';
import { createLookupHttpServer, createLookupService } from './lookup-server.js';
import { discoverMemcachedServers } from './memcached-servers.js';
import { createLookupMetrics } from './metrics.js';
import { requestClusterMetrics } from './worker-supervisor.js';

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
  /** Probe the directory for changes every this many ms; 0 = never. @default 2000 */
  followIntervalMs?: number;
  /** While the probe fails, re-read everything every this many ms; 0 = never. @default 300000 */
  safetyRefreshMs?: number;
  /** This host's name in the metrics (localconfig zimbra_server_hostname). @default os hostname */
  serverName?: string;
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
  /** Reads the global config again now. */
  refresh(): Promise<void>;
  /** Reads everything again now (SIGHUP): global config, memcached servers, domains, servers. */
  forget(): Promise<void>;
  /**
   * Follows a directory change: reads the global config and the memcached servers again, takes a
   * new ring into use when they changed and forgets the in-process domain and server data.
   * Rejects (nothing half-changed that matters: the old ring and settings stay) when LDAP cannot
   * be read. Calls run one after the other.
   */
  follow(revision: string | undefined, reason: string): Promise<FollowSummary>;
  /** Stops accepting, finishes the requests in flight, closes LDAP and memcached. */
  stop(): Promise<void>;
}

/** What one {@link RunningLookup.follow} changed (one log line). */
export interface FollowSummary {
  revision: string | undefined;
  reason: string;
  memcached: readonly string[] | undefined;
  memcachedAdded: readonly string[];
  memcachedRemoved: readonly string[];
  settingsChanged: readonly string[];
}

/** True when the summary is worth a log line: a directory change, or anything that changed. */
function summaryWorthLogging(summary: FollowSummary): boolean {
  return (
    summary.reason !== 'safety' ||
    summary.memcachedAdded.length + summary.memcachedRemoved.length > 0 ||
    summary.settingsChanged.length > 0
  );
}

export function logFollowSummary(logger: Logger, summary: FollowSummary): void {
  if (!summaryWorthLogging(summary)) return;
  const parts = [
    summary.memcachedAdded.length > 0 ? `memcached added ${summary.memcachedAdded.join(' ')}` : '',
    summary.memcachedRemoved.length > 0
      ? `memcached removed ${summary.memcachedRemoved.join(' ')}`
      : '',
    summary.settingsChanged.length > 0 ? `settings ${summary.settingsChanged.join(' ')}` : '',
  ].filter((part) => part !== '');
  logger.info(
    summary,
    `directory ${summary.reason}: ${parts.length > 0 ? parts.join('; ') : 'settings and memcached servers unchanged'}; domains and servers read again`,
  );
}

/**
 * How long a login counter that moved to another memcached server keeps adding its previous
 * owner's count: the longest throttle window in use (1 hour before the settings are known),
 * at most a day.
 */
function computeCarrySeconds(settings: LookupSettings | undefined): number {
  if (settings === undefined) return 3600;
  const { ip, ipImap, ipPop3, user } = settings.throttle;
  const windows = [ip, ipImap, ipPop3, user]
    .filter((limit) => limit.max > 0)
    .map((limit) => limit.ttlSeconds);
  return Math.min(86_400, Math.max(0, ...windows));
}

/** Starts one lookup server in this process. */
export async function startLookupServer(
  options: LookupRunOptions,
  logger: Logger,
  start: { revision?: string | undefined } = {},
): Promise<RunningLookup> {
  const directory = createLdapLookupDirectory(options.ldap);
  const resolver = createAddressResolver({ hosts: options.hosts, hostsOnly: options.hostsOnly });
  const metrics = createLookupMetrics();
  const memcached = options.noCache
    ? undefined
    : createFollowingCache({
        connect: (servers) => createMemcachedClient({ servers }),
        now: () => Date.now(),
      });
  const service = createLookupService(
    {
      sharedKey: options.sharedKey,
      maxWaitAttempts: options.maxWaitAttempts,
      statusNeedsKey: options.statusNeedsKey,
      // The follower re-reads the global config; no timer of its own.
      settingsRefreshMs: 0,
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
    ? requestClusterMetrics()
    : async () => ({
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      });
  const server = createLookupHttpServer(service, { logger, metricsText }, options.tls);

  let revision = start.revision === '' ? undefined : start.revision;
  const showRevision = (): void => {
    metrics.info.reset();
    metrics.info.set({ server: options.serverName ?? hostname(), revision: revision ?? '' }, 1);
  };
  showRevision();
  const listServers = (): Promise<readonly string[]> =>
    options.memcached !== undefined
      ? Promise.resolve(options.memcached)
      : discoverMemcachedServers(directory, (host) => resolver.resolve(host));
  /** Reads the memcached servers and takes a new ring into use when they changed. */
  const readRing = async (): Promise<RingChange | undefined> => {
    if (memcached === undefined) return undefined;
    const list = await listServers();
    const hadRing = memcached.servers().length > 0;
    const change = memcached.use(list, computeCarrySeconds(service.settings()));
    metrics.memcachedServers.set(memcached.servers().length);
    if (change.rebuilt && hadRing) metrics.ringRebuilds.inc();
    if (list.length === 0)
      logger.warn('the directory names no memcached server; lookups go to LDAP');
    return change;
  };
  // Until the first list is read (LDAP down at start), try again now and then.
  let ringRetry: NodeJS.Timeout | undefined;
  const readFirstRing = (): void => {
    readRing().then(
      (change) => {
        if (change !== undefined)
          logger.info({ memcached: memcached?.servers() }, 'memcached servers');
      },
      (error: unknown) => {
        logger.warn(
          { err: String(error) },
          'cannot read the memcached servers yet; lookups go to LDAP, retrying in 10 s',
        );
        ringRetry = setTimeout(readFirstRing, 10_000);
        ringRetry.unref();
      },
    );
  };

  let following: Promise<unknown> = Promise.resolve();
  const follow = (next: string | undefined, reason: string): Promise<FollowSummary> => {
    const run = async (): Promise<FollowSummary> => {
      const before = service.settings();
      const after = await service.refresh();
      const ring = await readRing();
      // Only now: a failed read keeps the domain data with the settings it was read under.
      service.forgetDirectoryData();
      if (ring !== undefined) clearTimeout(ringRetry);
      if (next !== undefined && next !== revision) {
        revision = next;
        showRevision();
      }
      return {
        revision,
        reason,
        memcached: memcached?.servers(),
        memcachedAdded: ring?.added ?? [],
        memcachedRemoved: ring?.removed ?? [],
        settingsChanged: before === undefined ? [] : listChangedSettings(before, after),
      };
    };
    const result = following.then(run, run);
    following = result.catch(() => undefined);
    return result;
  };

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
  readFirstRing();
  const info = server.address() as AddressInfo;
  const address = `${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
  let stopping: Promise<void> | undefined;
  return {
    server,
    address,
    refresh: async () => {
      await service.refresh();
    },
    forget: async () => {
      logFollowSummary(logger, await follow(undefined, 'signal'));
    },
    follow,
    stop: () => {
      stopping ??= (async () => {
        service.stop();
        clearTimeout(ringRetry);
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
