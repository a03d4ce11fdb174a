/**
 * The lookup core: a mail lookup request (nginx `auth_http`) or a web route request (nginx
 * `auth_request`) → a decision, over the ports of ports.ts. No I/O of its own.
 *
 * Mail (ref §11.4-11.6): qualify the login, apply the IP and user throttles, serve a cached route
 * or resolve account → mail host → port from the directory, check the password with a bind as
 * the account (stock nginx sends the real password and treats "OK" as authenticated), cache the
 * route, answer. Web: classify like zmauth (ref §11.1), route when a user is known; never deny.
 */
import { matchesAnyAddress } from './address-match.js';
import {
  aliasIpKey,
  aliasVhostKey,
  allowedIpsKeyOf,
  dnKeyOf,
  routeIdKey,
  routeUserKey,
} from './cache-keys.js';
import { classifyWebRequest } from './classify-web-request.js';
import type { WebIdentity } from './classify-web-request.js';
import type { AccountRecord, DirectoryQueries } from './directory-queries.js';
import { attrOf, attrValues, externalRoute } from './directory-queries.js';
import type { MailLookupRequest, WebRouteRequest } from './parse-request.js';
import { encodeAuthHeader } from './parse-request.js';
import type { AddressResolver, Clock, LookupCache, LookupDirectory } from './ports.js';
import type { LookupSettings, RouteProtocol } from './settings.js';
import type { ThrottleCheck } from './throttle.js';
import { isOverLimit, mailFamily, planIpThrottle, planUserThrottle } from './throttle.js';

/** What a failed login tells the client: Zimbra's nginx answers `NO LOGIN failed` / `-ERR LOGIN failed`. */
export const LOGIN_FAILED = 'LOGIN failed';
/** The temporary failure (directory down, no route known): the client may retry. */
export const TEMPORARILY_UNAVAILABLE = 'Login service temporarily unavailable';

/** How a lookup ended; the `result` label of the metrics and the log. */
export type LookupResult =
  | 'ok'
  | 'bad_request'
  | 'not_found'
  | 'bad_password'
  | 'ip_not_allowed'
  | 'not_admin'
  | 'throttled_ip'
  | 'throttled_user'
  | 'unavailable';

/** Where the route came from. */
export type CacheOutcome = 'hit' | 'miss' | 'down' | 'off';

/** The decision on a mail lookup. */
export type MailDecision =
  | {
      ok: true;
      result: 'ok';
      server: string;
      port: number;
      /** The name the backend gets (Auth-User). */
      user: string;
      account: string;
      cache: CacheOutcome;
      /** False when the directory was down and a cached route was served without a bind. */
      passwordVerified: boolean;
    }
  | {
      ok: false;
      result: Exclude<LookupResult, 'ok'>;
      /** Auth-Status text. */
      message: string;
      /** Send Auth-Wait (nginx keeps the session for another try); false closes it. */
      wait: boolean;
      /** Detail for the log only, never for the client (e.g. `user not found:<user>`). */
      reason: string;
      account?: string | undefined;
      cache: CacheOutcome;
    };

/** The decision on a web route request: a route, or none (nginx goes round robin). */
export interface WebDecision {
  route: string | undefined;
  identity: WebIdentity;
  account?: string | undefined;
  result: 'ok' | 'no_identity' | 'not_found' | 'unavailable';
  cache: CacheOutcome;
  reason?: string | undefined;
}

/** The adapters the core runs on. */
export interface LookupDeps {
  directory: LookupDirectory;
  queries: DirectoryQueries;
  /** undefined: no route cache and no throttle counters. */
  cache: LookupCache | undefined;
  resolver: AddressResolver;
  clock: Clock;
  /** Latency observers for the metrics; optional. */
  observe?: {
    ldap?: (ms: number) => void;
    cache?: (ms: number) => void;
  };
}

/** Options of the lookup core. */
export interface HandlerOptions {
  /** Send Auth-Wait only up to this Auth-Login-Attempt (nginx frees memory only at session end). @default 10 */
  maxWaitAttempts?: number;
}

/** Errors the core treats as "the directory is down". */
class DirectoryDown extends Error {}

