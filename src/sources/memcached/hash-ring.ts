/**
 * Consistent hashing over memcached servers (ketama style: 160 points per server from MD5), so
 * that every lookup instance picks the same server for a key and adding a server moves few keys.
 */
import { createHash } from 'node:crypto';

const POINTS_PER_SERVER = 160;

function md5(text: string): Buffer {
  return createHash('md5').update(text).digest();
}

/** A ring of server names; `pick(key, usable)` walks clockwise to the first usable server. */
export class HashRing {
  private readonly points: { hash: number; server: string }[] = [];

  constructor(servers: readonly string[]) {
    for (const server of servers) {
      for (let i = 0; i < POINTS_PER_SERVER / 4; i++) {
        const digest = md5(`${server}-${i}`);
        for (let j = 0; j < 4; j++) {
          this.points.push({ hash: digest.readUInt32LE(j * 4), server });
        }
      }
    }
    this.points.sort((a, b) => a.hash - b.hash);
  }

  /** The server for `key`, skipping servers `usable` rejects; undefined when none is usable. */
  pick(key: string, usable: (server: string) => boolean = () => true): string | undefined {
    if (this.points.length === 0) return undefined;
    const hash = md5(key).readUInt32LE(0);
    let low = 0;
    let high = this.points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.points[mid]?.hash ?? 0) < hash) low = mid + 1;
      else high = mid;
    }
    const tried = new Set<string>();
    for (let n = 0; n < this.points.length; n++) {
      const point = this.points[(low + n) % this.points.length];
      if (point === undefined || tried.has(point.server)) continue;
      tried.add(point.server);
      if (usable(point.server)) return point.server;
    }
    return undefined;
  }
}
