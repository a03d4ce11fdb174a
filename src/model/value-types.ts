/**
 * Parsers for the value types that reach nginx config. Each returns `{ ok, value }` or
 * `{ ok: false, message }`; the message states what is wrong and is completed into a Problem
 * by the caller, which knows the attribute and the entry.
 */

/** The result of parsing one value. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

const DURATION = /^(\d+)([hmsd]|ms)?$/;
const DURATION_MS: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

/** A Zimbra duration `^\d+([hmsd]|ms)?$`, no unit = seconds; returns milliseconds. */
export function parseDuration(text: string): Parsed<number> {
  const match = DURATION.exec(text);
  if (match === null)
    return fail('not a duration: use digits with an optional unit d, h, m, s or ms');
  const ms = Number(match[1]) * (DURATION_MS[match[2] ?? 's'] ?? 1000);
  return Number.isSafeInteger(ms) ? ok(ms) : fail('duration is too large');
}

/** A decimal integer within optional bounds. */
export function parseInteger(text: string, min?: number, max?: number): Parsed<number> {
  if (!/^-?\d+$/.test(text)) return fail('not an integer');
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return fail('integer is too large');
  if (min !== undefined && value < min) return fail(`must be at least ${min}`);
  if (max !== undefined && value > max) return fail(`must be at most ${max}`);
  return ok(value);
}

/** A TCP port 0..65535 (0 means "not set" for several Zimbra proxy ports). */
export function parsePort(text: string): Parsed<number> {
  const parsed = parseInteger(text, 0, 65535);
  return parsed.ok ? parsed : fail('not a port number (0 to 65535)');
}

const MEMORY = /^(\d+)\s*(k|kb|m|mb|g|gb)?$/i;
const MEMORY_FACTOR: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count with an optional memory unit (`10k`, `2MB`, `1GB`, base 1024, case-insensitive). */
export function parseMemory(text: string): Parsed<number> {
  const match = MEMORY.exec(text);
  if (match === null) return fail('not a size: use digits with an optional unit k, m or g');
  const unit = (match[2] ?? '').slice(0, 1).toLowerCase();
  const bytes = Number(match[1]) * (MEMORY_FACTOR[unit] ?? 1);
  return Number.isSafeInteger(bytes) ? ok(bytes) : fail('size is too large');
}

