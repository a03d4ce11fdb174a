/**
 * Variables our own templates for stock nginx add (they have no Zimbra counterpart, or Zimbra's
 * counterpart holds text only Zimbra's nginx fork understands). Each can be overridden with
 * `-c name=value`. What stock nginx cannot do is reported by {@link computeStockWarnings} in
 * stock-limits.ts, not here, so that a run with Zimbra's own templates (`-t`) stays quiet.
 *
 * The stock set talks to the lookup service as follows (the lookup service implements it:
 * docs/zimbra-nginx-lookup.md):
 * - mail: nginx's `auth_http` goes to a loopback `server` inside `http{}` (listening on
 *   `stock.lookup.listen`), which proxies the request unchanged to the upstream of lookup
 *   handlers at `stock.lookup.path`, failing over between them;
 * - web: `auth_request` asks `stock.route.path` on the same upstream which mailbox server holds
 *   the user, and falls back to the round-robin upstream group when the answer names none.
 */
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import {
  BIND_ADDRESS_KEY,
  computeBindAddress,
  computeBindPrefix,
  internalListenHost,
} from './bind-address.js';
import {
  controlCharacterReason,
  escapeNginxString,
  ipFamily,
  parseAbsolutePath,
  parseDuration,
} from '../model/value-types.js';
import { STOCK_LOOKUP_PATH, STOCK_ROUTE_PATH } from '../lookup/protocol.js';
import { constVar, customVar, enabler } from './define.js';
import { computeWorkerAccount, WORKER_USER_KEY } from './worker-user.js';
import { computeDomainData } from './domains.js';
import { hostPort, pickAddress } from '../model/dns.js';
import type { LookupEndpoint, LookupTopology } from '../model/lookup-topology.js';
import { formatEndpoint, LOOKUP_LC, readLookupTopology } from '../model/lookup-topology.js';
import { computeLookupHandlers } from './lookup.js';
import type { VarContext, VariableDefinition } from './types.js';
import type { UpstreamListSpec, UpstreamPort, UpstreamServer } from './upstreams.js';
import { computeUpstreamServers, formatUpstreamServers } from './upstreams.js';

/** Localconfig keys only the stock template set reads (defaults in localconfig-defaults.ts). */
export const STOCK_LC = {
  mailModule: 'zmproxy_nginx_mail_module',
  authListen: 'zmproxy_auth_http_listen',
  sharedKey: 'zmproxy_lookup_shared_key',
  shutdownTimeout: 'zmproxy_worker_shutdown_timeout',
  lookupCaFile: 'zmproxy_lookup_ca_file',
  lookupTlsName: 'zmproxy_lookup_tls_name',
} as const;

/**
 * Whether nginx verifies the lookup services' certificates: over https, with a CA configured.
 * Stock nginx sends the user's real password to the lookup service, so an unverified TLS hop lets
 * anyone on the path between proxy and mailbox hosts impersonate the service.
 */
export function computeLookupTlsVerify(ctx: VarContext): boolean {
  return (
    computeStockLookupUpstream(ctx).scheme === 'https' && computeLookupTopology(ctx).caFile !== ''
  );
}

/** Default of `stock.generation.listen`: where nginx serves the generation marker. */
export const STOCK_GENERATION_LISTEN = '127.0.0.1:7078';
/** Port of the generation marker (on the bind address when that is loopback). */
export const STOCK_GENERATION_PORT = 7078;

// The lookup paths are part of the nginx↔lookup contract (lookup/protocol.ts).
export { STOCK_LOOKUP_PATH, STOCK_ROUTE_PATH };

// ---------------------------------------------------------------------------------------------
// Lookup handlers as an nginx upstream

/** One lookup handler as an upstream server. */
export interface StockLookupHandler {
  scheme: 'http' | 'https';
  /** `ip:port` or `[ipv6]:port`. */
  address: string;
}

/** The lookup upstream: one scheme, the handlers speaking it, and those left out. */
export interface StockLookupUpstream {
  scheme: 'http' | 'https';
  handlers: readonly StockLookupHandler[];
  /** Handlers speaking the other scheme: an nginx upstream has one scheme. */
  leftOut: readonly StockLookupHandler[];
}

const HANDLER_URL = /^(https?):\/\/([^/]+)\//;

const TOPOLOGIES = new WeakMap<VarContext, LookupTopology>();

/**
 * The lookup topology of localconfig's `zmproxy_lookup_*` keys (model/lookup-topology.ts), read
 * once per context so that each unusable key is reported once.
 */