/** A cache call that never rejects: failures mark the cache as down for this request. */
function cacheOps(deps: LookupDeps) {
  let down = false;
  const run = async <T>(op: (cache: LookupCache) => Promise<T>): Promise<T | undefined> => {
    if (deps.cache === undefined || down) return undefined;
    const started = deps.clock.now();
    try {
      return await op(deps.cache);
    } catch {
      down = true;
      return undefined;
    } finally {
      deps.observe?.cache?.(deps.clock.now() - started);
    }
  };
  return {
    run,
    get down(): boolean {
      return down;
    },
    outcome(hit: boolean): CacheOutcome {
      if (deps.cache === undefined) return 'off';
      if (down) return 'down';
      return hit ? 'hit' : 'miss';
    },
  };
}

async function ldap<T>(deps: LookupDeps, work: () => Promise<T>): Promise<T> {
  const started = deps.clock.now();
  try {
    return await work();
  } catch (error) {
    throw new DirectoryDown(error instanceof Error ? error.message : String(error));
  } finally {
    deps.observe?.ldap?.(deps.clock.now() - started);
  }
}

/** `name@domain` → `domain`, or undefined. */
function domainOf(name: string): string | undefined {
  const at = name.lastIndexOf('@');
  return at >= 0 && at < name.length - 1 ? name.slice(at + 1) : undefined;
}

/** Qualifies an unqualified login (ref §11.4 step 1). */
async function qualify(
  deps: LookupDeps,
  settings: LookupSettings,
  login: string,
  by: { proxyIp?: string | undefined; vhost?: string | undefined },
): Promise<string> {
  if (login.includes('@')) return login;
  let domain: string | undefined;
  if (by.vhost !== undefined) domain = await deps.queries.domainByVirtualHost(by.vhost);
  if (domain === undefined && by.proxyIp !== undefined) {
    domain = await deps.queries.domainByProxyIp(settings, by.proxyIp);
  }
  domain ??= settings.defaultDomain;
  return domain === undefined ? login : `${login}@${domain}`;
}

/** Finds the account, trying the domain alias's target domain second (ref §11.4 step 5). */
async function findAccount(
  deps: LookupDeps,
  settings: LookupSettings,
  name: string,
): Promise<AccountRecord | undefined> {
  const account = await deps.queries.accountByName(settings, name);
  if (account !== undefined) return account;
  const domain = domainOf(name);
  if (domain === undefined) return undefined;
  const entry = await deps.queries.domainByName(domain);
  if (entry === undefined || attrOf(entry.attrs, 'zimbraDomainType') !== 'alias') return undefined;
  const targetId = attrOf(entry.attrs, 'zimbraDomainAliasTargetId');
  const target = targetId === undefined ? undefined : await deps.queries.domainById(targetId);
  const targetName = target === undefined ? undefined : attrOf(target.attrs, 'zimbraDomainName');
  if (targetName === undefined) return undefined;
  return deps.queries.accountByName(
    settings,
    `${name.slice(0, name.lastIndexOf('@'))}@${targetName}`,
  );
}

/** The port attribute of a lookup: the protocol's, or the admin port for admin web routes. */
function portAttribute(settings: LookupSettings, protocol: RouteProtocol, admin: boolean): string {
  return admin && (protocol === 'http' || protocol === 'httpssl')
    ? settings.portAttributes.admin
    : settings.portAttributes[protocol];
}

