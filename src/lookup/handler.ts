/**
 * The lookup core: a mail lookup request (nginx `auth_http`) or a web route request (nginx
 * `auth_request`) → a decision, over the ports of ports.ts. No I/O of its own.
 *
 * Mail, as Zimbra's NLE (docs/zimbra-nginx-lookup.md): qualify the login, throttle, resolve the
 * route (cache or directory), answer. The password is not checked by default: nginx relays the
 * client's login to the mailbox server, which authenticates it. `--verify-password` adds a check
 * as the domain's zimbraAuthMech would do it, for backends that trust the proxy. Web: classify
 * like zmauth, route when a user is known, from nothing but what nginx's route cache keys on.
 */
import { UPSTREAM_TLS_PORT, upstreamTlsAddress } from '../model/mail-tls-chain.js';
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
import type { PasswordCheckPlan } from './password-check.js';
import { planPasswordCheck, statusRefusal } from './password-check.js';
import type {
  AddressResolver,
  Clock,
  ExternalDirectoryAuth,
  LookupCache,
  LookupDirectory,
} from './ports.js';
import {
  ANSWER_HEADER,
  LOGIN_FAILED,
  TEMPORARILY_UNAVAILABLE,
  stripControlCharacters,
} from './protocol.js';
import type { LookupSettings, RouteProtocol } from './settings.js';
import type { ThrottleCheck } from './throttle.js';
import { isOverLimit, mailFamily, planIpThrottle, planUserThrottle } from './throttle.js';

export { LOGIN_FAILED, TEMPORARILY_UNAVAILABLE };

/** How a lookup ended; the `result` label of the metrics and the log. */
export type LookupResult =
  | 'ok'
  | 'bad_request'
  | 'not_found'
  | 'bad_password'
  | 'account_inactive'
  | 'cannot_verify'
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
      /** True when `--verify-password` checked the password; false when the mailbox server will. */
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
  result: 'ok' | 'no_identity' | 'not_found' | 'ip_not_allowed' | 'unavailable';
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
  /**
   * Set: `--verify-password` (the external directories of ldap/ad domains go through it).
   * undefined: route only, the mailbox server checks passwords (the default, as the NLE).
   */
  passwords?: ExternalDirectoryAuth | undefined;
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
type CacheOps = ReturnType<typeof cacheOps>;

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

/** Qualifies an unqualified login. */
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

/** Finds the account, trying the domain alias's target domain second. */
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

/** imap → imapssl, pop3 → pop3ssl; other protocols unchanged. */
function tlsProtocolOf(protocol: RouteProtocol): RouteProtocol {
  return protocol === 'imap' ? 'imapssl' : protocol === 'pop3' ? 'pop3ssl' : protocol;
}

/**
 * The route of an account: external when enabled and complete, else mail host + port. With
 * `upstreamTls` (mail only) a mailbox server's route is its loopback chain listener
 * (model/mail-tls-chain.ts), once the directory confirms the server has a TLS port; external
 * routes stay as they are (they are not Zimbra servers the generator knows).
 */
async function routeOf(
  deps: LookupDeps,
  settings: LookupSettings,
  account: AccountRecord,
  domain: { attrs: Readonly<Record<string, readonly string[]>> } | undefined,
  protocol: RouteProtocol,
  admin: boolean,
  upstreamTls = false,
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
  if (upstreamTls && (protocol === 'imap' || protocol === 'pop3')) {
    const tlsAttribute = settings.portAttributes[tlsProtocolOf(protocol)];
    const tlsPort = await deps.queries.portOf(settings, account.mailHost, tlsAttribute);
    if (tlsPort === undefined) return `no ${tlsAttribute} for mail host ${account.mailHost}`;
    return { server: upstreamTlsAddress(account.mailHost), port: UPSTREAM_TLS_PORT[protocol] };
  }
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
async function throttled(ops: CacheOps, check: ThrottleCheck | undefined): Promise<boolean> {
  if (check === undefined) return false;
  const count = await ops.run((cache) => cache.increment(check.key, check.ttlSeconds));
  return count !== undefined && isOverLimit(check, count);
}

/** A refused mail lookup. */
type Refusal = Extract<MailDecision, { ok: false }>;

function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}

/** One mail lookup on its way through the steps. */
interface MailLookup {
  request: MailLookupRequest;
  settings: LookupSettings;
  deps: LookupDeps;
  ops: CacheOps;
}