export function computeLookupTopology(ctx: VarContext): LookupTopology {
  const cached = TOPOLOGIES.get(ctx);
  if (cached !== undefined) return cached;
  const { topology, problems } = readLookupTopology((key) => ctx.lc.text(key));
  for (const problem of problems) {
    ctx.problem({
      subject: problem.key,
      entry: 'localconfig',
      message: problem.message,
      value: problem.value,
      hint: problem.hint,
    });
  }
  TOPOLOGIES.set(ctx, topology);
  return topology;
}

/** A remote lookup service's address as nginx gets it: resolved by the generator, never by nginx. */
function remoteHandler(ctx: VarContext, endpoint: LookupEndpoint): string | undefined {
  if (ipFamily(endpoint.host) !== undefined) return formatEndpoint(endpoint);
  const answer = ctx.dns.get(endpoint.host.toLowerCase());
  const address = answer?.ok === true ? pickAddress(answer.addresses, ctx.ipMode) : undefined;
  if (address !== undefined) return hostPort(address, endpoint.port);
  ctx.problem({
    subject: LOOKUP_LC.servers,
    entry: 'localconfig',
    message: `lookup service ${endpoint.host} can't be resolved`,
    value: endpoint.host,
    hint: `make ${endpoint.host} resolvable on this host (DNS, /etc/hosts or --hosts FILE), or name it by address`,
  });
  return undefined;
}

/**
 * The lookup services nginx asks, as one upstream. By default (`zmproxy_lookup_servers` =
 * `local`) the service on this host; a list of remote services; or, with `nle`, Zimbra's lookup
 * extension on every lookup handler (the generator's rules, docs/zimbra-notes.md "Lookup handlers"
 * plus the mailbox-service rule): nginx proxies to an upstream with one scheme, `https` when any handler speaks it
 * (Zimbra 8.7 and later), and the `http` handlers are then left out.
 */
export function computeStockLookupUpstream(ctx: VarContext): StockLookupUpstream {
  const topology = computeLookupTopology(ctx);
  if (topology.kind === 'local') {
    const handler = { scheme: topology.scheme, address: formatEndpoint(topology.connect) };
    return { scheme: topology.scheme, handlers: [handler], leftOut: [] };
  }
  if (topology.kind === 'remote') {
    const handlers = topology.servers
      .map((endpoint) => remoteHandler(ctx, endpoint))
      .filter((address) => address !== undefined)
      .map((address) => ({ scheme: topology.scheme, address }));
    return { scheme: topology.scheme, handlers, leftOut: [] };
  }
  const all: StockLookupHandler[] = [];
  for (const url of computeLookupHandlers(ctx)) {
    const match = HANDLER_URL.exec(url);
    if (match === null) continue;
    all.push({ scheme: match[1] === 'https' ? 'https' : 'http', address: match[2] ?? '' });
  }
  const scheme = all.some((handler) => handler.scheme === 'https') ? 'https' : 'http';
  return {
    scheme,
    handlers: all.filter((handler) => handler.scheme === scheme),
    leftOut: all.filter((handler) => handler.scheme !== scheme),
  };
}

/** `fail_timeout` of the lookup handlers: zimbraReverseProxyRouteLookupTimeoutCache, in seconds. */
function lookupRetrySeconds(ctx: VarContext): number {
  return Math.max(
    1,
    Math.ceil(ctx.server.duration('zimbraReverseProxyRouteLookupTimeoutCache', 60_000) / 1000),
  );
}

function formatLookupServers(ctx: VarContext): string {
  const retry = lookupRetrySeconds(ctx);
  return computeStockLookupUpstream(ctx)
    .handlers.map(
      (handler, index) =>
        `${index === 0 ? '' : '    '}server    ${handler.address} fail_timeout=${retry}s;`,
    )
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Localconfig-backed settings

/** `host:port` where nginx listens on loopback for its own `auth_http` requests. */
function computeAuthListen(ctx: VarContext): string {
  const key = STOCK_LC.authListen;
  let value = ctx.lc.text(key);
  // Left at its default, it follows a loopback zmproxy_bind_address (proxies sharing a host).
  if (value === LOCALCONFIG_DEFAULTS[key]) {
    value = `${internalListenHost(computeBindAddress(ctx))}:${value.split(':').pop() ?? '7079'}`;
  }
  const match = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2] ?? 0);
  if (match !== null && port > 0 && port <= 65_535) return value;
  ctx.problem({
    subject: key,
    entry: 'localconfig',
    message:
      'must be a loopback address and port (127.0.0.1:7079 or [::1]:7079): nginx sends passwords to it in clear text',
    value,
    hint: `zmlocalconfig -e ${key}=127.0.0.1:7079`,
  });
  return '127.0.0.1:7079';
}

