/**
 * Variables of the lookup area (docs/zimbra-notes.md "Variables by area", "Lookup handlers"): the
 * route lookup handlers nginx asks where a user's mailbox lives, and the settings of its
 * `zm_lookup` block.
 *
 * Also home of {@link resolveServerAddress}, the DNS rule (docs/zimbra-notes.md "DNS") shared with
 * the memcached server list: both bake resolved addresses, not host names, into the config.
 */
import type { ResolvedAddress } from '../model/dns.js';
import { javaHostPort, pickAddress } from '../model/dns.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryLabel, entryName } from '../model/snapshot.js';
import { escapeNginxString, ipFamily } from '../model/value-types.js';
import type { EntryReader } from '../resolve/attribute-reader.js';
import { attrVar, customVar, enabler } from './define.js';
import type { VarContext, VariableDefinition } from './types.js';

/** The path the lookup extension answers on, below the handler's extension port. */
const HANDLER_PATH = '/service/extension/nginx-lookup';

/** Zimbra's code default of zimbraExtensionBindPort. */
const DEFAULT_EXTENSION_PORT = 7072;

/** A server's zimbraServiceHostname resolved to the one address the IP mode picks, or why not. */
export type ServerAddress =
  | { ok: true; server: DirectoryEntry; host: string; address: ResolvedAddress }
  | {
      ok: false;
      server: DirectoryEntry;
      host: string;
      /** What went wrong, e.g. `mail1.example.com can't be resolved`. */
      reason: string;
      /** The name did not resolve (what `-f` turns into an error). */
      unresolved?: boolean;
      hint: string;
    };

/**
 * Resolves a server's zimbraServiceHostname as ProxyConfGen does (docs/zimbra-notes.md "DNS"): an
 * IP literal is taken as is, a name is looked up in the DNS table gathered at the edge, and the IP
 * mode picks one address (ipv4: first IPv4, ipv6: first IPv6, both: first IPv4 else the first
 * address).
 */
export function resolveServerAddress(ctx: VarContext, server: DirectoryEntry): ServerAddress {
  const host = ctx.readers.readerFor(server).hostname('zimbraServiceHostname', '');
  if (host === '') {
    // A malformed host name was reported by the reader already; a missing one is said here.
    return {
      ok: false,
      server,
      host: entryName(server),
      reason: `${entryLabel(server)} has no usable zimbraServiceHostname`,
      hint: `zmprov ms ${entryName(server)} zimbraServiceHostname <host name>`,
    };
  }
  const family = ipFamily(host);
  let addresses: readonly ResolvedAddress[];
  if (family !== undefined) {
    addresses = [{ address: host, family }];
  } else {
    const answer = ctx.dns.get(host.toLowerCase());
    if (answer === undefined || !answer.ok) {
      return {
        ok: false,
        server,
        host,
        reason: `${host} can't be resolved`,
        unresolved: true,
        hint: `make ${host} resolvable on this host: fix DNS, add it to /etc/hosts, or pass --hosts FILE`,
      };
    }
    addresses = answer.addresses;
  }
  const address = pickAddress(addresses, ctx.ipMode);
  if (address === undefined) {
    const wanted = ctx.ipMode === 'ipv6' ? 'IPv6' : 'IPv4';
    return {
      ok: false,
      server,
      host,
      reason: `${host} has no ${wanted} address, and zimbraIPMode is ${ctx.ipMode}`,
      hint: `give ${host} an ${wanted} address in DNS (or /etc/hosts, or --hosts FILE), or change zimbraIPMode`,
    };
  }
  return { ok: true, server, host, address };
}

/**
 * Reads a port a service listens on; 0 is a valid attribute value but cannot be connected to,
 * so it is reported and the code default is used.
 */
export function readServicePort(reader: EntryReader, name: string, codeDefault: number): number {
  const port = reader.port(name, codeDefault);
  if (port !== 0) return port;
  reader.report(
    name,
    reader.find(name),
    '0',
    `port 0 cannot be connected to; using ${codeDefault}`,
  );
  return codeDefault;
}

/** True for a server at Zimbra 8.7 or later; a server without version attributes counts as older. */
export function isZimbra87OrLater(reader: EntryReader): boolean {
  const major = reader.integer('zimbraServerVersionMajor', 0);
  const minor = reader.integer('zimbraServerVersionMinor', 0);
  return major > 8 || (major === 8 && minor >= 7);
}