/** `ip:port`, brackets around IPv6. */
export function formatRoute(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

function parseRoute(route: string): { server: string; port: number } | undefined {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(route);
  if (match?.[1] === undefined) return undefined;
  const port = Number(match[2]);
  return port > 0 && port <= 65535 ? { server: match[1], port } : undefined;
}

/** The route of an account: external when enabled and complete, else mail host + port. */
async function routeOf(
  deps: LookupDeps,
  settings: LookupSettings,
  account: AccountRecord,
  domain: { attrs: Readonly<Record<string, readonly string[]>> } | undefined,
  protocol: RouteProtocol,
  admin: boolean,
): Promise<{ server: string; port: number } | string> {
  const own = attrOf(account.attrs, 'zimbraReverseProxyUseExternalRoute');
  const useExternal =
    own !== undefined
      ? own === 'TRUE'
      : domain !== undefined &&
        attrOf(domain.attrs, 'zimbraReverseProxyUseExternalRoute') === 'TRUE';
  if (useExternal) {
    const external =
      externalRoute(account.attrs, protocol) ??
      (domain === undefined ? undefined : externalRoute(domain.attrs, protocol));
    if (external !== undefined) {
      return { server: await deps.resolver.resolve(external.host), port: external.port };
    }
  }
  if (account.mailHost === undefined) return `no ${settings.mailHostAttribute} on ${account.name}`;
  const attribute = portAttribute(settings, protocol, admin);
  const port = await deps.queries.portOf(settings, account.mailHost, attribute);
  if (port === undefined) return `no ${attribute} for mail host ${account.mailHost}`;
  return { server: await deps.resolver.resolve(account.mailHost), port };
}

/** What {@link allowedIpsKeyOf} holds: the account's domain and its zimbraDomainAllowedIPs. */
interface CachedIpPolicy {
  domain: string;
  allowedIPs: readonly string[];
}

function formatIpPolicy(policy: CachedIpPolicy): string {
  return JSON.stringify(policy);
}

/** The cached policy, or undefined when absent or not ours (a foreign or damaged value). */
function parseIpPolicy(text: string | undefined): CachedIpPolicy | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { domain?: unknown; allowedIPs?: unknown };
    const { domain, allowedIPs } = value;
    if (typeof domain !== 'string' || !Array.isArray(allowedIPs)) return undefined;
    if (!allowedIPs.every((ip): ip is string => typeof ip === 'string')) return undefined;
    return { domain, allowedIPs };
  } catch {
    return undefined;
  }
}

/** True when `clientIp` may log in to a domain whose zimbraDomainAllowedIPs is `allowed`. */
function isClientAllowed(clientIp: string | undefined, allowed: readonly string[]): boolean {
  return allowed.length === 0 || (clientIp !== undefined && matchesAnyAddress(clientIp, allowed));
}

/**
 * The zimbraDomainAllowedIPs that apply to a cached route: the domain entry as the in-process memo
 * (or LDAP) has it now, else, while LDAP is down, the list cached with the route.
 */
async function allowedIpsOfCachedRoute(
  deps: LookupDeps,
  policy: CachedIpPolicy,
): Promise<readonly string[]> {
  try {
    const domain = await ldap(deps, () => deps.queries.domainByName(policy.domain));
    return domain === undefined ? [] : attrValues(domain.attrs, 'zimbraDomainAllowedIPs');
  } catch (error) {
    if (!(error instanceof DirectoryDown)) throw error;
    return policy.allowedIPs;
  }
}

/** Applies one throttle: increments its counter; true when over the limit. memcached down → allow. */
async function throttled(
  ops: ReturnType<typeof cacheOps>,
  check: ThrottleCheck | undefined,
): Promise<boolean> {
  if (check === undefined) return false;
  const count = await ops.run((cache) => cache.increment(check.key, check.ttlSeconds));
  return count !== undefined && isOverLimit(check, count);
}

