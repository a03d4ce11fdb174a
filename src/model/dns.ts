/** DNS answers gathered before variables are computed (design §1 "DNS"). */

/** One resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** The answer for one host name: its addresses in resolver order, or why it failed. */
export type DnsAnswer =
  { ok: true; addresses: readonly ResolvedAddress[] } | { ok: false; error: string };

/** Host name (lowercased) to answer. A name that was never asked is absent. */
export type DnsTable = ReadonlyMap<string, DnsAnswer>;

/** The IP mode of the generating server (`zimbraIPMode`). */
export type IpMode = 'ipv4' | 'ipv6' | 'both';

/**
 * Picks one address as ProxyConfGen does (ref §7.3): ipv4 → first IPv4, ipv6 → first IPv6,
 * both → first IPv4, else the first address. Undefined when none fits.
 */
export function pickAddress(
  addresses: readonly ResolvedAddress[],
  mode: IpMode,
): ResolvedAddress | undefined {
  switch (mode) {
    case 'ipv4':
      return addresses.find((a) => a.family === 4);
    case 'ipv6':
      return addresses.find((a) => a.family === 6);
    case 'both':
      return addresses.find((a) => a.family === 4) ?? addresses[0];
  }
}

/** `ip:port`, with brackets around an IPv6 address. */
export function hostPort(address: ResolvedAddress | string, port: number): string {
  const text = typeof address === 'string' ? address : address.address;
  return text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`;
}