/**
 * `https://` for servers at Zimbra 8.7 or later, whose lookup extension speaks TLS, else
 * `http://` (docs/zimbra-notes.md "Lookup handlers").
 */
export function handlerScheme(reader: EntryReader): string {
  return isZimbra87OrLater(reader) ? 'https://' : 'http://';
}

const HANDLERS = new WeakMap<VarContext, readonly string[]>();

/**
 * The lookup handler URLs, in server order, computed once per context so that
 * `zmlookup.:handlers` and `lookup.available` agree and report each problem once.
 *
 * Candidates are `ctx.servers.lookupTargets` (lookup target TRUE and, our deviation, the mailbox
 * service). A candidate that cannot be resolved is left out with a warning; when that leaves no
 * handler at all, each failure is a problem, as ProxyConfGen fails generation then
 * (docs/zimbra-notes.md "Lookup handlers"). No candidate at all is only a warning: mail and
 * zm_lookup are commented out.
 */
export function computeLookupHandlers(ctx: VarContext): readonly string[] {
  const cached = HANDLERS.get(ctx);
  if (cached !== undefined) return cached;
  const urls: string[] = [];
  const failures: Extract<ServerAddress, { ok: false }>[] = [];
  for (const server of ctx.servers.lookupTargets) {
    const resolved = resolveServerAddress(ctx, server);
    if (!resolved.ok) {
      failures.push(resolved);
      continue;
    }
    const reader = ctx.readers.readerFor(server);
    const port = readServicePort(reader, 'zimbraExtensionBindPort', DEFAULT_EXTENSION_PORT);
    urls.push(`${handlerScheme(reader)}${javaHostPort(resolved.address, port)}${HANDLER_PATH}`);
  }
  if (urls.length === 0 && failures.length > 0) {
    for (const failure of failures) {
      ctx.problem({
        subject: 'zimbraServiceHostname',
        entry: entryLabel(failure.server),
        message: `No available nginx lookup handlers could be contacted: ${failure.reason}`,
        value: failure.host,
        hint: failure.hint,
      });
    }
  } else if (urls.length === 0) {
    ctx.warn({
      code: 'W_NO_LOOKUP_HANDLERS',
      message: 'No available nginx lookup handlers could be found',
      hint: 'zmprov ms <mailbox server> zimbraReverseProxyLookupTarget TRUE',
    });
  } else {
    for (const failure of failures) {
      ctx.warn({
        code:
          failure.unresolved === true ? 'W_LOOKUP_HANDLER_UNRESOLVED' : 'W_LOOKUP_HANDLER_LEFT_OUT',
        message: `lookup handler on ${entryLabel(failure.server)} left out: ${failure.reason}`,
        hint: failure.hint,
      });
    }
  }
  HANDLERS.set(ctx, urls);
  return urls;
}

export const LOOKUP_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'zmlookup.:handlers',
    area: 'lookup',
    description:
      'Route lookup handler URLs (resolved address and extension port of each lookup target)',
    attribute: 'zimbraReverseProxyLookupTarget',
    defaultText: '',
    compute: (ctx) => computeLookupHandlers(ctx).join(' '),
  }),
  customVar({
    name: 'lookup.available',
    area: 'lookup',
    description: 'Enables the zm_lookup and mail includes when at least one lookup handler exists',
    attribute: 'zimbraReverseProxyLookupTarget',
    type: 'enabler',
    defaultText: '#',
    compute: (ctx) => enabler(computeLookupHandlers(ctx).length > 0),
  }),
  attrVar({
    name: 'zmlookup.caching',
    area: 'lookup',
    description: 'Whether nginx caches route lookup answers in memcached',
    attribute: 'zimbraReverseProxyZmlookupCachingEnabled',
    type: 'boolean',
    source: 'server',
    defaultValue: true,
  }),
  customVar({
    name: 'zmlookup.dpasswd',
    area: 'lookup',
    description: 'Password nginx presents to the lookup handlers as the zmnginx admin user',
    attribute: 'ldap_nginx_password',
    type: 'string',
    source: 'localconfig',
    defaultText: 'zmnginx',
    secret: true,
    // The template puts the value inside double quotes.
    compute: (ctx) => escapeNginxString(ctx.lc.text('ldap_nginx_password', 'zmnginx')),
  }),
  attrVar({
    name: 'zmprefix.url',
    area: 'lookup',
    description: 'URL prefix of the web client, read from the global config only',
    attribute: 'zimbraMailURL',
    type: 'string',
    source: 'config',
    defaultValue: '/',
  }),
];