/** Decides a mail lookup. */
export async function decideMailLookup(
  request: MailLookupRequest,
  settings: LookupSettings,
  deps: LookupDeps,
): Promise<MailDecision> {
  const ops = cacheOps(deps);
  const fail = (
    result: Exclude<LookupResult, 'ok'>,
    message: string,
    reason: string,
    extra: { wait?: boolean; account?: string } = {},
  ): MailDecision => ({
    ok: false,
    result,
    message,
    reason,
    wait: extra.wait ?? true,
    account: extra.account,
    cache: ops.outcome(false),
  });

  // The IP throttle first: Zimbra's nginx counted at connection accept, before the greeting.
  const ipCheck = planIpThrottle(settings.throttle, request.protocol, request.clientIp);
  if (await throttled(ops, ipCheck)) {
    return fail('throttled_ip', settings.throttle.ipMessage, `client ${request.clientIp ?? ''}`, {
      wait: false,
    });
  }

  const byId = request.method === 'zimbraId';
  const proxyIp = request.proxyIp ?? '';
  const aliasKey = aliasIpKey(request.user, proxyIp);
  try {
    const cachedAccount = byId ? undefined : await ops.run((cache) => cache.get(aliasKey));
    const qualified =
      byId || cachedAccount !== undefined
        ? (cachedAccount ?? request.user)
        : await ldap(deps, () =>
            qualify(deps, settings, request.user, { proxyIp: request.proxyIp }),
          );

    const userCheck = planUserThrottle(settings.throttle, request.protocol, qualified);
    if (await throttled(ops, userCheck)) {
      return fail('throttled_user', settings.throttle.userMessage, `user ${qualified}`, {
        wait: false,
      });
    }

    const routeKey = byId
      ? routeIdKey(request.protocol, qualified, request.admin)
      : routeUserKey(request.protocol, qualified, request.proxyIp);
    const dnKey = dnKeyOf(routeKey);
    const policyKey = allowedIpsKeyOf(routeKey);
    const [cachedRoute, cachedDn, cachedPolicy] =
      (await ops.run((cache) =>
        Promise.all([cache.get(routeKey), cache.get(dnKey), cache.get(policyKey)]),
      )) ?? [];
    const hit = cachedRoute === undefined ? undefined : parseRoute(cachedRoute);
    const policy = parseIpPolicy(cachedPolicy);

    const forget = async (): Promise<void> => {
      await ops.run((cache) =>
        Promise.all([
          cache.delete(aliasKey),
          cache.delete(routeKey),
          cache.delete(dnKey),
          cache.delete(policyKey),
        ]),
      );
    };

    // A cached route: the client IP and the password remain to check. Route keys do not carry
    // the client IP, so zimbraDomainAllowedIPs is applied again on every hit. A route cached
    // without its allowed-IP policy (written by an older zmproxy or by Zimbra's nginx, or the
    // policy evicted) is not served: the lookup goes to LDAP as a miss and writes the policy,
    // which fails closed (temporary failure, Auth-Wait) while LDAP is down. The policy cached
    // with the route is what keeps cached routes working through an LDAP outage, even in a
    // process that never read the domain.
    if (
      hit !== undefined &&
      policy !== undefined &&
      (request.password === undefined || cachedDn !== undefined)
    ) {
      const allowed = await allowedIpsOfCachedRoute(deps, policy);
      if (!isClientAllowed(request.clientIp, allowed)) {
        return fail(
          'ip_not_allowed',
          `Client-IP ${request.clientIp ?? ''} is not allowed on this domain`,
          `client ${request.clientIp ?? ''} not in zimbraDomainAllowedIPs of ${policy.domain}`,
          { account: qualified },
        );
      }
      let verified = request.password === undefined;
      if (request.password !== undefined && cachedDn !== undefined) {
        try {
          verified = await ldap(deps, () =>
            deps.directory.verifyPassword(cachedDn, request.password ?? ''),
          );
          if (!verified) {
            await forget();
            return fail('bad_password', LOGIN_FAILED, `wrong password for ${qualified}`, {
              account: qualified,
            });
          }
        } catch (error) {
          if (!(error instanceof DirectoryDown)) throw error;
          // The directory is down: serve the cached route; nginx logs in to the mailbox server
          // with the same password, and the mailbox server checks it.
          verified = false;
        }
      }
      return {
        ok: true,
        result: 'ok',
        server: hit.server,
        port: hit.port,
        user: qualified,
        account: qualified,
        cache: 'hit',
        passwordVerified: verified,
      };
    }

    const account = await ldap(deps, () =>
      byId ? deps.queries.accountById(settings, qualified) : findAccount(deps, settings, qualified),
    );
    const domainName = account === undefined ? domainOf(qualified) : domainOf(account.name);
    const domain =
      domainName === undefined
        ? undefined
        : await ldap(deps, () => deps.queries.domainByName(domainName));

    if (account === undefined) {
      const external =
        domain !== undefined &&
        attrOf(domain.attrs, 'zimbraReverseProxyUseExternalRouteIfAccountNotExist') === 'TRUE'
          ? externalRoute(domain.attrs, request.protocol)
          : undefined;
      if (external === undefined) {
        return fail('not_found', LOGIN_FAILED, `user not found:${qualified}`);
      }
      const server = await ldap(deps, () => deps.resolver.resolve(external.host));
      return {
        ok: true,
        result: 'ok',
        server,
        port: external.port,
        user: request.user,
        account: qualified,
        cache: ops.outcome(false),
        passwordVerified: false,
      };
    }

    if (request.admin) {
      const isAdmin =
        attrOf(account.attrs, 'zimbraIsAdminAccount') === 'TRUE' ||
        attrOf(account.attrs, 'zimbraIsDelegatedAdminAccount') === 'TRUE';
      if (!isAdmin) return fail('not_admin', LOGIN_FAILED, `${account.name} is not an admin`);
    }
    const allowed = domain === undefined ? [] : attrValues(domain.attrs, 'zimbraDomainAllowedIPs');
    if (!isClientAllowed(request.clientIp, allowed)) {
      return fail(
        'ip_not_allowed',
        `Client-IP ${request.clientIp ?? ''} is not allowed on this domain`,
        `client ${request.clientIp ?? ''} not in zimbraDomainAllowedIPs of ${domainName ?? ''}`,
        { account: account.name },
      );
    }

    if (request.password !== undefined) {
      const ok = await ldap(deps, () =>
        deps.directory.verifyPassword(account.dn, request.password ?? ''),
      );
      if (!ok) {
        await forget();
        return fail('bad_password', LOGIN_FAILED, `wrong password for ${account.name}`, {
          account: account.name,
        });
      }
    }

    const route = await ldap(deps, () =>
      routeOf(deps, settings, account, domain, request.protocol, request.admin),
    );
    if (typeof route === 'string') {
      return fail('unavailable', TEMPORARILY_UNAVAILABLE, route, { account: account.name });
    }

    const cacheName = byId ? qualified : account.name;
    const ttl = settings.cacheTtlSeconds;
    const finalKey = byId ? routeKey : routeUserKey(request.protocol, cacheName, request.proxyIp);
    const finalDnKey = dnKeyOf(finalKey);
    const cacheAlias =
      !byId && request.user !== account.name && domainOf(account.name) === settings.defaultDomain;
    // Without a domain name there is nothing to re-check on a hit: no policy, no hit.
    const policyText =
      domainName === undefined
        ? undefined
        : formatIpPolicy({ domain: domainName, allowedIPs: allowed });
    await ops.run((cache) =>
      Promise.all([
        cache.add(finalKey, formatRoute(route.server, route.port), ttl),
        cache.add(finalDnKey, account.dn, ttl),
        ...(policyText === undefined
          ? []
          : [cache.add(allowedIpsKeyOf(finalKey), policyText, ttl)]),
        ...(cacheAlias ? [cache.add(aliasKey, account.name, ttl)] : []),
      ]),
    );
    return {
      ok: true,
      result: 'ok',
      server: route.server,
      port: route.port,
      user: account.userName ?? account.name,
      account: account.name,
      cache: ops.outcome(false),
      passwordVerified: request.password !== undefined,
    };
  } catch (error) {
    if (!(error instanceof DirectoryDown)) throw error;
    return fail('unavailable', TEMPORARILY_UNAVAILABLE, `directory: ${error.message}`);
  }
}

