/**
 * The route and throttle cache over a memcached ring that can change while the service runs (a
 * memcached server added to or removed from the directory). A new ring takes the next request;
 * requests already running finish on the client they started with, which is closed once they
 * are done. Login counters whose key moved to another server keep counting: for as long as the
 * longest throttle window, the first increment of a moved counter takes over what its previous
 * owner holds (read, deleted there, added here), so a user limit of 3 stays 3 across the change;
 * only route keys that moved miss once. The rings of the last few changes within the window are
 * remembered, so a counter left untouched across an add and a removal is found too.
 */
import type { MemcachedClient } from '../../sources/memcached/index.js';
import type { LookupCache } from '../ports.js';

/** Options of {@link createFollowingCache}. */
export interface FollowingCacheOptions {
  /** Creates a client for a ring (no connection before the first command). */
  connect(servers: readonly string[]): MemcachedClient;
  /** Milliseconds since the epoch. */
  now(): number;
  /** A retired client still busy after this long is closed anyway. @default 10000 */
  drainMs?: number;
}

/** What one {@link FollowingCache.use} changed. */
export interface RingChange {
  added: string[];
  removed: string[];
  /** True when a new client (ring) took over. */
  rebuilt: boolean;
}

/** The cache and the switch that changes its ring. */
export interface FollowingCache {
  cache: LookupCache;
  /**
   * Uses `servers` from the next request on (nothing happens when the set is the same). Counters
   * that move keep their previous owner's count for `carrySeconds`.
   */
  use(servers: readonly string[], carrySeconds: number): RingChange;
  /** The servers in use (sorted); empty before the first {@link use}. */
  servers(): readonly string[];
  /** Closes every client (after the requests in flight, or `drainMs`). */
  close(): void;
}

interface Generation {
  servers: readonly string[];
  client: MemcachedClient;
  inFlight: number;
  retired: boolean;
  closed: boolean;
}

/** A ring before a change, kept to find where a moved counter was counted (newest first). */
interface Carry {
  /** A client of that ring: asked which server owned a key, and for that server's count. */
  previous: MemcachedClient;
  until: number;
  /** Servers of that ring that failed once: not asked again (a dead one would stall logins). */
  failed: Set<string>;
}

/** At most this many earlier rings are remembered. */
const MAX_CARRIES = 8;

/** Creates the cache; it has no servers (every command rejects) until {@link FollowingCache.use}. */
export function createFollowingCache(options: FollowingCacheOptions): FollowingCache {
  const drainMs = options.drainMs ?? 10_000;
  let current: Generation | undefined;
  let carries: Carry[] = [];

  const closeGeneration = (generation: Generation): void => {
    if (generation.closed) return;
    generation.closed = true;
    generation.client.close();
  };
  const endCarries = (keep: (carry: Carry) => boolean): void => {
    const kept: Carry[] = [];
    for (const carry of carries) {
      if (keep(carry)) kept.push(carry);
      else carry.previous.close();
    }
    carries = kept;
  };

  const run = async <T>(work: (client: MemcachedClient) => Promise<T>): Promise<T> => {
    const generation = current;
    if (generation === undefined) throw new Error('memcached servers unknown');
    generation.inFlight += 1;
    try {
      return await work(generation.client);
    } finally {
      generation.inFlight -= 1;
      if (generation.retired && generation.inFlight === 0) closeGeneration(generation);
    }
  };

  /**
   * Increments `key`; a counter that moved since an earlier ring first takes over what each
   * earlier owner holds (deleted there, so that it is taken over once).
   */
  const increment = async (client: MemcachedClient, key: string, ttl: number): Promise<number> => {
    if (carries.length > 0) {
      const now = options.now();
      endCarries((carry) => now < carry.until);
    }
    const owner = client.ownerOf(key);
    const asked = new Set<string>();
    let held = 0;
    for (const carry of carries) {
      const before = carry.previous.ownerOf(key);
      if (before === undefined || before === owner || asked.has(before)) continue;
      if (carry.failed.has(before)) continue;
      asked.add(before);
      const text = await carry.previous.getFrom(before, key).catch(() => {
        carry.failed.add(before);
        return undefined;
      });
      const value = Number(text);
      if (!(Number.isFinite(value) && value > 0)) continue;
      held += value;
      await carry.previous.deleteFrom(before, key).catch(() => undefined);
    }
    return held > 0 ? client.increment(key, ttl, 1 + held) : client.increment(key, ttl);
  };

  return {
    cache: {
      get: (key) => run((client) => client.get(key)),
      add: (key, value, ttl) => run((client) => client.add(key, value, ttl)),
      delete: (key) => run((client) => client.delete(key)),
      increment: (key, ttl) => run((client) => increment(client, key, ttl)),
    },
    use(servers, carrySeconds) {
      const next = [...new Set(servers)].sort();
      const before = current?.servers ?? [];
      const added = next.filter((server) => !before.includes(server));
      const removed = before.filter((server) => !next.includes(server));
      if (added.length === 0 && removed.length === 0 && current !== undefined) {
        return { added, removed, rebuilt: false };
      }
      const old = current;
      current = {
        servers: next,
        client: options.connect(next),
        inFlight: 0,
        retired: false,
        closed: false,
      };
      if (old !== undefined) {
        old.retired = true;
        if (old.inFlight === 0) closeGeneration(old);
        else setTimeout(() => closeGeneration(old), drainMs).unref();
        if (carrySeconds > 0 && next.length > 0 && old.servers.length > 0) {
          // Connects only to a server asked for a moved counter.
          carries.unshift({
            previous: options.connect(old.servers),
            until: options.now() + carrySeconds * 1000,
            failed: new Set(),
          });
          while (carries.length > MAX_CARRIES) carries.pop()?.previous.close();
        }
      }
      return { added, removed, rebuilt: true };
    },
    servers: () => current?.servers ?? [],
    close() {
      endCarries(() => false);
      if (current === undefined) return;
      const last = current;
      current = undefined;
      last.retired = true;
      if (last.inFlight === 0) closeGeneration(last);
      else setTimeout(() => closeGeneration(last), drainMs).unref();
    },
  };
}
