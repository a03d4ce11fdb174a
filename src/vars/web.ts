/**
 * Variables of the web area (docs/zimbra-notes.md "Variables by area"): the `http{}` block, its
 * upstreams and the HTTP and HTTPS servers. Timeouts (`web.upstream.*.timeout`) live in
 * timeouts.ts, TLS in ssl.ts, the admin console in admin.ts, certauth in sso.ts, XMPP BOSH in
 * xmpp.ts.
 */
import { parseHostname, parseInteger } from '../model/value-types.js';
import { attrVar, constVar, customVar, enabler, lcVar } from './define.js';
import { computeListenAddresses, formatResponseHeaders } from './domains.js';
import type { VarContext, VariableDefinition } from './types.js';
import type { UpstreamListSpec } from './upstreams.js';
import { computeUpstreamServers, upstreamServersVar } from './upstreams.js';

const MAIL_MODE = 'zimbraReverseProxyMailMode';
const SSL_TO_UPSTREAM = 'zimbraReverseProxySSLToUpstreamEnabled';
const ERROR_HANDLER_URL = 'zimbraReverseProxyErrorHandlerURL';
const FAIR_SHM_SIZE = 'zimbraReverseProxyUpstreamFairShmSize';
const MIN_FAIR_SHM_SIZE = 32;

/** serverSource's zimbraReverseProxyMailMode, `both` when unset (the attribute has no LDAP default). */
export function computeMailMode(ctx: VarContext): string {
  return ctx.server.enumValue(MAIL_MODE, 'both');
}

/** serverSource's zimbraReverseProxySSLToUpstreamEnabled (code default TRUE). */
function sslToUpstream(ctx: VarContext): boolean {
  return ctx.server.boolean(SSL_TO_UPSTREAM, true);
}

/** A `…target` variable: `https://<ssl upstream>` or `http://<plain upstream>`. */
const targetVar = (name: string, description: string, ssl: string, plain: string) =>
  customVar({
    name,
    area: 'web',
    description,
    attribute: SSL_TO_UPSTREAM,
    type: 'string',
    source: 'server',
    defaultText: `https://${ssl}`,
    compute: (ctx) => (sslToUpstream(ctx) ? `https://${ssl}` : `http://${plain}`),
  });

const nameVar = (name: string, description: string, value: string) =>
  constVar(name, 'web', description, value);

/**
 * The EWS and login enablers: on when serverSource names servers for the upstream.
 *
 * Deviation: Zimbra turns them on as soon as the attribute has a value, even when none of the
 * named servers is a valid upstream, which leaves an empty `upstream` block that nginx rejects.
 * We also require the computed list to be non-empty, and warn when it is not.
 */
function namedUpstreamEnabled(ctx: VarContext, group: 'ews' | 'login'): boolean {
  const attributeName =
    group === 'ews'
      ? 'zimbraReverseProxyUpstreamEwsServers'
      : 'zimbraReverseProxyUpstreamLoginServers';
  if (!ctx.server.has(attributeName)) return false;
  const http = computeUpstreamServers(ctx, { group, port: 'http' });
  const https = computeUpstreamServers(ctx, { group, port: 'https' });
  if (http.length > 0 || https.length > 0) return true;
  ctx.warn({
    code: 'W_UPSTREAM_SERVERS_INVALID',
    message: `none of the servers in ${attributeName} is a valid upstream; the ${group === 'ews' ? 'EWS' : 'login'} upstream is left out`,
    hint: `zmprov ms <server> zimbraReverseProxyLookupTarget TRUE on the named servers, or clear ${attributeName}`,
  });
  return false;
}

/** `upstream_fair_shm_size <n>k;` from zimbraReverseProxyUpstreamFairShmSize (at least 32). */
function computeFairShmSize(ctx: VarContext): string {
  const found = ctx.server.find(FAIR_SHM_SIZE);
  const text = found?.values[0];
  let size = MIN_FAIR_SHM_SIZE;
  if (text !== undefined) {
    const parsed = parseInteger(text);
    if (!parsed.ok) {
      ctx.server.report(FAIR_SHM_SIZE, found, text, parsed.message);
    } else if (parsed.value < MIN_FAIR_SHM_SIZE) {
      // As ProxyConfGen: a smaller size is raised to 32; harmless, so only a warning.
      ctx.warn({
        code: 'W_FAIR_SHM_SIZE_RAISED',
        message: `${FAIR_SHM_SIZE} is ${parsed.value}, below the minimum ${MIN_FAIR_SHM_SIZE}; ${MIN_FAIR_SHM_SIZE} is used`,
        hint: `zmprov mcf ${FAIR_SHM_SIZE} ${MIN_FAIR_SHM_SIZE}`,
      });
    } else {
      size = parsed.value;
    }
  }
  return `upstream_fair_shm_size ${size}k;`;
}

