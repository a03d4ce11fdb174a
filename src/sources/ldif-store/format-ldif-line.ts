/**
 * Writing one attribute value as LDIF (RFC 2849), the way `ldapsearch -LLL` prints it: plain
 * `name: value` when the value is a safe string, `name:: <base64>` otherwise, lines longer than
 * 76 characters folded onto continuation lines that start with one space.
 */

/** Width `ldapsearch` folds at (its default `ldif-wrap`). */
export const LDIF_LINE_WIDTH = 76;

/**
 * True when the value cannot be written after a single colon (RFC 2849 SAFE-STRING): it starts
 * with a space, a colon or `<`, ends with a space, or holds a control or non-ASCII character.
 */
export function needsBase64(value: string): boolean {
  if (value === '') return false;
  if (/^[ :<]/.test(value) || value.endsWith(' ')) return true;
  // eslint-disable-next-line no-control-regex -- control characters are what forces base64
  return /[\u0000-\u001f\u007f-\uffff]/.test(value);
}

/** The physical lines (without line ends) of `name: value`, base64-encoded and folded as needed. */
export function formatLdifAttribute(name: string, value: string): string[] {
  let logical: string;
  if (value === '') logical = `${name}:`;
  else if (needsBase64(value))
    logical = `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
  else logical = `${name}: ${value}`;
  return foldLdifLine(logical);
}

/** Splits a logical line into a first line of 76 characters and continuations of 1 + 75. */
export function foldLdifLine(logical: string, width: number = LDIF_LINE_WIDTH): string[] {
  if (logical.length <= width) return [logical];
  const lines = [logical.slice(0, width)];
  for (let at = width; at < logical.length; at += width - 1) {
    lines.push(` ${logical.slice(at, at + width - 1)}`);
  }
  return lines;
}
