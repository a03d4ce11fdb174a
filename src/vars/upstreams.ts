/**
 * Upstream server lists (docs/zimbra-notes.md "Upstream `server` lines", "Multi-line values"):
 * which servers go into each nginx `upstream` block, on which port, with which `fail_timeout` /
 * `max_fails` / `version`, and the text ProxyConfGen's templates expect. The structured form
 * ({@link UpstreamServer}) is kept apart from the text so that our own templates can format the
 * same data differently.
 */
import { findAttribute } from '../model/attribute-catalog.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryName } from '../model/snapshot.js';
import { hostPort, parseInteger } from '../model/value-types.js';
import type { VarArea, VarContext, VariableDefinition } from './types.js';

/** One `server` of an upstream block. */
export interface UpstreamServer {
  /** The server entry's name (cn), for messages. */
  server: string;
  /** zimbraServiceHostname, written as a name (never resolved). */
  host: string;
  port: number;
  /** Seconds, from zimbraMailProxyReconnectTimeout. */
  failTimeout: number;
  /** zimbraMailProxyMaxFails; undefined when it is 1, nginx's own default. */
  maxFails: number | undefined;
  /** zimbraServerVersion, for the Zimbra nginx fork's `exact_version_check`. */
  version: string | undefined;
}

/** The server groups an upstream list draws from. */
export type UpstreamGroup = 'mailClient' | 'webClient' | 'adminClient' | 'ews' | 'login';

/** How the port of each upstream server is found. */
export type UpstreamPort = 'http' | 'https' | 'admin' | 'zx' | 'zx-ssl';

/** One upstream list: a server group and a port. */
export interface UpstreamListSpec {
  group: UpstreamGroup;
  port: UpstreamPort;
}

/**
 * The global-config attributes whose VALUE names the port attribute read on each upstream server,
 * with their install-time values as our code defaults.
 */
const PORT_ATTRIBUTE_OF: Readonly<
  Record<'http' | 'https' | 'admin', { via: string; codeDefault: string }>
> = {
  http: { via: 'zimbraReverseProxyHttpPortAttribute', codeDefault: 'zimbraMailPort' },
  https: { via: 'zimbraReverseProxyHttpSSLPortAttribute', codeDefault: 'zimbraMailSSLPort' },
  admin: { via: 'zimbraReverseProxyAdminPortAttribute', codeDefault: 'zimbraAdminPort' },
};

/**
 * The zx (Zimbra X) web socket service listens on fixed ports (docs/zimbra-notes.md "Variables by
 * area").
 */
const ZX_PORT = 8742;
const ZX_SSL_PORT = 8743;

/** ProxyConfGen's fallback when zimbraMailProxyReconnectTimeout is absent or not a number. */
const DEFAULT_FAIL_TIMEOUT = 60;

const SERVER_NAME_LISTS: Readonly<Record<'ews' | 'login', string>> = {
  ews: 'zimbraReverseProxyUpstreamEwsServers',
  login: 'zimbraReverseProxyUpstreamLoginServers',
};

const memo = new WeakMap<VarContext, Map<string, readonly UpstreamServer[]>>();

/**
 * The servers of one upstream list, in group order. Only servers that pass
 * `ctx.servers.isValidUpstream` are kept (which warns about the others). Memoized per context,
 * so problems are reported once.
 */