/**
 * `error_page` lines for 502 and 504: Zimbra's static pages, or serverSource's
 * zimbraReverseProxyErrorHandlerURL with `?err=<code>&up=$upstream_addr` appended.
 */
function computeErrorPages(ctx: VarContext): string {
  const url = ctx.server.token(ERROR_HANDLER_URL, '');
  let usable = url;
  // The shared validator allows a plain path only; this guards the token read as well.
  if (url !== '' && !url.startsWith('/')) {
    ctx.server.report(
      ERROR_HANDLER_URL,
      ctx.server.find(ERROR_HANDLER_URL),
      url,
      'not a URL path nginx can send errors to (must start with /)',
    );
    usable = '';
  }
  const page = (code: number) =>
    usable === ''
      ? `error_page ${code} /zmerror_upstream_${code}.html;\n`
      : `error_page ${code} ${usable}?err=${code}&up=$upstream_addr;\n`;
  return page(502) + page(504);
}

/** localconfig zimbra_server_hostname, which must be a host name (it becomes a server_name). */
function computeDefaultServerName(ctx: VarContext): string {
  const value = ctx.lc.text('zimbra_server_hostname', 'localhost');
  const parsed = parseHostname(value);
  if (parsed.ok) return value;
  ctx.problem({
    subject: 'zimbra_server_hostname',
    entry: 'localconfig',
    message: parsed.message,
    value,
    hint: 'zmlocalconfig -e zimbra_server_hostname=<fully qualified host name>',
  });
  return 'localhost';
}

/** zimbraMailURL of serverSource (a path), used as `location = <url>/`. */
function computeLoginUrl(ctx: VarContext): string {
  const url = ctx.server.token('zimbraMailURL', '/');
  if (url.startsWith('/')) return url;
  ctx.server.report(
    'zimbraMailURL',
    ctx.server.find('zimbraMailURL'),
    url,
    'not a URL path (must start with /)',
  );
  return '/';
}

const list = (name: string, description: string, spec: UpstreamListSpec): VariableDefinition =>
  upstreamServersVar(name, 'web', description, spec);

const uploadMaxVar = (name: string, description: string) =>
  attrVar({
    name,
    area: 'web',
    description,
    attribute: 'zimbraFileUploadMaxSize',
    type: 'long',
    source: 'server',
    defaultValue: 10_485_760,
    unused: true,
  });