/** Formats a byte count as ProxyConfGen's LONG type: `Nm`, else `Nk`, else `N` (0 is `0m`). */
export function formatMemory(bytes: number): string {
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576}m`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/** An LDAP boolean: exactly `TRUE` or `FALSE`, as Zimbra's schema stores them. */
export function parseBoolean(text: string): Parsed<boolean> {
  if (text === 'TRUE') return ok(true);
  if (text === 'FALSE') return ok(false);
  return fail('not a boolean: use TRUE or FALSE');
}

/** One of the allowed values; enum matching is case-insensitive as Zimbra's, the result is lowercased. */
export function parseEnum(text: string, values: readonly string[]): Parsed<string> {
  const found = values.find((value) => value.toLowerCase() === text.toLowerCase());
  return found === undefined ? fail(`must be one of ${values.join(', ')}`) : ok(found);
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

/** A DNS host name (letters, digits, `-`, `_`, dots), or an IP address. */
export function parseHostname(text: string): Parsed<string> {
  if (isIpAddress(text)) return ok(text);
  if (text.length === 0 || text.length > 253) return fail('not a host name');
  const labels = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  return labels.every((label) => LABEL.test(label)) ? ok(text) : fail('not a host name');
}

/** The address family of an IP literal, or undefined when the text is none. */
export function ipFamily(text: string): 4 | 6 | undefined {
  if (isIpv4(text)) return 4;
  if (isIpv6(text)) return 6;
  return undefined;
}

/** True for an IPv4 or IPv6 literal (no brackets, no zone). */
export function isIpAddress(text: string): boolean {
  return ipFamily(text) !== undefined;
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return (
    parts.length === 4 && parts.every((part) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(part))
  );
}

/**
 * An IPv6 literal as nginx's parser takes it: eight groups, or fewer with one `::`, the last two
 * groups possibly written as IPv4. nginx refuses a trailing `::` after seven groups
 * (`1:2:3:4:5:6:7::`), though RFC 4291 allows it; so do we.
 */
function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const side = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = side(halves[0] ?? '');
  const tail = halves.length === 2 ? side(halves[1] ?? '') : [];
  const last = halves.length === 2 ? tail : head;
  let groups = head.length + tail.length;
  if (last.at(-1)?.includes('.') === true) {
    if (!isIpv4(last.pop() ?? '')) return false;
    groups += 1; // the IPv4 part counts as two groups, one of them already counted
  }
  if ([...head, ...tail].some((group) => !/^[0-9a-f]{1,4}$/i.test(group))) return false;
  if (halves.length === 1) return groups === 8;
  const trailingDouble = halves[1] === '' && head.length > 0;
  return groups <= (trailingDouble ? 6 : 7);
}

/** `host:port` as nginx reads it: an IPv6 address goes in brackets (`[2001:db8::1]:8080`). */
export function hostPort(host: string, port: number | string): string {
  return `${isIpv6(host) ? `[${host}]` : host}:${port}`;
}

/** An IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function parseIpOrCidr(text: string): Parsed<string> {
  const [address = '', prefix, ...rest] = text.split('/');
  const family = ipFamily(address);
  if (family === undefined || rest.length > 0) return fail('not an IP address or CIDR block');
  if (prefix !== undefined) {
    const bits = parseInteger(prefix, 0, family === 4 ? 32 : 128);
    if (!bits.ok || prefix === '') return fail('not an IP address or CIDR block');
  }
  return ok(text);
}

/**
 * Why a value cannot stand as one bare token of an nginx directive, or undefined when it can.
 * nginx ends a directive at `;`, opens and closes blocks at `{` `}`, and splits on whitespace;
 * a quote would open a string we did not close.
 */
export function unsafeTokenReason(text: string): string | undefined {
  const control = controlCharacterReason(text);
  if (control !== undefined) return control;
  if (/[;{}]/.test(text))
    return 'contains ; { or }, which would end or open an nginx directive or block';
  if (/["'\\]/.test(text))
    return 'contains a quote or backslash, which nginx would read as the start of a string';
  if (/\s/.test(text)) return 'contains white space, which nginx would read as a second argument';
  if (text.startsWith('#')) return 'starts with #, which nginx would read as a comment';
  return undefined;
}

/**
 * Why a value cannot be placed even inside a quoted nginx string, or undefined when it can.
 * `${` is refused too: the template engine rescans a line after each substitution, so a value
 * holding a token would pull in another variable.
 */
export function controlCharacterReason(text: string): string | undefined {
  if (text.includes('${'))
    return 'contains ${, which the template engine would expand as a variable';
  if (/[\n\r]/.test(text)) return 'contains a line break, which would end the nginx directive';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we reject
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text))
    return 'contains a control character';
  return undefined;
}

/** Escapes text for the inside of an nginx double-quoted string (the quotes are not added). */
export function escapeNginxString(text: string): string {
  return text.replace(/[\\"]/g, (char) => `\\${char}`);
}

/** Quotes text as one nginx string argument when it is not a safe bare token. */
export function quoteNginxArgument(text: string): string {
  return text !== '' && unsafeTokenReason(text) === undefined
    ? text
    : `"${escapeNginxString(text)}"`;
}

/** An absolute file system path that nginx can read as one bare token. */
export function parseAbsolutePath(text: string): Parsed<string> {
  if (!text.startsWith('/')) return fail('not an absolute path');
  const reason = unsafeTokenReason(text);
  return reason === undefined ? ok(text) : fail(reason);
}

/**
 * An HTTP header name. RFC 9110 allows more (`'`, `#`, `|`…), but those would open a string or a
 * comment in nginx, and no real response header uses them.
 */
export function parseHeaderName(text: string): Parsed<string> {
  return /^[0-9a-z_-]+$/i.test(text)
    ? ok(text)
    : fail('not an HTTP header name (letters, digits, - and _)');
}
