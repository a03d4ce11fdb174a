/** Host name → IP address for Auth-Server: an IP stays as it is; names go through a hosts map, then DNS, cached for a minute. */
import { lookup } from 'node:dns/promises';
import { isIpAddress } from '../../model/value-types.js';
import type { AddressResolver } from '../ports.js';

/** Options of {@link createAddressResolver}. */
export interface AddressResolverOptions {
  /** Names answered before DNS (a `--hosts` file), lower-case name → addresses. */
  hosts?: ReadonlyMap<string, readonly string[]>;
  /** Only the hosts map; no DNS. @default false */
  hostsOnly?: boolean;
  /** `ipv4` (default), `ipv6` or `both` (IPv4 first), as zimbraIPMode. */
  ipMode?: 'ipv4' | 'ipv6' | 'both';
  /** How long an answer is kept. @default 60000 */
  ttlMs?: number;
}

/** Creates the resolver. */
export function createAddressResolver(options: AddressResolverOptions = {}): AddressResolver {
  const cache = new Map<string, { address: string; until: number }>();
  const ttl = options.ttlMs ?? 60_000;
  const mode = options.ipMode ?? 'ipv4';
  const pick = (addresses: readonly string[]): string | undefined => {
    const v4 = addresses.find((a) => !a.includes(':'));
    const v6 = addresses.find((a) => a.includes(':'));
    if (mode === 'ipv4') return v4;
    if (mode === 'ipv6') return v6;
    return v4 ?? addresses[0];
  };
  return {
    async resolve(host: string): Promise<string> {
      const name = host.trim().replace(/^\[(.*)\]$/, '$1');
      if (isIpAddress(name)) return name;
      const key = name.toLowerCase();
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > Date.now()) return hit.address;
      let address = pick(options.hosts?.get(key) ?? []);
      if (address === undefined && options.hostsOnly !== true) {
        const answers = await lookup(name, { all: true });
        address = pick(answers.map((answer) => answer.address));
      }
      if (address === undefined) throw new Error(`${host} cannot be resolved (${mode})`);
      cache.set(key, { address, until: Date.now() + ttl });
      return address;
    },
  };
}
