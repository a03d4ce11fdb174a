/** IP address and CIDR matching for the throttle whitelist and zimbraDomainAllowedIPs. */
import { ipFamily } from '../model/value-types.js';

/** The address as a bigint and its width in bits, or undefined when it is no IP literal. */
function toBits(address: string): { value: bigint; width: number } | undefined {
  const plain = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = ipFamily(plain);
  if (family === 4) {
    const value = plain.split('.').reduce((sum, part) => (sum << 8n) + BigInt(Number(part)), 0n);
    return { value, width: 32 };
  }
  if (family !== 6) return undefined;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) compares as IPv4: nginx reports either form.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped?.[1] !== undefined) return toBits(mapped[1]);
  let text = plain;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4 !== undefined) {
    const bits = toBits(v4)?.value ?? 0n;
    text = `${text.slice(0, -v4.length)}${(bits >> 16n).toString(16)}:${(bits & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  const value = groups.reduce((sum, group) => (sum << 16n) + BigInt(parseInt(group, 16)), 0n);
  return { value, width: 128 };
}

/** True when `address` equals the IP or lies in the CIDR block `pattern`. */
export function matchesAddress(address: string, pattern: string): boolean {
  const [base = '', prefix] = pattern.trim().split('/');
  const a = toBits(address);
  const b = toBits(base);
  if (a === undefined || b === undefined || a.width !== b.width) return false;
  const bits = prefix === undefined ? a.width : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > a.width) return false;
  const shift = BigInt(a.width - bits);
  return a.value >> shift === b.value >> shift;
}

/** True when `address` matches any of `patterns`. */
export function matchesAnyAddress(address: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesAddress(address, pattern));
}
