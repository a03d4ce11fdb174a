/**
 * The lookup service's HTTP edge (node:http or node:https): nginx `auth_http` at
 * {@link STOCK_LOOKUP_PATH}, `auth_request` at {@link STOCK_ROUTE_PATH}, `/healthz` and
 * `/metrics`. One JSON log line per decision (pino); the password is never logged, cached or
 * echoed. The global config is read at start and refreshed in the background; the last good copy
 * stays in use while LDAP is down.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { matchesAnyAddress } from '../address-match.js';
import type { DirectoryQueries } from '../directory-queries.js';
import { createDirectoryQueries } from '../directory-queries.js';
import type { HandlerOptions, LookupDeps, MailDecision } from '../handler.js';
import {
  TEMPORARILY_UNAVAILABLE,
  decideMailLookup,
  decideWebRoute,
  failureDecision,
  formatMailAnswer,
} from '../handler.js';
import { headerOf, parseMailRequest, parseWebRequest } from '../parse-request.js';
import type { RequestHeaders } from '../parse-request.js';
import type {
  AddressResolver,
  ExternalDirectoryAuth,
  LookupCache,
  LookupDirectory,
} from '../ports.js';
import {
  HEALTH_PATH,
  METRICS_PATH,
  REQUEST_HEADER,
  STOCK_LOOKUP_PATH,
  STOCK_ROUTE_PATH,
  WEB_STATUS,
  sanitizeAnswerHeaders,
} from '../protocol.js';
import type { LookupSettings } from '../settings.js';
import { computeLookupSettings } from '../settings.js';
import type { LookupMetrics } from './metrics.js';

/** Zimbra's global config entry. */
export const GLOBAL_CONFIG_DN = 'cn=config,cn=zimbra';

/** Options of {@link createLookupService}. */
export interface LookupServiceOptions extends HandlerOptions {
  /** The shared key nginx must send as X-Zmproxy-Key; undefined or "" = no check. */
  sharedKey?: string | undefined;
  /**
   * How often the global config is read again, in ms; 0 = only when told ({@link
   * LookupService.refresh}, {@link LookupService.forget}: the directory follower). @default 60000
   */
  settingsRefreshMs?: number;
  /** In-process cache lifetime for domains and server ports, in ms. @default 900000 */
  memoTtlMs?: number;
  /**
   * `/metrics` and `/healthz` need the shared key too (a listener off loopback, unless
   * `--status-without-key`). @default false
   */
  statusNeedsKey?: boolean;
}

/** What the service runs on. */
export interface LookupServiceDeps {
  directory: LookupDirectory;
  cache: LookupCache | undefined;
  resolver: AddressResolver;
  logger: Logger;
  metrics: LookupMetrics | undefined;
  /** Set: `--verify-password` (checks on the external directories of ldap/ad domains). */
  passwords?: ExternalDirectoryAuth | undefined;
  /** Answers `/metrics` (the cluster primary's aggregate, or this process's registry). */
  metricsText?: () => Promise<{ contentType: string; body: string }>;
}

/** An HTTP answer. */
export interface LookupAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** The service: request headers in, answer out (the server below only moves bytes). */
export interface LookupService {
  mail(headers: RequestHeaders): Promise<LookupAnswer>;
  web(headers: RequestHeaders): Promise<LookupAnswer>;
  health(): Promise<LookupAnswer>;
  /** False when a `/metrics` or `/healthz` request lacks the shared key it needs. */
  statusAllowed(headers: RequestHeaders): boolean;
  /** Reads the global config now; rejects when LDAP cannot be read. */
  refresh(): Promise<LookupSettings>;
  /** Forgets the in-process domain and server data (SIGHUP) and reads the global config again. */
  forget(): Promise<void>;
  /** Forgets the in-process domain and server data only. */
  forgetDirectoryData(): void;
  /** The settings in use; undefined before the global config was first read. */
  settings(): LookupSettings | undefined;
  stop(): void;
}

function keyMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates the service. */
export function createLookupService(
  options: LookupServiceOptions,
  deps: LookupServiceDeps,
): LookupService {
  const clock = { now: () => performance.now() };
  const queries: DirectoryQueries = createDirectoryQueries(deps.directory, clock, {
    memoTtlMs: options.memoTtlMs,
  });
  const metrics = deps.metrics;
  const core: LookupDeps = {
    directory: deps.directory,
    queries,
    cache: deps.cache,
    resolver: deps.resolver,
    clock,
    passwords: deps.passwords,
    observe: {
      ldap: (ms) => metrics?.ldapSeconds.observe(ms / 1000),
      cache: (ms) => metrics?.memcachedSeconds.observe(ms / 1000),
    },
  };
  let settings: LookupSettings | undefined;
  let loading: Promise<LookupSettings> | undefined;
  const refresh = (): Promise<LookupSettings> => {
    loading ??= (async () => {
      try {
        const [entry] = await deps.directory.search({
          base: GLOBAL_CONFIG_DN,
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: ['*'],
        });
        const computed = computeLookupSettings(entry?.attrs ?? {});
        for (const problem of computed.problems)
          deps.logger.warn({ problem }, 'global config value ignored');
        settings = computed.settings;
        return computed.settings;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };
  const current = async (): Promise<LookupSettings | undefined> => {
    if (settings !== undefined) return settings;
    return refresh().catch((error: unknown) => {
      deps.logger.error({ err: String(error) }, 'cannot read the global config');
      return undefined;
    });
  };
  const refreshMs = options.settingsRefreshMs ?? 60_000;
  const timer =
    refreshMs > 0
      ? setInterval(() => {
          refresh().catch((error: unknown) =>
            deps.logger.warn(
              { err: String(error) },
              'global config refresh failed; keeping the last one',
            ),
          );
        }, refreshMs)
      : undefined;
  timer?.unref();

  const shared = options.sharedKey ?? '';
  const forbidden = (headers: RequestHeaders): boolean =>
    shared !== '' && !keyMatches(shared, headerOf(headers, REQUEST_HEADER.sharedKey));

  return {
    async mail(headers) {
      const started = performance.now();
      const parsed = parseMailRequest(headers);
      const attempt = parsed.ok ? parsed.request.attempt : parsed.attempt;
      let decision: MailDecision;
      let status = 200;
      const now = await current();
      if (forbidden(headers)) {
        status = 403;
        decision = failureDecision(
          'bad_request',
          TEMPORARILY_UNAVAILABLE,
          'wrong or missing X-Zmproxy-Key',
        );
      } else if (!parsed.ok) {
        decision = failureDecision('bad_request', parsed.message, parsed.message);
      } else if (now === undefined) {
        decision = failureDecision('unavailable', TEMPORARILY_UNAVAILABLE, 'no global config yet');
      } else {
        decision = await decideMailLookup(parsed.request, now, core);
      }
      const ms = performance.now() - started;
      metrics?.lookups.inc({ kind: 'mail', result: decision.result });
      metrics?.cache.inc({ kind: 'mail', outcome: decision.cache });
      metrics?.duration.observe({ kind: 'mail' }, ms / 1000);
      if (decision.result === 'throttled_ip') metrics?.throttled.inc({ kind: 'ip' });
      if (decision.result === 'throttled_user') metrics?.throttled.inc({ kind: 'user' });
      const request = parsed.ok ? parsed.request : undefined;
      deps.logger.info(
        {
          kind: 'mail',
          result: decision.result,
          user: request?.user,
          account: decision.ok ? decision.account : decision.account,
          protocol: request?.protocol,
          method: request?.method,
          client: request?.clientIp,
          proxyIp: request?.proxyIp,
          attempt,
          route: decision.ok ? `${decision.server}:${decision.port}` : undefined,
          passwordVerified: decision.ok ? decision.passwordVerified : undefined,
          cache: decision.cache,
          reason: decision.ok ? undefined : decision.reason,
          ms: Math.round(ms * 100) / 100,
        },
        'lookup',
      );
      return { status, headers: formatMailAnswer(decision, attempt, now, options) };
    },

    async web(headers): Promise<LookupAnswer> {
      const started = performance.now();
      if (forbidden(headers)) {
        metrics?.lookups.inc({ kind: 'web', result: 'bad_request' });
        deps.logger.info(
          { kind: 'web', result: 'bad_request', reason: 'wrong or missing X-Zmproxy-Key' },
          'lookup',
        );
        return { status: WEB_STATUS.badKey, headers: {} };
      }
      const request = parseWebRequest(headers);
      const now = await current();
      const decision =
        now === undefined
          ? {
              route: undefined,
              identity: { kind: 'none' as const },
              result: 'unavailable' as const,
              cache: 'off' as const,
              reason: 'no global config yet',
              account: undefined,
            }
          : await decideWebRoute(request, now, core);
      const ms = performance.now() - started;
      metrics?.lookups.inc({ kind: 'web', result: decision.result });
      metrics?.cache.inc({ kind: 'web', outcome: decision.cache });
      metrics?.duration.observe({ kind: 'web' }, ms / 1000);
      deps.logger.info(
        {
          kind: 'web',
          result: decision.result,
          identity: decision.identity.kind === 'none' ? undefined : decision.identity.source,
          user: decision.identity.kind === 'user' ? decision.identity.name : undefined,
          client: request.clientIp,
          id: decision.identity.kind === 'id' ? decision.identity.id : undefined,
          account: decision.account,
          protocol: request.protocol,
          host: request.host,
          route: decision.route,
          cache: decision.cache,
          reason: decision.reason,
          ms: Math.round(ms * 100) / 100,
        },
        'lookup',
      );
      if (decision.result === 'ip_not_allowed') return { status: WEB_STATUS.refused, headers: {} };
      return decision.route === undefined
        ? { status: WEB_STATUS.noRoute, headers: {} }
        : { status: WEB_STATUS.route, headers: { 'X-Zmproxy-Route': decision.route } };
    },

    async health() {
      const now = await current();
      return now === undefined
        ? {
            status: 503,
            headers: { 'Content-Type': 'text/plain' },
            body: 'no global config (LDAP)\n',
          }
        : { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok\n' };
    },

    statusAllowed(headers) {
      return options.statusNeedsKey !== true || !forbidden(headers);
    },

    refresh,

    async forget() {
      queries.clear();
      await refresh().catch((error: unknown) => {
        deps.logger.warn(
          { err: String(error) },
          'global config refresh failed; keeping the last one',
        );
      });
    },

    forgetDirectoryData() {
      queries.clear();
    },

    settings: () => settings,

    stop() {
      clearInterval(timer);
    },
  };
}

/** Addresses only processes of this host can reach: 127.0.0.0/8 and ::1 (IPv4-mapped too). */
const LOOPBACK_BLOCKS = ['127.0.0.0/8', '::1'];

/** True when `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || matchesAnyAddress(host, LOOPBACK_BLOCKS);
}

/**
 * What a listener on `host` lacks to be reachable from other hosts: stock nginx sends
 * the users' real passwords, so off loopback they must travel in TLS, and a shared key keeps
 * anyone else who reaches the port from using the service to test passwords. Empty on loopback,
 * or when both are there.
 */
export function computeListenExposure(listen: {
  host: string;
  tls: boolean;
  sharedKey: string | undefined;
}): string[] {
  if (isLoopbackHost(listen.host)) return [];
  const missing: string[] = [];
  if (!listen.tls) missing.push('TLS (--tls-cert and --tls-key)');
  if ((listen.sharedKey ?? '') === '') missing.push('shared key');
  return missing;
}

/**
 * The suites the TLS listener offers: forward secret (ECDHE, or TLS 1.3's own key exchange) and
 * AEAD only — TLS 1.3's three suites, and for TLS 1.2 AES-GCM and ChaCha20-Poly1305 with ECDHE.
 * No CBC, no SHA-1 MACs, no static RSA key exchange; TLS 1.2 at least. nginx's OpenSSL speaks
 * all of them.
 */
export const LOOKUP_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** TLS material for HTTPS. */
export interface LookupTls {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Creates the HTTP(S) server for `service` (not yet listening). */
export function createLookupHttpServer(
  service: LookupService,
  deps: Pick<LookupServiceDeps, 'logger' | 'metricsText'>,
  tls?: LookupTls,
): Server {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const send = (answer: LookupAnswer): void => {
      const body = answer.body ?? '';
      try {
        res.writeHead(answer.status, {
          ...sanitizeAnswerHeaders(answer.headers),
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch (error) {
        // A header node:http refuses must never take the process down.
        deps.logger.error(
          { err: error instanceof Error ? error.message : String(error), path },
          'answer refused',
        );
        if (!res.headersSent) res.writeHead(500, { 'Content-Length': 0 });
        res.end();
      }
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send({ status: 405, headers: { Allow: 'GET, HEAD' } });
      return;
    }
    let work: Promise<LookupAnswer>;
    switch (path) {
      case STOCK_LOOKUP_PATH:
        work = service.mail(req.headers);
        break;
      case STOCK_ROUTE_PATH:
        work = service.web(req.headers);
        break;
      case HEALTH_PATH:
        work = service.statusAllowed(req.headers)
          ? service.health()
          : Promise.resolve({ status: 403, headers: {} });
        break;
      case METRICS_PATH:
        work = !service.statusAllowed(req.headers)
          ? Promise.resolve({ status: 403, headers: {} })
          : deps.metricsText === undefined
            ? Promise.resolve({ status: 404, headers: {} })
            : deps.metricsText().then((m) => ({
                status: 200,
                headers: { 'Content-Type': m.contentType },
                body: m.body,
              }));
        break;
      default:
        work = Promise.resolve({ status: 404, headers: {} });
    }
    work.then(send, (error: unknown) => {
      // One error handler: never a stack to nginx.
      deps.logger.error(
        { err: error instanceof Error ? error.message : String(error), path },
        'lookup failed',
      );
      send(
        path === STOCK_LOOKUP_PATH
          ? { status: 200, headers: { 'Auth-Status': TEMPORARILY_UNAVAILABLE, 'Auth-Wait': '10' } }
          : { status: path === STOCK_ROUTE_PATH ? 204 : 500, headers: {} },
      );
    });
  };
  const server =
    tls === undefined
      ? createHttpServer(handle)
      : createHttpsServer(
          { ...tls, minVersion: 'TLSv1.2', ciphers: LOOKUP_TLS_CIPHERS, honorCipherOrder: true },
          handle,
        );
  server.keepAliveTimeout = 65_000;
  return server;
}
