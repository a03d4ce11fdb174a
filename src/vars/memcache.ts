/**
 * Variables of the memcache area (docs/zimbra-notes.md "Variables by area"): the memcached servers
 * nginx caches routes in, and the timings of its `memcache` block.
 */
import { javaHostPort } from '../model/dns.js';
import { entryLabel } from '../model/snapshot.js';
import { attrVar, customVar } from './define.js';
import { readServicePort, resolveServerAddress } from './lookup.js';
import type { ServerAddress } from './lookup.js';
import type { VarContext, VariableDefinition } from './types.js';

/** Zimbra's code default of zimbraMemcachedBindPort. */
const DEFAULT_MEMCACHED_PORT = 11211;

/**
 * One `  servers   <ip>:<port>;` line per memcached server (docs/zimbra-notes.md "Multi-line
 * values"), each line ending in a newline. A server that cannot be resolved is left out with a
 * warning; no memcached server at all, or none resolvable, is a problem: ProxyConfGen stops
 * generation then (docs/zimbra-notes.md quirk 6).
 */
export function computeMemcacheServers(ctx: VarContext): string {
  const servers = ctx.servers.memcached;
  if (servers.length === 0) {
    ctx.problem({
      subject: 'zimbraServiceEnabled',
      entry: 'all servers',
      message:
        'no server runs the memcached service; nginx needs memcached to cache routes and throttle logins',
      hint: 'install zimbra-memcached on a server, then zmprov ms <server> +zimbraServiceEnabled memcached',
    });
    return '';
  }
  const lines: string[] = [];
  const failures: Extract<ServerAddress, { ok: false }>[] = [];
  for (const server of servers) {
    const resolved = resolveServerAddress(ctx, server);
    if (!resolved.ok) {
      failures.push(resolved);
      continue;
    }
    const port = readServicePort(
      ctx.readers.readerFor(server),
      'zimbraMemcachedBindPort',
      DEFAULT_MEMCACHED_PORT,
    );
    lines.push(`  servers   ${javaHostPort(resolved.address, port)};\n`);
  }
  for (const failure of failures) {
    if (lines.length === 0) {
      ctx.problem({
        subject: 'zimbraServiceHostname',
        entry: entryLabel(failure.server),
        message: `no memcached server could be resolved: ${failure.reason}`,
        value: failure.host,
        hint: failure.hint,
      });
    } else {
      ctx.warn({
        code: failure.unresolved === true ? 'W_MEMCACHED_UNRESOLVED' : 'W_MEMCACHED_LEFT_OUT',
        message: `memcached server on ${entryLabel(failure.server)} left out: ${failure.reason}`,
        hint: failure.hint,
      });
    }
  }
  return lines.join('');
}

export const MEMCACHE_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'memcache.:servers',
    area: 'memcache',
    description: 'memcached servers nginx caches routes in (resolved address and bind port)',
    attribute: 'zimbraMemcachedBindPort',
    defaultText: '',
    compute: computeMemcacheServers,
  }),
  attrVar({
    name: 'memcache.timeout',
    area: 'memcache',
    description: 'How long nginx waits for a memcached answer',
    attribute: 'zimbraReverseProxyCacheFetchTimeout',
    type: 'time',
    source: 'config',
    defaultValue: 3000,
  }),
  attrVar({
    name: 'memcache.reconnect',
    area: 'memcache',
    description: 'How long nginx waits before reconnecting to a failed memcached server',
    attribute: 'zimbraReverseProxyCacheReconnectInterval',
    type: 'time',
    source: 'config',
    defaultValue: 60_000,
  }),
  attrVar({
    name: 'memcache.ttl',
    area: 'memcache',
    description: 'How long a cached route stays in memcached',
    attribute: 'zimbraReverseProxyCacheEntryTTL',
    type: 'time',
    source: 'config',
    defaultValue: 3_600_000,
  }),
];