function computeSharedKey(ctx: VarContext): string {
  return computeLookupTopology(ctx).sharedKey;
}

/**
 * localconfig `key` as the absolute path of an nginx module; a relative or empty one is a problem
 * (load_module would resolve it against nginx's -p prefix) and `fallback` is used.
 */
export function computeModulePath(ctx: VarContext, key: string, fallback: string): string {
  const value = ctx.lc.text(key, fallback);
  const parsed = parseAbsolutePath(value);
  if (parsed.ok) return parsed.value;
  ctx.problem({
    subject: key,
    entry: 'localconfig',
    message: `${parsed.message}: load_module resolves a relative path against nginx's -p prefix`,
    value,
    hint: `zmlocalconfig -e ${key}=${fallback}`,
  });
  return fallback;
}

function computeMailModule(ctx: VarContext): string {
  return computeModulePath(ctx, STOCK_LC.mailModule, '/usr/lib/nginx/modules/ngx_mail_module.so');
}

function computeShutdownTimeout(ctx: VarContext): string {
  const key = STOCK_LC.shutdownTimeout;
  const value = ctx.lc.text(key);
  // nginx time units; `ms` needs no conversion either.
  if (parseDuration(value).ok && /^\d+(ms|s|m|h|d)?$/.test(value)) return value;
  ctx.problem({
    subject: key,
    entry: 'localconfig',
    message: 'not a duration (digits with an optional ms, s, m, h or d)',
    value,
    hint: `zmlocalconfig -e ${key}=5m`,
  });
  return '5m';
}

// ---------------------------------------------------------------------------------------------
// Web upstream groups, formatted for stock nginx

/** The upstream groups of the stock web templates. */
export type StockUpstreamGroup =
  'webclient' | 'mailclient' | 'zx' | 'ews' | 'adminclient' | 'admin';

interface GroupSpec {
  group: UpstreamListSpec['group'];
  /** The port when TLS goes to the upstream, and when it does not. */
  port: { ssl: UpstreamPort; plain: UpstreamPort };
  /** Zimbra's upstream names (docs/zimbra-notes.md "Variables by area"), for TLS and plain. */
  name: { ssl: string; plain: string };
}

const GROUPS: Readonly<Record<StockUpstreamGroup, GroupSpec>> = {
  webclient: {
    group: 'webClient',
    port: { ssl: 'https', plain: 'http' },
    name: { ssl: 'zimbra_ssl_webclient', plain: 'zimbra_webclient' },
  },
  mailclient: {
    group: 'mailClient',
    port: { ssl: 'https', plain: 'http' },
    name: { ssl: 'zimbra_ssl', plain: 'zimbra' },
  },
  zx: {
    group: 'mailClient',
    port: { ssl: 'zx-ssl', plain: 'zx' },
    name: { ssl: 'zx_ssl', plain: 'zx' },
  },
  ews: {
    group: 'ews',
    port: { ssl: 'https', plain: 'http' },
    name: { ssl: 'zimbra_ews_ssl', plain: 'zimbra_ews' },
  },
  // The admin port speaks TLS whatever zimbraReverseProxySSLToUpstreamEnabled says.
  adminclient: {
    group: 'adminClient',
    port: { ssl: 'admin', plain: 'admin' },
    name: { ssl: 'zimbra_adminclient', plain: 'zimbra_adminclient' },
  },
  admin: {
    group: 'mailClient',
    port: { ssl: 'admin', plain: 'admin' },
    name: { ssl: 'zimbra_admin', plain: 'zimbra_admin' },
  },
};

/** serverSource's zimbraReverseProxySSLToUpstreamEnabled (code default TRUE). */
export function isSslToUpstream(ctx: VarContext): boolean {
  return ctx.server.boolean('zimbraReverseProxySSLToUpstreamEnabled', true);
}

/**
 * The servers of one stock upstream group: Zimbra's list for the scheme in use, without the
 * servers whose port is 0 (nginx rejects `host:0` even in an unused upstream; the generator
 * already warns about them). The EWS group is empty unless zimbraReverseProxyUpstreamEwsServers
 * has values, the admin groups unless zimbraReverseProxyAdminEnabled is TRUE.
 */
export function computeStockUpstream(
  ctx: VarContext,
  group: StockUpstreamGroup,
): readonly UpstreamServer[] {
  const spec = GROUPS[group];
  if (spec.group === 'ews' && !ctx.server.has('zimbraReverseProxyUpstreamEwsServers')) return [];
  if (group.startsWith('admin') && !ctx.server.boolean('zimbraReverseProxyAdminEnabled', false)) {
    return [];
  }
  const port = isSslToUpstream(ctx) ? spec.port.ssl : spec.port.plain;
  return computeUpstreamServers(ctx, { group: spec.group, port }).filter((s) => s.port !== 0);
}

