import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFollowingCache } from '../../../../src/lookup/adapters/following-cache.js';
import { createMemcachedClient, HashRing } from '../../../../src/sources/memcached/index.js';
import type { MemcachedClient } from '../../../../src/sources/memcached/index.js';
import type { OwnMemcached } from '../../../helpers/memcached.js';
import { startOwnMemcached } from '../../../helpers/memcached.js';
import { freePorts } from '../../../helpers/ports.js';

// Two real memcached servers: the switch is about which one a key lands on.
let memcached: OwnMemcached | undefined;
let A = '';
let B = '';

beforeAll(async () => {
  memcached = await startOwnMemcached(2);
  [A = '', B = ''] = memcached.servers;
});

afterAll(() => memcached?.stop());

/** A key that `after` puts on another server than `before` (or on the same, `moved` false). */
function keyThat(moved: boolean, before: string[], after: string[], prefix: string): string {
  const old = new HashRing(before);
  const next = new HashRing(after);
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}${i}`;
    if ((old.pick(key) !== next.pick(key)) === moved) return key;
  }
  throw new Error('no such key');
}

describe('createFollowingCache', () => {
  it('rejects before it knows servers, then takes each new server set into use once', async () => {
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => Date.now(),
    });
    await expect(following.cache.get('x')).rejects.toThrow(/servers unknown/);
    expect(following.use([A], 60)).toEqual({ added: [A], removed: [], rebuilt: true });
    expect(following.use([A], 60).rebuilt).toBe(false);
    expect(following.use([B, A], 60)).toEqual({ added: [B], removed: [], rebuilt: true });
    expect(following.servers()).toEqual([A, B].sort());
    expect(following.use([B], 60)).toEqual({ added: [], removed: [A], rebuilt: true });
    following.close();
  });

  it('lets a request in flight finish on the old ring, then closes that client', async () => {
    const events: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let generation = 0;
    const following = createFollowingCache({
      connect: (servers) => {
        const real = createMemcachedClient({ servers });
        const name = `ring${++generation}`;
        const client: MemcachedClient = {
          ...real,
          get: async (key) => {
            events.push(`${name} get`);
            if (name === 'ring1') await gate;
            return real.get(key);
          },
          close: () => {
            events.push(`${name} closed`);
            real.close();
          },
        };
        return client;
      },
      now: () => Date.now(),
    });
    following.use([A], 0);
    const key = `inflight-${Date.now()}`;
    await following.cache.add(key, 'from-A', 60);
    const inFlight = following.cache.get(key);
    following.use([B], 0);
    // The new ring serves the next request while the old one is still busy.
    expect(await following.cache.get(key)).toBeUndefined();
    expect(events).toEqual(['ring1 get', 'ring2 get']);
    release();
    expect(await inFlight).toBe('from-A');
    expect(events).toContain('ring1 closed');
    following.close();
  });

  it('keeps counting a login counter that moved to the added server', async () => {
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => Date.now(),
    });
    const key = keyThat(true, [A], [A, B], `moved-${Date.now()}-`);
    following.use([A], 3600);
    expect(await following.cache.increment(key, 3600)).toBe(1);
    expect(await following.cache.increment(key, 3600)).toBe(2);
    following.use([A, B], 3600);
    expect(await following.cache.increment(key, 3600)).toBe(3);
    // Taken over: B holds the count, A no longer does (so it is not counted twice).
    const direct = createMemcachedClient({ servers: [A, B] });
    expect(await direct.getFrom(B, key)).toBe('3');
    expect(await direct.getFrom(A, key)).toBeUndefined();
    expect(await following.cache.increment(key, 3600)).toBe(4);
    direct.close();
    following.close();
  });

  it('keeps counting a counter whose server left the ring (while that server still answers)', async () => {
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => Date.now(),
    });
    following.use([A, B], 3600);
    const key = keyThat(true, [A, B], [B], `left-${Date.now()}-`);
    expect(await following.cache.increment(key, 3600)).toBe(1);
    expect(await following.cache.increment(key, 3600)).toBe(2);
    following.use([B], 3600);
    expect(await following.cache.increment(key, 3600)).toBe(3);
    following.close();
  });

  it('finds a counter left untouched across an add and a removal', async () => {
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => Date.now(),
    });
    // On A with A alone, on B once B joins, and B stays its owner once A leaves.
    const key = keyThat(true, [A], [A, B], `twice-${Date.now()}-`);
    following.use([A], 3600);
    await following.cache.increment(key, 3600);
    await following.cache.increment(key, 3600);
    following.use([A, B], 3600);
    following.use([B], 3600);
    expect(await following.cache.increment(key, 3600)).toBe(3);
    following.close();
  });

  it('counts from zero a counter whose previous server no longer answers', async () => {
    const [deadPort = 0] = await freePorts(1);
    const dead = `127.0.0.1:${deadPort}`;
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => Date.now(),
    });
    following.use([A, dead], 3600);
    const key = keyThat(true, [A, dead], [A], `dead-${Date.now()}-`);
    following.use([A], 3600);
    expect(await following.cache.increment(key, 3600)).toBe(1);
    expect(await following.cache.increment(key, 3600)).toBe(2);
    following.close();
  });

  it('counts from zero once the carry window is over, and leaves unmoved counters alone', async () => {
    let now = 1_000_000;
    const following = createFollowingCache({
      connect: (servers) => createMemcachedClient({ servers }),
      now: () => now,
    });
    const moved = keyThat(true, [A], [A, B], `late-${Date.now()}-`);
    const stayed = keyThat(false, [A], [A, B], `stay-${Date.now()}-`);
    following.use([A], 10);
    await following.cache.increment(moved, 60);
    await following.cache.increment(stayed, 60);
    following.use([A, B], 10);
    now += 11_000;
    expect(await following.cache.increment(moved, 60)).toBe(1);
    expect(await following.cache.increment(stayed, 60)).toBe(2);
    following.close();
  });
});