/** Headers of the answer to nginx: always HTTP 200 (ref §11.3). */
export function formatMailAnswer(
  decision: MailDecision,
  attempt: number,
  settings: Pick<LookupSettings, 'authWaitSeconds'> | undefined,
  options: HandlerOptions = {},
): Record<string, string> {
  if (decision.ok) {
    return {
      'Auth-Status': 'OK',
      'Auth-Server': decision.server,
      'Auth-Port': String(decision.port),
      'Auth-User': encodeAuthHeader(decision.user),
    };
  }
  const headers: Record<string, string> = { 'Auth-Status': sanitizeHeader(decision.message) };
  const cap = options.maxWaitAttempts ?? 10;
  if (decision.wait && attempt <= cap) {
    headers['Auth-Wait'] = String(settings?.authWaitSeconds ?? 10);
  }
  return headers;
}

/** A failure answer for a request that could not be parsed or checked. */
export function failureDecision(
  result: Exclude<LookupResult, 'ok'>,
  message: string,
  reason: string,
): MailDecision {
  return { ok: false, result, message, reason, wait: true, cache: 'off' };
}

/** Header values must not carry line breaks or control characters. */
function sanitizeHeader(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** An account's route as `ip:port` text, reading its domain for external routes. */
async function accountRoute(
  deps: LookupDeps,
  settings: LookupSettings,
  account: AccountRecord,
  protocol: RouteProtocol,
  admin: boolean,
): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  const domainName = domainOf(account.name);
  const domain =
    domainName === undefined
      ? undefined
      : await ldap(deps, () => deps.queries.domainByName(domainName));
  const route = await ldap(deps, () => routeOf(deps, settings, account, domain, protocol, admin));
  return typeof route === 'string'
    ? { ok: false, reason: route }
    : { ok: true, text: formatRoute(route.server, route.port) };
}