function upstreamGroupVars(group: StockUpstreamGroup, what: string): VariableDefinition[] {
  const spec = GROUPS[group];
  return [
    customVar({
      name: `stock.upstream.${group}.name`,
      area: 'stock',
      description: `Name of the ${what} upstream: Zimbra's TLS name when zimbraReverseProxySSLToUpstreamEnabled is TRUE, else the plain one`,
      attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
      type: 'string',
      source: 'server',
      defaultText: spec.name.ssl,
      compute: (ctx) => (isSslToUpstream(ctx) ? spec.name.ssl : spec.name.plain),
    }),
    customVar({
      name: `stock.upstream.${group}.:servers`,
      area: 'stock',
      description: `The ${what} upstream servers, as Zimbra's list for the scheme in use but without version= (stock nginx rejects it) and without servers on port 0`,
      attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
      defaultText: '',
      // Our templates indent upstream contents by four spaces, and the list ends without a newline.
      compute: (ctx) =>
        formatUpstreamServers(computeStockUpstream(ctx, group), { version: false })
          .replace(/\n {8}/g, '\n    ')
          .replace(/\n$/, ''),
    }),
    customVar({
      name: `stock.upstream.${group}.enabled`,
      area: 'stock',
      description: `Enables the ${what} upstream block and the locations that use it ("" when it has servers: nginx rejects an empty upstream)`,
      type: 'enabler',
      defaultText: '#',
      compute: (ctx) => enabler(computeStockUpstream(ctx, group).length > 0),
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Mail servers on virtual IP addresses

/** A mail listener on one virtual IP address, with the certificate of the domain owning it. */
export interface StockMailVip {
  /** The `vip` of the first domain item with this address, e.g. `203.0.113.5:` or `[2001:db8::5]:`. */
  vip: string;
  /** The bare address, for the X-Proxy-IP hint to the lookup service. */
  address: string;
  domain: string;
  crt: string;
  key: string;
}

/**
 * The virtual IP addresses that get mail servers of their own (SNI off only: the stock mail
 * module picks a server by address, never by TLS server name). Sorted, one per address: the
 * first domain item with that address (items are sorted by domain, then virtual host name)
 * gives the certificate. Several virtual host names usually share one address. The servers
 * themselves are in templates/nginx.conf.mail.{imap,imaps,pop3,pop3s}.template.hbs.
 */
export function computeStockMailVips(ctx: VarContext): readonly StockMailVip[] {
  const byVip = new Map<string, StockMailVip>();
  for (const item of computeDomainData(ctx).items) {
    const vip = item.vars['vip'] ?? '';
    if (vip === '' || vip === '[::]:' || byVip.has(vip)) continue;
    const address = vip.slice(0, -1).replace(/^\[(.*)\]$/, '$1');
    if (ipFamily(address) === undefined) continue;
    byVip.set(vip, {
      vip,
      address,
      domain: item.domain,
      crt: item.vars['ssl.crt'] ?? ctx.paths.sslCrtDefault,
      key: item.vars['ssl.key'] ?? ctx.paths.sslKeyDefault,
    });
  }
  return [...byVip.values()].sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Throttling nginx enforces itself

/** The web login limit: `limit` logins per `seconds` per client IP, or undefined when off. */
export function computeWebLoginLimit(
  ctx: VarContext,
): { limit: number; seconds: number } | undefined {
  const limit = ctx.config.integer('zimbraReverseProxyIPLoginLimit', 0);
  if (limit <= 0) return undefined;
  const seconds = Math.max(
    1,
    Math.floor(ctx.config.duration('zimbraReverseProxyIPLoginLimitTime', 3_600_000) / 1000),
  );
  return { limit, seconds };
}

/**
 * nginx's `limit_req` rate for `limit` per `seconds`: requests per minute, rounded up, at least
 * 1 (nginx cannot express a slower rate). The burst lets the whole allowance through at once.
 */
function formatRate(ctx: VarContext): string {
  const found = computeWebLoginLimit(ctx);
  if (found === undefined) return '1r/m';
  return `${Math.max(1, Math.ceil((found.limit * 60) / found.seconds))}r/m`;
}

/** `geo` lines (`    <ip or cidr>  1;`) from zimbraReverseProxyIPThrottleWhitelist. */
function formatWhitelistGeo(ctx: VarContext): string {
  const lines: string[] = [];
  for (const value of ctx.server.list('zimbraReverseProxyIPThrottleWhitelist')) {
    // Malformed values are reported by mail.whitelistip.:servers; keep only the usable ones.
    const address = value.split('/')[0] ?? '';
    if (ipFamily(address) === undefined || /\s/.test(value)) continue;
    lines.push(`${lines.length === 0 ? '' : '    '}${value}  1;`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function sniOn(ctx: VarContext): boolean {
  return ctx.server.boolean('zimbraReverseProxySNIEnabled', false);
}

/** The server names of the web servers: the default one and every virtual host name. */
function serverNames(ctx: VarContext): string[] {
  return [
    ctx.lc.text('zimbra_server_hostname'),
    ...computeDomainData(ctx).items.map((item) => item.vhn),
  ];
}

/** The smallest power of two at least `n`. */
function powerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** `:<port>` unless the port is the scheme's default. */
function portSuffix(port: number, standard: number): string {
  return port === standard || port === 0 ? '' : `:${port}`;
}

/**
 * The IMAP capabilities stock nginx announces before login: Zimbra's list without `ID`, which
 * stock nginx answers with `BAD invalid command` before login (docs/stock-nginx.md "What the stock
 * mail proxy cannot do"). Malformed values are reported by mail.imapcapa already and left out here.
 */
function formatStockImapCapabilities(ctx: VarContext): string {
  return ctx.server
    .listOrDefault('zimbraReverseProxyImapEnabledCapability')
    .filter((value) => value.toUpperCase() !== 'ID')
    .filter(
      (value) =>
        value.trim() !== '' &&
        controlCharacterReason(value) === undefined &&
        !/["\\;{}]/.test(value),
    )
    .map((value) => ` "${escapeNginxString(value)}"`)
    .join('');
}

export const STOCK_VARIABLES: readonly VariableDefinition[] = [
  // zmproxyconfgen --apply (generation directories, see model/paths.ts)
  customVar({
    name: 'stock.generation.enabled',
    area: 'stock',
    description:
      'Enables the include of the generation marker (zmproxyconfgen --apply): a loopback-only server answering the generation id',
    type: 'enabler',
    defaultText: '#',
    compute: (ctx) => enabler(ctx.paths.generationLayout),
  }),
  constVar(
    'stock.generation.file',
    'stock',
    'The generation marker include, written by zmproxyconfgen --apply into each generation directory',
    (ctx) => ctx.paths.generationMarkerFile,
  ),
  customVar({
    name: 'stock.generation.listen',
    area: 'stock',
    description:
      'Loopback address:port where nginx answers GET /zmproxy-generation (the generation id), /zmproxy-generation.json and /zmproxy-status.json (--apply): port 7078 on localconfig zmproxy_bind_address when that is a loopback address, else on 127.0.0.1',
    attribute: BIND_ADDRESS_KEY,
    type: 'string',
    source: 'localconfig',
    defaultText: STOCK_GENERATION_LISTEN,
    compute: (ctx) => `${internalListenHost(computeBindAddress(ctx))}:${STOCK_GENERATION_PORT}`,
  }),
  // Process
  customVar({
    name: 'stock.mail.module',
    area: 'stock',
    description:
      'Absolute path of the dynamic nginx mail module (Debian: libnginx-mod-mail); loaded only when mail is proxied',
    attribute: STOCK_LC.mailModule,
    type: 'string',
    source: 'localconfig',
    defaultText: '/usr/lib/nginx/modules/ngx_mail_module.so',
    compute: computeMailModule,
  }),
  customVar({
    name: 'stock.main.shutdown_timeout',
    area: 'stock',
    description:
      'worker_shutdown_timeout: how long an old worker keeps its connections (IMAP IDLE sessions) after a reload',
    attribute: STOCK_LC.shutdownTimeout,
    type: 'string',
    source: 'localconfig',
    defaultText: '5m',
    compute: computeShutdownTimeout,
  }),
  constVar(
    'stock.tmpdir',
    'stock',
    "Directory of nginx's temporary files (request bodies, buffered responses), as Zimbra's build",
    (ctx) => `${ctx.paths.workdir}/data/tmp/nginx`,
  ),
  constVar(
    'stock.web.html.root',
    'stock',
    'Directory of the zmerror_*.html error pages (Zimbra hard-codes it in its web template)',
    (ctx) => ctx.paths.htmlRoot,
  ),
  customVar({
    name: 'stock.ipv4.enabled',
    area: 'stock',
    description:
      'Enables IPv4 wildcard listen lines (zimbraIPMode ipv4 or both): one socket per family, so virtual-IP servers share it',
    attribute: 'zimbraIPMode',
    type: 'enabler',
    source: 'server',
    defaultText: '',
    // With localconfig zmproxy_bind_address set this is the one listen line, on that address.
    compute: (ctx) => enabler(ctx.ipMode !== 'ipv6' || computeBindAddress(ctx) !== ''),
  }),
  customVar({
    name: 'stock.main.user.enabled',
    area: 'stock',
    description:
      "Enables the user directive: localconfig zimbra_user names the workers' user (without it, nginx's compiled-in default, nobody)",
    attribute: WORKER_USER_KEY,
    type: 'enabler',
    source: 'localconfig',
    defaultText: '#',
    compute: (ctx) => enabler(computeWorkerAccount(ctx).user !== ''),
  }),
  customVar({
    name: 'stock.main.user',
    area: 'stock',
    description:
      "User and group of nginx's workers: localconfig zimbra_user and zmproxy_nginx_group (the group the domain keys are readable by)",
    attribute: WORKER_USER_KEY,
    type: 'string',
    source: 'localconfig',
    defaultText: 'nobody nogroup',
    compute: (ctx) => {
      const { user, group } = computeWorkerAccount(ctx);
      return `${user === '' ? 'nobody' : user} ${group}`;
    },
  }),
  customVar({
    name: 'stock.bind.prefix',
    area: 'stock',
    description:
      "What the stock listen lines put before the port: empty (every address), or localconfig zmproxy_bind_address as 'ADDR:' / '[ADDR]:'",
    attribute: BIND_ADDRESS_KEY,
    type: 'string',
    source: 'localconfig',
    defaultText: '',
    compute: computeBindPrefix,
  }),
  customVar({
    name: 'stock.ipv6.enabled',
    area: 'stock',
    description: 'Enables IPv6 wildcard listen lines (zimbraIPMode ipv6 or both)',
    attribute: 'zimbraIPMode',
    type: 'enabler',
    source: 'server',
    defaultText: '',
    compute: (ctx) => enabler(ctx.ipMode !== 'ipv4' && computeBindAddress(ctx) === ''),
  }),
  customVar({
    name: 'stock.sni.enabled',
    area: 'stock',
    description:
      'Enables the wildcard listen lines of per-virtual-host servers (zimbraReverseProxySNIEnabled TRUE)',
    attribute: 'zimbraReverseProxySNIEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(sniOn(ctx)),
  }),
  customVar({
    name: 'stock.sni.disabled',
    area: 'stock',
    description:
      'Enables the ${vip} listen lines of per-virtual-host servers (zimbraReverseProxySNIEnabled FALSE)',
    attribute: 'zimbraReverseProxySNIEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '',
    compute: (ctx) => enabler(!sniOn(ctx)),
  }),

  // Lookup service
  customVar({
    name: 'stock.lookup.listen',
    area: 'stock',
    description:
      "Loopback address:port of nginx's own server that receives auth_http requests and proxies them to the lookup handlers",
    attribute: STOCK_LC.authListen,
    type: 'string',
    source: 'localconfig',
    defaultText: '127.0.0.1:7079 (on zmproxy_bind_address when that is loopback)',
    compute: computeAuthListen,
  }),
  constVar(
    'stock.lookup.path',
    'stock',
    "Path where the lookup service answers nginx's auth_http requests (the NLE's path)",
    STOCK_LOOKUP_PATH,
  ),
  constVar(
    'stock.route.path',
    'stock',
    'Path where the lookup service answers web route lookups (auth_request)',
    STOCK_ROUTE_PATH,
  ),
  customVar({
    name: 'stock.lookup.url',
    area: 'stock',
    description: "nginx's auth_http URL: its own loopback server",
    attribute: STOCK_LC.authListen,
    type: 'string',
    source: 'localconfig',
    defaultText: `http://127.0.0.1:7079${STOCK_LOOKUP_PATH}`,
    compute: (ctx) => `http://${computeAuthListen(ctx)}${STOCK_LOOKUP_PATH}`,
  }),
  customVar({
    name: 'stock.lookup.key',
    area: 'stock',
    description:
      'Shared key nginx sends to the lookup service as X-Zmproxy-Key (letters, digits, + / = . _ ~ -)',
    attribute: STOCK_LC.sharedKey,
    type: 'string',
    source: 'localconfig',
    defaultText: '',
    secret: true,
    compute: computeSharedKey,
  }),
  customVar({
    name: 'stock.lookup.key.enabled',
    area: 'stock',
    description: 'Enables the X-Zmproxy-Key header lines (a shared key is configured)',
    attribute: STOCK_LC.sharedKey,
    type: 'enabler',
    source: 'localconfig',
    defaultText: '#',
    compute: (ctx) => enabler(computeSharedKey(ctx) !== ''),
  }),
  customVar({
    name: 'stock.lookup.tls.verify.enabled',
    area: 'stock',
    description:
      "Enables verification of the lookup services' certificates (https handlers and localconfig zmproxy_lookup_ca_file set)",
    attribute: STOCK_LC.lookupCaFile,
    type: 'enabler',
    source: 'localconfig',
    defaultText: '#',
    compute: (ctx) => enabler(computeLookupTlsVerify(ctx)),
  }),
  customVar({
    name: 'stock.lookup.tls.ca',
    area: 'stock',
    description: "CA bundle nginx trusts for the lookup services' certificates",
    attribute: STOCK_LC.lookupCaFile,
    type: 'string',
    source: 'localconfig',
    defaultText: '',
    compute: (ctx) => ctx.lc.token(STOCK_LC.lookupCaFile),
  }),
  customVar({
    name: 'stock.lookup.tls.name',
    area: 'stock',
    description: "Name the lookup services' certificates must carry (proxy_ssl_name)",
    attribute: STOCK_LC.lookupTlsName,
    type: 'string',
    source: 'localconfig',
    defaultText: 'zmlookup',
    compute: (ctx) => ctx.lc.token(STOCK_LC.lookupTlsName),
  }),
  customVar({
    name: 'stock.lookup.scheme',
    area: 'stock',
    description:
      'Scheme of the lookup upstream: localconfig zmproxy_lookup_scheme, or with zmproxy_lookup_servers=nle https when any lookup handler runs Zimbra 8.7 or later',
    attribute: 'zimbraServerVersionMajor',
    type: 'string',
    defaultText: 'http',
    compute: (ctx) => computeStockLookupUpstream(ctx).scheme,
  }),
  customVar({
    name: 'stock.lookup.:servers',
    area: 'stock',
    description:
      'The lookup services (localconfig zmproxy_lookup_servers: local, host:port list, or nle for zmlookup.:handlers of that scheme) as upstream servers, fail_timeout from zimbraReverseProxyRouteLookupTimeoutCache',
    attribute: 'zimbraReverseProxyLookupTarget',
    defaultText: '',
    compute: formatLookupServers,
  }),
  customVar({
    name: 'stock.mail.authwait',
    area: 'stock',
    description:
      'Auth-Wait seconds nginx waits before answering a login the lookup handlers could not serve',
    attribute: 'zimbraReverseProxyAuthWaitInterval',
    type: 'integer',
    source: 'config',
    defaultText: '10',
    compute: (ctx) =>
      String(
        Math.max(
          1,
          Math.floor(ctx.config.duration('zimbraReverseProxyAuthWaitInterval', 10_000) / 1000),
        ),
      ),
  }),

  // Mail
  customVar({
    name: 'stock.mail.imapcapa',
    area: 'stock',
    description:
      'IMAP capabilities announced before login: mail.imapcapa without ID, which stock nginx cannot answer before login',
    attribute: 'zimbraReverseProxyImapEnabledCapability',
    source: 'server',
    defaultText: ' "IMAP4rev1" "LITERAL+" "SASL-IR" "IDLE" "NAMESPACE"',
    compute: formatStockImapCapabilities,
  }),

  // Web
  customVar({
    name: 'stock.web.upstream.scheme',
    area: 'stock',
    description:
      'Scheme towards the mailbox servers: https when zimbraReverseProxySSLToUpstreamEnabled is TRUE',
    attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
    type: 'string',
    source: 'server',
    defaultText: 'https',
    compute: (ctx) => (isSslToUpstream(ctx) ? 'https' : 'http'),
  }),
  customVar({
    name: 'stock.web.route.protocol',
    area: 'stock',
    description:
      "Auth-Protocol of web route lookups: httpssl (answer with the HTTPS port) or http, as Zimbra's NLE",
    attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
    type: 'string',
    source: 'server',
    defaultText: 'httpssl',
    compute: (ctx) => (isSslToUpstream(ctx) ? 'httpssl' : 'http'),
  }),
  customVar({
    name: 'stock.web.https.port.suffix',
    area: 'stock',
    description: '":<web.https.port>" for redirect URLs, or "" when it is 443',
    attribute: 'zimbraMailSSLProxyPort',
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) => portSuffix(ctx.server.port('zimbraMailSSLProxyPort'), 443),
  }),
  customVar({
    name: 'stock.web.http.port.suffix',
    area: 'stock',
    description: '":<web.http.port>" for redirect URLs, or "" when it is 80',
    attribute: 'zimbraMailProxyPort',
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) => portSuffix(ctx.server.port('zimbraMailProxyPort', 0), 80),
  }),
  customVar({
    name: 'stock.web.nonstrict.enabled',
    area: 'stock',
    description:
      'The opposite of web.strict.servername: enables default_server on the default HTTPS server',
    attribute: 'zimbraReverseProxyStrictServerNameEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '',
    compute: (ctx) =>
      enabler(!ctx.server.boolean('zimbraReverseProxyStrictServerNameEnabled', false)),
  }),
  ...upstreamGroupVars('webclient', 'web client (service zimbra)'),
  ...upstreamGroupVars('mailclient', 'mailbox (service service)'),
  ...upstreamGroupVars('zx', 'zx'),
  ...upstreamGroupVars('ews', 'EWS (zimbraReverseProxyUpstreamEwsServers)'),
  ...upstreamGroupVars('adminclient', 'admin console client (service zimbraAdmin)'),
  ...upstreamGroupVars('admin', 'admin SOAP (mailbox servers on their admin port)'),

  customVar({
    name: 'stock.web.server_names.max_size',
    area: 'stock',
    description:
      'server_names_hash_max_size: web.server_names.max_size, raised to twice the number of server names (a power of two), so that many virtual hosts need no manual tuning',
    attribute: 'proxy_server_names_hash_max_size',
    type: 'integer',
    source: 'localconfig',
    defaultText: '512',
    compute: (ctx) =>
      String(
        Math.max(
          ctx.lc.integer('proxy_server_names_hash_max_size'),
          powerOfTwo(serverNames(ctx).length * 2),
        ),
      ),
  }),
  customVar({
    name: 'stock.web.server_names.bucket_size',
    area: 'stock',
    description:
      'server_names_hash_bucket_size: web.server_names.bucket_size, raised so that a bucket holds two of the longest server names',
    attribute: 'proxy_server_names_hash_bucket_size',
    type: 'integer',
    source: 'localconfig',
    defaultText: '64',
    compute: (ctx) => {
      const longest = Math.max(0, ...serverNames(ctx).map((name) => name.length));
      // An nginx hash element is a pointer, a length and the name, aligned to 8 bytes; a bucket
      // ends with a null pointer.
      const element = Math.ceil((8 + 2 + longest) / 8) * 8;
      return String(
        Math.max(
          ctx.lc.integer('proxy_server_names_hash_bucket_size'),
          powerOfTwo(2 * element + 8),
        ),
      );
    },
  }),
  customVar({
    name: 'stock.listen.:addresses',
    area: 'stock',
    description:
      'listen lines that make the strict catch-all server the default on each virtual IP address (SNI off only: with SNI on the virtual hosts listen on the wildcard address, and a listen line on a VIP would hide them there)',
    attribute: 'zimbraVirtualIPAddress',
    defaultText: '',
    compute: (ctx) =>
      sniOn(ctx)
        ? ''
        : computeDomainData(ctx)
            .listenAddresses.map(
              (address) =>
                `\${web.strict.servername}    listen               ${ipFamily(address) === 6 ? `[${address}]` : address}:\${web.https.port} ssl http2 default_server;`,
            )
            .join('\n'),
  }),
  // Throttle
  customVar({
    name: 'stock.throttle.web.enabled',
    area: 'stock',
    description:
      'Enables limit_req on the web login endpoints (zimbraReverseProxyIPLoginLimit > 0)',
    attribute: 'zimbraReverseProxyIPLoginLimit',
    type: 'enabler',
    source: 'config',
    defaultText: '#',
    compute: (ctx) => enabler(computeWebLoginLimit(ctx) !== undefined),
  }),
  customVar({
    name: 'stock.throttle.web.rate',
    area: 'stock',
    description:
      'limit_req rate: zimbraReverseProxyIPLoginLimit per zimbraReverseProxyIPLoginLimitTime, in requests per minute (at least 1)',
    attribute: 'zimbraReverseProxyIPLoginLimit',
    type: 'string',
    source: 'config',
    defaultText: '1r/m',
    compute: formatRate,
  }),
  customVar({
    name: 'stock.throttle.web.burst',
    area: 'stock',
    description: 'limit_req burst: zimbraReverseProxyIPLoginLimit',
    attribute: 'zimbraReverseProxyIPLoginLimit',
    type: 'integer',
    source: 'config',
    defaultText: '0',
    compute: (ctx) => String(computeWebLoginLimit(ctx)?.limit ?? 0),
  }),
  customVar({
    name: 'stock.throttle.whitelist.:geo',
    area: 'stock',
    description: '`geo` entries of the client addresses exempt from login throttling',
    attribute: 'zimbraReverseProxyIPThrottleWhitelist',
    source: 'server',
    defaultText: '',
    compute: formatWhitelistGeo,
  }),
];