export function computeUpstreamServers(
  ctx: VarContext,
  spec: UpstreamListSpec,
): readonly UpstreamServer[] {
  let cache = memo.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    memo.set(ctx, cache);
  }
  const key = `${spec.group}/${spec.port}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const portAttribute = resolvePortAttribute(ctx, spec.port);
  const list: UpstreamServer[] = [];
  // Conscious fix: a pre-8.5 server that also has the group's service is in Zimbra's list twice
  // (docs/zimbra-notes.md "How the generator collects servers and domains"), which doubles its
  // weight; each server is listed once.
  for (const server of new Set(groupServers(ctx, spec.group))) {
    if (!ctx.servers.isValidUpstream(server)) continue;
    const entry = upstreamServer(ctx, server, portAttribute);
    if (entry !== undefined) list.push(entry);
  }
  cache.set(key, list);
  return list;
}

/** Options of {@link formatUpstreamServers}. */
export interface FormatUpstreamOptions {
  /**
   * Append ` version=<zimbraServerVersion>`. Zimbra's templates run on its own nginx fork, which
   * understands it; stock nginx does not.
   * @default true
   */
  version?: boolean;
}

/**
 * The text of an upstream list as ProxyConfGen writes it (docs/zimbra-notes.md "Multi-line
 * values"): `server    <entry>;` first, `        server    <entry>;` after, each line ending in a
 * newline; an empty list is "".
 */
export function formatUpstreamServers(
  list: readonly UpstreamServer[],
  options: FormatUpstreamOptions = {},
): string {
  const withVersion = options.version ?? true;
  return list
    .map((entry, index) => {
      const indent = index === 0 ? '' : '        ';
      return `${indent}server    ${formatUpstreamServer(entry, withVersion)};\n`;
    })
    .join('');
}

/** One `server` directive argument list: `<host>:<port> fail_timeout=<T>s[ max_fails=<M>][ version=<V>]`. */
export function formatUpstreamServer(entry: UpstreamServer, withVersion = true): string {
  let text = `${hostPort(entry.host, entry.port)} fail_timeout=${entry.failTimeout}s`;
  if (entry.maxFails !== undefined) text += ` max_fails=${entry.maxFails}`;
  if (withVersion && entry.version !== undefined) text += ` version=${entry.version}`;
  return text;
}

/** A variable whose value is one upstream list in ProxyConfGen's text form. */
export function upstreamServersVar(
  name: string,
  area: VarArea,
  description: string,
  spec: UpstreamListSpec,
): VariableDefinition {
  return {
    name,
    area,
    description,
    attribute: describeSpec(spec),
    type: 'custom',
    source: 'custom',
    defaultText: '',
    compute: (ctx) => formatUpstreamServers(computeUpstreamServers(ctx, spec)),
  };
}

/**
 * Servers named by serverSource's zimbraReverseProxyUpstreamEwsServers or …LoginServers. A name
 * that matches no server is a Problem (ProxyConfGen dies on a null server, docs/zimbra-notes.md
 * quirk 7).
 */
export function namedUpstreamServers(
  ctx: VarContext,
  group: 'ews' | 'login',
): readonly DirectoryEntry[] {
  const attributeName = SERVER_NAME_LISTS[group];
  const found = ctx.server.find(attributeName);
  const servers: DirectoryEntry[] = [];
  for (const name of found?.values ?? []) {
    const server = ctx.servers.byName(name);
    if (server === undefined) {
      ctx.server.report(
        attributeName,
        found,
        name,
        'names no server in the directory',
        `${removeCommand(found?.from)} -${attributeName} ${name}, or create the server`,
      );
    } else {
      servers.push(server);
    }
  }
  return servers;
}

function removeCommand(from: DirectoryEntry | undefined): string {
  return from === undefined || from.kind === 'globalConfig'
    ? 'zmprov mcf'
    : `zmprov ms ${entryName(from)}`;
}

function groupServers(ctx: VarContext, group: UpstreamGroup): readonly DirectoryEntry[] {
  switch (group) {
    case 'mailClient':
      return ctx.servers.mailClient;
    case 'webClient':
      return ctx.servers.webClient;
    case 'adminClient':
      return ctx.servers.adminClient;
    case 'ews':
    case 'login':
      return namedUpstreamServers(ctx, group);
  }
}

const reportedVia = new WeakMap<VarContext, Set<string>>();

/**
 * The server attribute a global-config attribute names as the port to read (e.g.
 * zimbraReverseProxyHttpPortAttribute → zimbraMailPort). A name that is not a port attribute of
 * the catalog is a problem, reported once per context; `codeDefault` is read meanwhile so the run
 * can report everything.
 */
export function namedPortAttribute(ctx: VarContext, via: string, codeDefault: string): string {
  const named = ctx.config.token(via, codeDefault);
  const spec = findAttribute(named);
  if (spec !== undefined && spec.type === 'port') return spec.name;
  let reported = reportedVia.get(ctx);
  if (reported === undefined) {
    reported = new Set();
    reportedVia.set(ctx, reported);
  }
  if (!reported.has(via)) {
    reported.add(via);
    ctx.config.report(
      via,
      ctx.config.find(via),
      named,
      spec === undefined
        ? 'names an attribute zmproxy does not know'
        : `names ${spec.name}, which is not a port attribute`,
      `zmprov mcf ${via} ${codeDefault}`,
    );
  }
  return codeDefault;
}

/** A port attribute name, or a fixed port. */
type PortSource = { attribute: string } | { fixed: number };

/**
 * Resolves the port indirection: the global config value of e.g.
 * zimbraReverseProxyHttpPortAttribute names the attribute to read on each server. A name that is
 * not a port attribute of the catalog is a Problem; the install-time default is used meanwhile so
 * the run can report everything.
 */
function resolvePortAttribute(ctx: VarContext, port: UpstreamPort): PortSource {
  switch (port) {
    case 'zx':
      return { fixed: ZX_PORT };
    case 'zx-ssl':
      return { fixed: ZX_SSL_PORT };
    case 'http':
    case 'https':
    case 'admin': {
      const { via, codeDefault } = PORT_ATTRIBUTE_OF[port];
      return { attribute: namedPortAttribute(ctx, via, codeDefault) };
    }
  }
}

function upstreamServer(
  ctx: VarContext,
  server: DirectoryEntry,
  portSource: PortSource,
): UpstreamServer | undefined {
  const reader = ctx.readers.readerFor(server);
  const name = entryName(server);
  const host = reader.hostname('zimbraServiceHostname', '');
  if (host === '') {
    if (!reader.has('zimbraServiceHostname')) {
      reader.report(
        'zimbraServiceHostname',
        undefined,
        '',
        'is not set, so the server cannot be an upstream',
      );
    }
    return undefined;
  }
  let port: number;
  if ('fixed' in portSource) {
    port = portSource.fixed;
  } else {
    port = reader.port(portSource.attribute, 0);
    if (port === 0) {
      // ProxyConfGen writes `host:0`, which nginx rejects once the block is used; a mail-only
      // proxy never includes the web upstreams, so this is a warning, not a Problem.
      ctx.warn({
        code: 'W_UPSTREAM_NO_PORT',
        message: `upstream: server ${name} has no ${portSource.attribute}; it is listed with port 0, which nginx rejects if this upstream is used`,
        hint: `zmprov ms ${name} ${portSource.attribute} <port>`,
      });
    }
  }
  const maxFails = reader.integer('zimbraMailProxyMaxFails', 1);
  const version = reader.has('zimbraServerVersion')
    ? reader.token('zimbraServerVersion', '')
    : undefined;
  return {
    server: name,
    host,
    port,
    failTimeout: readFailTimeout(ctx, server),
    maxFails: maxFails === 1 ? undefined : maxFails,
    version: version === '' ? undefined : version,
  };
}

/**
 * zimbraMailProxyReconnectTimeout is a string attribute that ProxyConfGen parses as an integer,
 * silently using 60 when it does not parse. We use 60 too, but report the value as a Problem.
 */
function readFailTimeout(ctx: VarContext, server: DirectoryEntry): number {
  const reader = ctx.readers.readerFor(server);
  const found = reader.find('zimbraMailProxyReconnectTimeout');
  const text = found?.values[0];
  if (text === undefined) return DEFAULT_FAIL_TIMEOUT;
  const parsed = parseInteger(text.trim(), 0);
  if (parsed.ok) return parsed.value;
  reader.report(
    'zimbraMailProxyReconnectTimeout',
    found,
    text,
    `${parsed.message}: it is the upstream fail_timeout in seconds`,
  );
  return DEFAULT_FAIL_TIMEOUT;
}

function describeSpec(spec: UpstreamListSpec): string {
  switch (spec.port) {
    case 'zx':
    case 'zx-ssl':
      return 'zimbraServiceHostname';
    case 'http':
    case 'https':
    case 'admin':
      return PORT_ATTRIBUTE_OF[spec.port].via;
  }
}