/** Decides a web route request; never throws for directory or cache failures. */
export async function decideWebRoute(
  request: WebRouteRequest,
  settings: LookupSettings,
  deps: LookupDeps,
): Promise<WebDecision> {
  const ops = cacheOps(deps);
  const identity = classifyWebRequest(request);
  if (identity.kind === 'none') {
    return { route: undefined, identity, result: 'no_identity', cache: ops.outcome(false) };
  }
  const protocol = request.protocol;
  try {
    if (identity.kind === 'id') {
      const key = routeIdKey(protocol, identity.id, request.admin);
      const cached = await ops.run((cache) => cache.get(key));
      if (cached !== undefined) {
        return { route: cached, identity, result: 'ok', cache: 'hit', account: identity.id };
      }
      const account = await ldap(deps, () => deps.queries.accountById(settings, identity.id));
      if (account === undefined) {
        return { route: undefined, identity, result: 'not_found', cache: ops.outcome(false) };
      }
      const routed = await accountRoute(deps, settings, account, protocol, request.admin);
      if (!routed.ok) {
        return {
          route: undefined,
          identity,
          result: 'unavailable',
          cache: ops.outcome(false),
          reason: routed.reason,
        };
      }
      const text = routed.text;
      await ops.run((cache) => cache.add(key, text, settings.cacheTtlSeconds));
      return {
        route: text,
        identity,
        result: 'ok',
        cache: ops.outcome(false),
        account: account.name,
      };
    }

    const vhost = request.host;
    const aliasKey = vhost === undefined ? undefined : aliasVhostKey(identity.name, vhost);
    const cachedAccount =
      aliasKey === undefined ? undefined : await ops.run((cache) => cache.get(aliasKey));
    const qualified =
      cachedAccount ?? (await ldap(deps, () => qualify(deps, settings, identity.name, { vhost })));
    const key = routeUserKey(protocol, qualified);
    const cached = await ops.run((cache) => cache.get(key));
    if (cached !== undefined) {
      return { route: cached, identity, result: 'ok', cache: 'hit', account: qualified };
    }
    const account = await ldap(deps, () => findAccount(deps, settings, qualified));
    if (account === undefined) {
      return { route: undefined, identity, result: 'not_found', cache: ops.outcome(false) };
    }
    const routed = await accountRoute(deps, settings, account, protocol, false);
    if (!routed.ok) {
      return {
        route: undefined,
        identity,
        result: 'unavailable',
        cache: ops.outcome(false),
        reason: routed.reason,
      };
    }
    const text = routed.text;
    const ttl = settings.cacheTtlSeconds;
    await ops.run((cache) =>
      Promise.all([
        cache.add(routeUserKey(protocol, account.name), text, ttl),
        ...(aliasKey !== undefined && identity.name !== account.name
          ? [cache.add(aliasKey, account.name, ttl)]
          : []),
      ]),
    );
    return {
      route: text,
      identity,
      result: 'ok',
      cache: ops.outcome(false),
      account: account.name,
    };
  } catch (error) {
    if (!(error instanceof DirectoryDown)) throw error;
    return {
      route: undefined,
      identity,
      result: 'unavailable',
      cache: ops.outcome(false),
      reason: `directory: ${error.message}`,
    };
  }
}

/** Whether a protocol is a mail protocol (the IP throttle and password checks apply). */
export function isMailProtocol(protocol: RouteProtocol): boolean {
  return mailFamily(protocol) !== undefined;
}