function refuse(
  lookup: MailLookup,
  result: Exclude<LookupResult, 'ok'>,
  message: string,
  reason: string,
  extra: { wait?: boolean; account?: string | undefined } = {},
): Refusal {
  return {
    ok: false,
    result,
    message,
    reason,
    wait: extra.wait ?? true,
    account: extra.account,
    cache: lookup.ops.outcome(false),
  };
}

/**
 * What `--verify-password` needs of an account besides the route, cached beside it (never the
 * password): its DN on the Zimbra directory, zimbraAuthLdapExternalDn, zimbraAccountStatus.
 */
interface AccountCredentials {
  dn: string;
  externalDn: string | undefined;
  status: string | undefined;
}

function formatCredentials(credentials: AccountCredentials): string {
  return JSON.stringify(credentials);
}

/** The cached credentials, or undefined when absent or not this format (an older zmproxy's DN). */
function parseCredentials(text: string | undefined): AccountCredentials | undefined {
  if (text === undefined || !text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const { dn, externalDn, status } = value;
    if (typeof dn !== 'string') return undefined;
    return {
      dn,
      externalDn: typeof externalDn === 'string' ? externalDn : undefined,
      status: typeof status === 'string' ? status : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Where a login goes, and what the answer and the password check need. */
interface ResolvedRoute {
  server: string;
  port: number;
  /** Auth-User of the answer. */
  user: string;
  /** The account name (for the log and the password check). */
  account: string;
  cache: CacheOutcome;
  /** The account's domain name, when known. */
  domain: string | undefined;
  /** undefined: no account (a domain's external route for an unknown user). */
  credentials: AccountCredentials | undefined;
  /** Keys to store once the login is let through (a miss). */
  remember: (() => Promise<unknown>) | undefined;
}

/** Step 1 (throttle, client): the IP counter first, as Zimbra's nginx counted at accept. */
async function throttleClient(lookup: MailLookup): Promise<Refusal | undefined> {
  const { request, settings } = lookup;
  const check = planIpThrottle(settings.throttle, request.protocol, request.clientIp);
  if (!(await throttled(lookup.ops, check))) return undefined;
  return refuse(
    lookup,
    'throttled_ip',
    settings.throttle.ipMessage,
    `client ${request.clientIp ?? ''}`,
    {
      wait: false,
    },
  );
}

/** Step 2 (qualify): the login as `user@domain` — the alias cache, else the directory. */
async function qualifyLogin(lookup: MailLookup): Promise<string> {
  const { request, settings, deps, ops } = lookup;
  if (request.method === 'zimbraId') return request.user;
  const cached = await ops.run((cache) =>
    cache.get(aliasIpKey(request.user, request.proxyIp ?? '')),
  );
  if (cached !== undefined) return cached;
  return ldap(deps, () => qualify(deps, settings, request.user, { proxyIp: request.proxyIp }));
}

/** Step 3 (throttle, user): one counter per user; every attempt counts, whatever its outcome. */
async function throttleUser(lookup: MailLookup, login: string): Promise<Refusal | undefined> {
  const { request, settings } = lookup;
  const check = planUserThrottle(settings.throttle, request.protocol, login);
  if (!(await throttled(lookup.ops, check))) return undefined;
  return refuse(lookup, 'throttled_user', settings.throttle.userMessage, `user ${login}`, {
    wait: false,
  });
}

/** The cache keys of one login. */
function keysOf(request: MailLookupRequest, login: string) {
  // Chain answers (loopback listeners) are cached under the TLS protocol's keys, apart from the
  // plain routes a proxy without the chain caches in the same memcached.
  const protocol =
    request.upstreamTls === true ? tlsProtocolOf(request.protocol) : request.protocol;
  const route =
    request.method === 'zimbraId'
      ? routeIdKey(protocol, login, request.admin)
      : routeUserKey(protocol, login, request.proxyIp);
  return {
    route,
    credentials: dnKeyOf(route),
    policy: allowedIpsKeyOf(route),
    alias: aliasIpKey(request.user, request.proxyIp ?? ''),
  };
}

function refuseClientIp(lookup: MailLookup, domain: string, account: string): Refusal {
  const client = lookup.request.clientIp ?? '';
  return refuse(
    lookup,
    'ip_not_allowed',
    `Client-IP ${client} is not allowed on this domain`,
    `client ${client} not in zimbraDomainAllowedIPs of ${domain}`,
    { account },
  );
}

/** The cache reads of a cached route (route, policy, credentials), started early. */
interface CachedRouteRead {
  login: string;
  values: Promise<readonly (string | undefined)[] | undefined>;
}

/** Starts the reads of the cached route of `login` (no side effects). */
function readCachedRoute(lookup: MailLookup, login: string): CachedRouteRead {
  const keys = keysOf(lookup.request, login);
  const verifying = lookup.deps.passwords !== undefined;
  return {
    login,
    values: lookup.ops.run((cache) =>
      Promise.all([
        cache.get(keys.route),
        cache.get(keys.policy),
        verifying ? cache.get(keys.credentials) : Promise.resolve(undefined),
      ]),
    ),
  };
}

/**
 * Step 4a (resolve, cache): a cached route, re-checked against zimbraDomainAllowedIPs (route
 * keys do not carry the client IP). A route cached without its allowed-IP policy (written by an
 * older zmproxy or by Zimbra's nginx, or the policy evicted) is not served: the lookup goes to
 * the directory as a miss and writes the policy. The policy cached with the route keeps cached
 * routes working through an LDAP outage, even in a process that never read the domain. With
 * `--verify-password`, a route without cached credentials is a miss too.
 */
async function resolveFromCache(
  lookup: MailLookup,
  login: string,
  read: CachedRouteRead = readCachedRoute(lookup, login),
): Promise<ResolvedRoute | Refusal | undefined> {
  const { deps } = lookup;
  const verifying = deps.passwords !== undefined;
  const [routeText, policyText, credentialsText] = (await read.values) ?? [];
  const hit = routeText === undefined ? undefined : parseRoute(routeText);
  const policy = parseIpPolicy(policyText);
  const credentials = parseCredentials(credentialsText);
  if (hit === undefined || policy === undefined || (verifying && credentials === undefined)) {
    return undefined;
  }
  const allowed = await allowedIpsOfCachedRoute(deps, policy);
  if (!isClientAllowed(lookup.request.clientIp, allowed)) {
    return refuseClientIp(lookup, policy.domain, login);
  }
  return {
    ...hit,
    user: login,
    account: login,
    cache: 'hit',
    domain: policy.domain,
    credentials,
    remember: undefined,
  };
}

/** Step 4b (resolve, directory): account → domain checks → mail host → port. */
async function resolveFromDirectory(
  lookup: MailLookup,
  login: string,
): Promise<ResolvedRoute | Refusal> {
  const { request, settings, deps, ops } = lookup;
  const byId = request.method === 'zimbraId';
  const account = await ldap(deps, () =>
    byId ? deps.queries.accountById(settings, login) : findAccount(deps, settings, login),
  );
  const domainName = account === undefined ? domainOf(login) : domainOf(account.name);
  const domain =
    domainName === undefined
      ? undefined
      : await ldap(deps, () => deps.queries.domainByName(domainName));

  if (account === undefined) {
    // The NLE's answer for an unknown user: a failure with Auth-Wait, unless the domain routes
    // unknown users to its external route. The text is every failed login's.
    const external =
      domain !== undefined &&
      attrOf(domain.attrs, 'zimbraReverseProxyUseExternalRouteIfAccountNotExist') === 'TRUE'
        ? externalRoute(domain.attrs, request.protocol)
        : undefined;
    if (external === undefined) {
      return refuse(lookup, 'not_found', LOGIN_FAILED, `user not found:${login}`);
    }
    const server = await ldap(deps, () => deps.resolver.resolve(external.host));
    return {
      server,
      port: external.port,
      user: request.user,
      account: login,
      cache: ops.outcome(false),
      domain: domainName,
      credentials: undefined,
      remember: undefined,
    };
  }

  if (request.admin) {
    const isAdmin =
      attrOf(account.attrs, 'zimbraIsAdminAccount') === 'TRUE' ||
      attrOf(account.attrs, 'zimbraIsDelegatedAdminAccount') === 'TRUE';
    if (!isAdmin)
      return refuse(lookup, 'not_admin', LOGIN_FAILED, `${account.name} is not an admin`);
  }
  const allowed = domain === undefined ? [] : attrValues(domain.attrs, 'zimbraDomainAllowedIPs');
  if (!isClientAllowed(request.clientIp, allowed)) {
    return refuseClientIp(lookup, domainName ?? '', account.name);
  }

  const route = await ldap(deps, () =>
    routeOf(
      deps,
      settings,
      account,
      domain,
      request.protocol,
      request.admin,
      request.upstreamTls === true,
    ),
  );
  if (typeof route === 'string') {
    return refuse(lookup, 'unavailable', TEMPORARILY_UNAVAILABLE, route, { account: account.name });
  }

  const credentials: AccountCredentials = {
    dn: account.dn,
    externalDn: attrOf(account.attrs, 'zimbraAuthLdapExternalDn'),
    status: attrOf(account.attrs, 'zimbraAccountStatus'),
  };
  const remember = async (): Promise<unknown> => {
    const ttl = settings.cacheTtlSeconds;
    const finalKeys = byId ? keysOf(request, login) : keysOf(request, account.name);
    const cacheAlias =
      !byId && request.user !== account.name && domainOf(account.name) === settings.defaultDomain;
    // Without a domain name there is nothing to re-check on a hit: no policy, no hit.
    const policyText =
      domainName === undefined
        ? undefined
        : formatIpPolicy({ domain: domainName, allowedIPs: allowed });
    return ops.run((cache) =>
      Promise.all([
        cache.add(finalKeys.route, formatRoute(route.server, route.port), ttl),
        ...(policyText === undefined ? [] : [cache.add(finalKeys.policy, policyText, ttl)]),
        ...(deps.passwords === undefined
          ? []
          : [cache.add(finalKeys.credentials, formatCredentials(credentials), ttl)]),
        ...(cacheAlias ? [cache.add(keysOf(request, login).alias, account.name, ttl)] : []),
      ]),
    );
  };
  return {
    server: route.server,
    port: route.port,
    user: account.userName ?? account.name,
    account: account.name,
    cache: ops.outcome(false),
    domain: domainName,
    credentials,
    remember,
  };
}

/** Step 4 (resolve): the cache, else the directory. */
async function resolveRoute(
  lookup: MailLookup,
  login: string,
  early: CachedRouteRead | undefined,
): Promise<ResolvedRoute | Refusal> {
  const read = early?.login === login ? early : undefined;
  return (await resolveFromCache(lookup, login, read)) ?? resolveFromDirectory(lookup, login);
}

/** Drops what the cache holds for a login (after a refused password). */
async function forgetLogin(lookup: MailLookup, login: string): Promise<void> {
  const keys = keysOf(lookup.request, login);
  await lookup.ops.run((cache) =>
    Promise.all(
      [keys.alias, keys.route, keys.credentials, keys.policy].map((k) => cache.delete(k)),
    ),
  );
}

/**
 * Step 5, only with `--verify-password`: the password, as the domain's zimbraAuthMech checks it
 * (password-check.ts). Off by default: the mailbox server checks it when nginx logs in there.
 */
async function checkPassword(
  lookup: MailLookup,
  login: string,
  route: ResolvedRoute,
): Promise<Refusal | undefined> {
  const { request, deps } = lookup;
  const verifier = deps.passwords;
  if (verifier === undefined || request.password === undefined) return undefined;
  const credentials = route.credentials;
  if (credentials === undefined) {
    // An unknown user on a domain's external route: nothing here can vouch for the password.
    return refuse(
      lookup,
      'bad_password',
      LOGIN_FAILED,
      `no account ${login} to check the password of`,
      {
        account: route.account,
      },
    );
  }
  const status = statusRefusal(credentials.status);
  if (status !== undefined) {
    return refuse(lookup, 'account_inactive', LOGIN_FAILED, `${status} on ${route.account}`, {
      account: route.account,
    });
  }
  const domain =
    route.domain === undefined
      ? undefined
      : await ldap(deps, () => deps.queries.domainByName(route.domain ?? ''));
  const plan = planPasswordCheck(
    { dn: credentials.dn, name: route.account, externalDn: credentials.externalDn },
    domain?.attrs,
  );
  const outcome = await ldap(deps, () =>
    runPasswordCheck(deps, verifier, plan, request.password ?? ''),
  );
  if (outcome === true) return undefined;
  if (outcome === false) {
    await forgetLogin(lookup, login);
    return refuse(lookup, 'bad_password', LOGIN_FAILED, `wrong password for ${route.account}`, {
      account: route.account,
    });
  }
  return refuse(lookup, 'cannot_verify', LOGIN_FAILED, outcome, { account: route.account });
}

/** Runs a plan: true/false for the password, or why it could not be checked. */
async function runPasswordCheck(
  deps: LookupDeps,
  verifier: ExternalDirectoryAuth,
  plan: PasswordCheckPlan,
  password: string,
): Promise<boolean | string> {
  // An empty password would be an anonymous bind, which LDAP servers accept.
  if (password === '') return false;
  switch (plan.kind) {
    case 'zimbra':
      return deps.directory.verifyPassword(plan.dn, password);
    case 'external-bind':
      return verifier.bind(plan, plan.dn, password);
    case 'external-search': {
      const dns = await verifier.findDns(plan, {
        base: plan.base,
        filter: plan.filter,
        bindDn: plan.searchDn,
        bindPassword: plan.searchPassword,
      });
      if (dns.length !== 1 || dns[0] === undefined) return false;
      return verifier.bind(plan, dns[0], password);
    }
    case 'unsupported':
      return `zimbraAuthMech ${plan.mech} cannot be checked by the proxy; run zmproxy lookup without --verify-password (localconfig zmproxy_lookup_verify_password false) and let the mailbox server check passwords`;
    case 'misconfigured':
      return `zimbraAuthMech ${plan.mech}: ${plan.problem}`;
  }
}

/** Step 6 (answer): the route, and the keys a miss writes. */
async function answer(route: ResolvedRoute, verified: boolean): Promise<MailDecision> {
  await route.remember?.();
  return {
    ok: true,
    result: 'ok',
    server: route.server,
    port: route.port,
    user: route.user,
    account: route.account,
    cache: route.cache,
    passwordVerified: verified,
  };
}

/**
 * Decides a mail lookup as Zimbra's NLE does: qualify the login, throttle, resolve the route
 * (cache or directory), answer. No password check unless `deps.passwords` is set
 * (`--verify-password`): nginx logs in to the mailbox server with the client's credentials and
 * the mailbox server decides.
 */
export async function decideMailLookup(
  request: MailLookupRequest,
  settings: LookupSettings,
  deps: LookupDeps,
): Promise<MailDecision> {
  const lookup: MailLookup = { request, settings, deps, ops: cacheOps(deps) };
  const clientRefusal = await throttleClient(lookup);
  if (clientRefusal !== undefined) return clientRefusal;
  try {
    // A qualified login is usually its own route key: read the cached route while the alias
    // cache is asked (one memcached round trip instead of two). Reads only; the steps below
    // decide in their order.
    const early =
      request.method !== 'zimbraId' && domainOf(request.user) !== undefined
        ? readCachedRoute(lookup, request.user)
        : undefined;
    const login = await qualifyLogin(lookup);
    const userRefusal = await throttleUser(lookup, login);
    if (userRefusal !== undefined) return userRefusal;
    const route = await resolveRoute(lookup, login, early);
    if (isRefusal(route)) return route;
    const passwordRefusal = await checkPassword(lookup, login, route);
    if (passwordRefusal !== undefined) return passwordRefusal;
    return await answer(route, deps.passwords !== undefined && request.password !== undefined);
  } catch (error) {
    if (!(error instanceof DirectoryDown)) throw error;
    return refuse(lookup, 'unavailable', TEMPORARILY_UNAVAILABLE, `directory: ${error.message}`);
  }
}

/** Headers of the answer to nginx: always HTTP 200, Zimbra's auth_http contract. */
export function formatMailAnswer(
  decision: MailDecision,
  attempt: number,
  settings: Pick<LookupSettings, 'authWaitSeconds'> | undefined,
  options: HandlerOptions = {},
): Record<string, string> {
  if (decision.ok) {
    return {
      [ANSWER_HEADER.status]: 'OK',
      [ANSWER_HEADER.server]: decision.server,
      [ANSWER_HEADER.port]: String(decision.port),
      [ANSWER_HEADER.user]: encodeAuthHeader(decision.user),
    };
  }
  const headers: Record<string, string> = {
    [ANSWER_HEADER.status]: stripControlCharacters(decision.message),
  };
  const cap = options.maxWaitAttempts ?? 10;
  if (decision.wait && attempt <= cap) {
    headers[ANSWER_HEADER.wait] = String(settings?.authWaitSeconds ?? 10);
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

/** An account's route as `ip:port` text and its domain's allowed-IP policy. */
async function accountRoute(
  deps: LookupDeps,
  settings: LookupSettings,
  account: AccountRecord,
  protocol: RouteProtocol,
  admin: boolean,
): Promise<
  { ok: true; text: string; policy: CachedIpPolicy | undefined } | { ok: false; reason: string }
> {
  const domainName = domainOf(account.name);
  const domain =
    domainName === undefined
      ? undefined
      : await ldap(deps, () => deps.queries.domainByName(domainName));
  const route = await ldap(deps, () => routeOf(deps, settings, account, domain, protocol, admin));
  if (typeof route === 'string') return { ok: false, reason: route };
  const policy =
    domainName === undefined
      ? undefined
      : {
          domain: domainName,
          allowedIPs:
            domain === undefined ? [] : attrValues(domain.attrs, 'zimbraDomainAllowedIPs'),
        };
  return { ok: true, text: formatRoute(route.server, route.port), policy };
}

/**
 * Decides a web route request; never throws for directory or cache failures. A route (cached or
 * not) is given only to a client its domain's zimbraDomainAllowedIPs admits, as for mail: a
 * cached route without its policy is a miss, and a refused client gets `ip_not_allowed` (the
 * HTTP edge answers 403, which nginx passes to the client).
 */
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
  const decided = (
    result: WebDecision['result'],
    extra: Partial<WebDecision> = {},
  ): WebDecision => ({ route: undefined, identity, result, cache: ops.outcome(false), ...extra });
  const refused = (policy: CachedIpPolicy, account: string): WebDecision =>
    decided('ip_not_allowed', {
      account,
      reason: `client ${request.clientIp ?? ''} not in zimbraDomainAllowedIPs of ${policy.domain}`,
    });

  /** A cached route with its policy, checked; undefined: a miss. */
  const fromCache = async (key: string, account: string): Promise<WebDecision | undefined> => {
    const [text, policyText] =
      (await ops.run((cache) => Promise.all([cache.get(key), cache.get(allowedIpsKeyOf(key))]))) ??
      [];
    const policy = parseIpPolicy(policyText);
    if (text === undefined || parseRoute(text) === undefined || policy === undefined) {
      return undefined;
    }
    if (!isClientAllowed(request.clientIp, await allowedIpsOfCachedRoute(deps, policy))) {
      return { ...refused(policy, account), cache: 'hit' };
    }
    return { route: text, identity, result: 'ok', cache: 'hit', account };
  };

  /** Routes a found account, caching the route and its policy under `keys`. */
  const route = async (
    account: AccountRecord,
    admin: boolean,
    keys: readonly string[],
    alias?: { key: string; value: string },
  ): Promise<WebDecision> => {
    const routed = await accountRoute(deps, settings, account, protocol, admin);
    if (!routed.ok) return decided('unavailable', { reason: routed.reason });
    const { text, policy } = routed;
    if (policy !== undefined && !isClientAllowed(request.clientIp, policy.allowedIPs)) {
      return refused(policy, account.name);
    }
    const ttl = settings.cacheTtlSeconds;
    await ops.run((cache) =>
      Promise.all([
        ...keys.map((key) => cache.add(key, text, ttl)),
        ...(policy === undefined
          ? []
          : keys.map((key) => cache.add(allowedIpsKeyOf(key), formatIpPolicy(policy), ttl))),
        ...(alias === undefined ? [] : [cache.add(alias.key, alias.value, ttl)]),
      ]),
    );
    return {
      route: text,
      identity,
      result: 'ok',
      cache: ops.outcome(false),
      account: account.name,
    };
  };

  try {
    if (identity.kind === 'id') {
      const key = routeIdKey(protocol, identity.id, request.admin);
      const hit = await fromCache(key, identity.id);
      if (hit !== undefined) return hit;
      const account = await ldap(deps, () => deps.queries.accountById(settings, identity.id));
      if (account === undefined) return decided('not_found');
      return await route(account, request.admin, [key]);
    }

    const vhost = request.host;
    const aliasKey = vhost === undefined ? undefined : aliasVhostKey(identity.name, vhost);
    const cachedAccount =
      aliasKey === undefined ? undefined : await ops.run((cache) => cache.get(aliasKey));
    const qualified =
      cachedAccount ?? (await ldap(deps, () => qualify(deps, settings, identity.name, { vhost })));
    const hit = await fromCache(routeUserKey(protocol, qualified), qualified);
    if (hit !== undefined) return hit;
    const account = await ldap(deps, () => findAccount(deps, settings, qualified));
    if (account === undefined) return decided('not_found');
    const alias =
      aliasKey !== undefined && identity.name !== account.name
        ? { key: aliasKey, value: account.name }
        : undefined;
    return await route(account, false, [routeUserKey(protocol, account.name)], alias);
  } catch (error) {
    if (!(error instanceof DirectoryDown)) throw error;
    return decided('unavailable', { reason: `directory: ${error.message}` });
  }
}

/** Whether a protocol is a mail protocol (the IP throttle and password checks apply). */
export function isMailProtocol(protocol: RouteProtocol): boolean {
  return mailFamily(protocol) !== undefined;
}
