/** DNS answers gathered before variables are computed (docs/architecture.md "The pipeline"). */

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
 * Picks one address as ProxyConfGen does (docs/zimbra-notes.md "DNS"): ipv4 → first IPv4, ipv6 →
 * first IPv6, both → first IPv4, else the first address. Undefined when none fits.
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

/**
 * `ip:port` as ProxyConfGen writes a resolved address (`InetAddress.getHostAddress()`): an IPv6
 * address in full, eight groups of lower-case hex without leading zeros and without `::`
 * (`[2001:db8:0:0:0:0:0:60]:11211`). nginx reads both forms; this keeps the text Zimbra's.
 */
export function javaHostPort(address: ResolvedAddress | string, port: number): string {
  const text = typeof address === 'string' ? address : address.address;
  // Java turns an IPv4-mapped address into an Inet4Address, written without brackets.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped !== null) return `${mapped[1]}:${port}`;
  return text.includes(':') ? `[${javaIpv6Text(text)}]:${port}` : `${text}:${port}`;
}

/** An IPv6 address in Java's getHostAddress() form; a zone (`%eth0`) is kept as it is. */
export function javaIpv6Text(address: string): string {
  const zoneAt = address.indexOf('%');
  const zone = zoneAt < 0 ? '' : address.slice(zoneAt);
  let text = zoneAt < 0 ? address : address.slice(0, zoneAt);
  // A dotted IPv4 tail (`::ffff:192.0.2.1`) is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros =
    tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups];
  return `${groups.map((group) => parseInt(group, 16).toString(16)).join(':')}${zone}`;
}