export const WEB_VARIABLES: readonly VariableDefinition[] = [
  attrVar({
    name: 'web.enabled',
    area: 'web',
    description: 'Includes the web proxy (http{} block)',
    attribute: 'zimbraReverseProxyHttpEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: false,
  }),
  customVar({
    name: 'web.available',
    area: 'web',
    description: 'Includes the web proxy only when there is at least one web client upstream',
    attribute: 'zimbraReverseProxyHttpPortAttribute',
    type: 'enabler',
    source: 'custom',
    defaultText: '#',
    compute: (ctx) =>
      enabler(computeUpstreamServers(ctx, { group: 'webClient', port: 'http' }).length > 0),
  }),
  customVar({
    name: 'web.http.enabled',
    area: 'web',
    description: 'Includes the HTTP servers unless the proxy mail mode is https',
    attribute: MAIL_MODE,
    type: 'enabler',
    source: 'server',
    defaultText: '',
    compute: (ctx) => enabler(computeMailMode(ctx) !== 'https'),
  }),
  customVar({
    name: 'web.https.enabled',
    area: 'web',
    description: 'Includes the HTTPS servers unless the proxy mail mode is http',
    attribute: MAIL_MODE,
    type: 'enabler',
    source: 'server',
    defaultText: '',
    compute: (ctx) => enabler(computeMailMode(ctx) !== 'http'),
  }),
  customVar({
    name: 'upstream.fair.shm.size',
    area: 'web',
    description: 'Shared memory of the upstream fair balancer (whole directive, kilobytes)',
    attribute: FAIR_SHM_SIZE,
    type: 'custom',
    source: 'server',
    defaultText: 'upstream_fair_shm_size 32k;',
    compute: computeFairShmSize,
  }),
  lcVar({
    name: 'web.server_names.max_size',
    area: 'web',
    description: 'Maximum size of the server names hash (server_names_hash_max_size)',
    key: 'proxy_server_names_hash_max_size',
    type: 'integer',
  }),
  lcVar({
    name: 'web.server_names.bucket_size',
    area: 'web',
    description: 'Bucket size of the server names hash (server_names_hash_bucket_size)',
    key: 'proxy_server_names_hash_bucket_size',
    type: 'integer',
  }),
  attrVar({
    name: 'web.upstream.exactversioncheck',
    area: 'web',
    description: 'Routes only to upstreams of the exact server version (Zimbra nginx fork)',
    attribute: 'zimbraReverseProxyExactServerVersionCheck',
    type: 'enum',
    source: 'server',
    defaultValue: 'on',
  }),
  nameVar('web.upstream.webclient.name', 'Name of the web client upstream', 'zimbra_webclient'),
  nameVar('web.upstream.name', 'Name of the mailbox servers upstream', 'zimbra'),
  nameVar(
    'web.ssl.upstream.webclient.name',
    'Name of the web client upstream over TLS',
    'zimbra_ssl_webclient',
  ),
  nameVar('web.ssl.upstream.name', 'Name of the mailbox servers upstream over TLS', 'zimbra_ssl'),
  nameVar('web.upstream.zx.name', 'Name of the zx upstream', 'zx'),
  nameVar('web.ssl.upstream.zx.name', 'Name of the zx upstream over TLS', 'zx_ssl'),
  nameVar('web.ews.upstream.name', 'Name of the EWS upstream', 'zimbra_ews'),
  nameVar('web.ssl.ews.upstream.name', 'Name of the EWS upstream over TLS', 'zimbra_ews_ssl'),
  nameVar('web.login.upstream.name', 'Name of the login upstream', 'zimbra_login'),
  nameVar('web.ssl.login.upstream.name', 'Name of the login upstream over TLS', 'zimbra_login_ssl'),
  list(
    'web.upstream.webclient.:servers',
    'Web client servers (service zimbra) on their HTTP port',
    { group: 'webClient', port: 'http' },
  ),
  list('web.upstream.:servers', 'Mailbox servers (service service) on their HTTP port', {
    group: 'mailClient',
    port: 'http',
  }),
  list(
    'web.ssl.upstream.webclient.:servers',
    'Web client servers (service zimbra) on their HTTPS port',
    { group: 'webClient', port: 'https' },
  ),
  list('web.ssl.upstream.:servers', 'Mailbox servers (service service) on their HTTPS port', {
    group: 'mailClient',
    port: 'https',
  }),
  list('web.upstream.zx.:servers', 'Mailbox servers on the zx port 8742', {
    group: 'mailClient',
    port: 'zx',
  }),
  list('web.ssl.upstream.zx.:servers', 'Mailbox servers on the zx TLS port 8743', {
    group: 'mailClient',
    port: 'zx-ssl',
  }),
  customVar({
    name: 'web.ews.upstream.disable',
    area: 'web',
    description: 'Enables the EWS upstream and locations when EWS servers are named',
    attribute: 'zimbraReverseProxyUpstreamEwsServers',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(namedUpstreamEnabled(ctx, 'ews')),
  }),
  list(
    'web.upstream.ewsserver.:servers',
    'Servers named in zimbraReverseProxyUpstreamEwsServers on their HTTP port',
    { group: 'ews', port: 'http' },
  ),
  list(
    'web.ssl.upstream.ewsserver.:servers',
    'Servers named in zimbraReverseProxyUpstreamEwsServers on their HTTPS port',
    { group: 'ews', port: 'https' },
  ),
  customVar({
    name: 'web.login.upstream.disable',
    area: 'web',
    description: 'Enables the login upstream and locations when login servers are named',
    attribute: 'zimbraReverseProxyUpstreamLoginServers',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(namedUpstreamEnabled(ctx, 'login')),
  }),
  list(
    'web.upstream.loginserver.:servers',
    'Servers named in zimbraReverseProxyUpstreamLoginServers on their HTTP port',
    { group: 'login', port: 'http' },
  ),
  list(
    'web.ssl.upstream.loginserver.:servers',
    'Servers named in zimbraReverseProxyUpstreamLoginServers on their HTTPS port',
    { group: 'login', port: 'https' },
  ),
  constVar(
    'web.logfile',
    'web',
    'Access log of the web proxy',
    (ctx) => `${ctx.paths.logDir}/nginx.access.log`,
  ),
  customVar({
    name: 'web.:error_pages',
    area: 'web',
    description: 'error_page lines for upstream errors 502 and 504',
    attribute: ERROR_HANDLER_URL,
    source: 'server',
    defaultText:
      'error_page 502 /zmerror_upstream_502.html;\nerror_page 504 /zmerror_upstream_504.html;\n',
    compute: computeErrorPages,
  }),
  attrVar({
    name: 'web.http.port',
    area: 'web',
    description: 'Port the proxy serves HTTP on',
    attribute: 'zimbraMailProxyPort',
    type: 'port',
    source: 'server',
    defaultValue: 0,
  }),
  attrVar({
    name: 'web.https.port',
    area: 'web',
    description: 'Port the proxy serves HTTPS on',
    attribute: 'zimbraMailSSLProxyPort',
    type: 'port',
    source: 'server',
  }),
  attrVar({
    name: 'web.http.uport',
    area: 'web',
    description: 'HTTP port of the mailbox servers (used to fix up redirects)',
    attribute: 'zimbraMailPort',
    type: 'port',
    source: 'server',
  }),
  attrVar({
    name: 'web.mailmode',
    area: 'web',
    description: 'Proxy mail mode; picks the web.http(s).mode-<mode> include',
    attribute: MAIL_MODE,
    type: 'enum',
    source: 'server',
    defaultValue: 'both',
  }),
  customVar({
    name: 'web.server_name.default',
    area: 'web',
    description: 'server_name of the default web servers (this host name)',
    attribute: 'zimbra_server_hostname',
    type: 'string',
    source: 'localconfig',
    defaultText: 'localhost',
    compute: computeDefaultServerName,
  }),
  customVar({
    name: 'web.login.upstream.url',
    area: 'web',
    description: 'Path of the web client login page',
    attribute: 'zimbraMailURL',
    type: 'string',
    source: 'server',
    defaultText: '/',
    compute: computeLoginUrl,
  }),
  targetVar('web.upstream.target', 'proxy_pass target of mailbox requests', 'zimbra_ssl', 'zimbra'),
  targetVar(
    'web.upstream.webclient.target',
    'proxy_pass target of web client requests',
    'zimbra_ssl_webclient',
    'zimbra_webclient',
  ),
  targetVar(
    'web.upstream.login.target',
    'proxy_pass target of login requests',
    'zimbra_login_ssl',
    'zimbra_login',
  ),
  targetVar(
    'web.upstream.ews.target',
    'proxy_pass target of EWS requests',
    'zimbra_ews_ssl',
    'zimbra_ews',
  ),
  targetVar('web.upstream.zx', 'proxy_pass target of zx requests', 'zx_ssl', 'zx'),
  attrVar({
    name: 'web.strict.servername',
    area: 'web',
    description: 'Enables the catch-all HTTPS server that rejects unknown server names',
    attribute: 'zimbraReverseProxyStrictServerNameEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: false,
  }),
  customVar({
    name: 'listen.:addresses',
    area: 'web',
    description: 'listen lines of the strict catch-all server, one per domain virtual IP',
    attribute: 'zimbraVirtualIPAddress',
    source: 'custom',
    defaultText: '${web.strict.servername}',
    compute: computeListenAddresses,
  }),
  customVar({
    name: 'web.add.headers.default',
    area: 'web',
    description: 'add_header lines of the default HTTPS, certauth and admin servers',
    attribute: 'zimbraReverseProxyResponseHeaders',
    source: 'config',
    defaultText: '',
    compute: (ctx) => formatResponseHeaders(ctx.config),
  }),
  uploadMaxVar('web.uploadmax', 'Largest upload in bytes (no template uses it)'),
  uploadMaxVar('web.http.maxbody', 'Largest HTTP request body (no template uses it)'),
  uploadMaxVar('web.https.maxbody', 'Largest HTTPS request body (no template uses it)'),
];
