/**
 * The `!{…}` header directive on a template's first line (docs/zimbra-notes.md "Header directives
 * and explosion").
 */
import { findLastToken } from './interpolate.js';

/** What the first line of a template asks for. */
export type TemplateHeader =
  /** No directive: the first line is an ordinary line. */
  | { kind: 'none' }
  /** `!{explode domain(args)}`: repeat the body per domain item passing every filter arg. */
  | { kind: 'domain'; args: readonly string[] }
  /** The legacy `!{explode vhn_vip_ssl}`: repeat the body per domain item, unfiltered. */
  | { kind: 'legacy' }
  /** `!{explode server(service)}`: repeat the body per server running the service. */
  | { kind: 'server'; service: string }
  | { kind: 'error'; message: string };

const LEGACY_HEADER = '!{explode vhn_vip_ssl}';
const COMMAND_SEPARATOR = /[ \t]+/;
const DOMAIN_ARG_SEPARATOR = /,[ \t]*/;

/** Parses a template's first line as ProxyConfGen.expandTemplate does. */
export function parseHeader(firstLine: string): TemplateHeader {
  // Compared with the whole line before anything else, ignoring case as Java's equalsIgnoreCase
  // does: `ſ`, `ı` and `İ` match `s` and `i` there, which toLowerCase() would not do.
  if (equalsIgnoreCaseJava(firstLine, LEGACY_HEADER)) {
    return { kind: 'legacy' };
  }
  // `(.*)\!\{([^\}]+)\}(.*)` picks the last `!{…}` of the line, like `${…}`; text around it is
  // ignored.
  const token = findLastToken(firstLine, '!{');
  if (token === undefined) return { kind: 'none' };
  const directive = token.name;
  const illegal: TemplateHeader = {
    kind: 'error',
    message: `Illegal custom header command: ${directive}`,
  };

  // Java's split("[ \t]+", 2): a leading blank yields an empty command, which is illegal.
  const separator = COMMAND_SEPARATOR.exec(directive);
  if (separator === null) return illegal;
  const command = directive.slice(0, separator.index);
  const argument = directive.slice(separator.index + separator[0].length);
  if (command !== 'explode') return illegal;

  if (argument.startsWith('server(') && argument.endsWith(')')) {
    const service = argument.slice('server('.length, -1);
    if (service === '') {
      return {
        kind: 'error',
        message: `Missing service parameter in custom header command: ${directive}`,
      };
    }
    return { kind: 'server', service };
  }
  if (argument.startsWith('domain(') && argument.endsWith(')')) {
    const list = argument.slice('domain('.length, -1);
    return { kind: 'domain', args: list === '' ? [] : list.split(DOMAIN_ARG_SEPARATOR) };
  }
  return illegal;
}

/**
 * Java's String.equalsIgnoreCase: equal UTF-16 lengths, and each pair of code units equal, or equal
 * after Character.toUpperCase, or after Character.toLowerCase. Those are Unicode's simple (one
 * character) case mappings; JavaScript's String methods apply the full ones, so a mapping that
 * would change the length (`ß` → `SS`, `İ` → `i̇`) is replaced by its simple form here.
 */
export function equalsIgnoreCaseJava(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (simpleUpper(x) === simpleUpper(y)) continue;
    if (simpleLower(x) === simpleLower(y)) continue;
    return false;
  }
  return true;
}

// U+0130 (İ) lower-cases to `i` followed by a combining dot in full mapping, to `i` in the simple
// one.
const SIMPLE_LOWER_EXCEPTIONS: Readonly<Record<string, string>> = { '\u0130': 'i' };

function simpleUpper(unit: string): string {
  const upper = unit.toUpperCase();
  return upper.length === 1 ? upper : unit;
}

function simpleLower(unit: string): string {
  const exception = SIMPLE_LOWER_EXCEPTIONS[unit];
  if (exception !== undefined) return exception;
  const lower = unit.toLowerCase();
  return lower.length === 1 ? lower : unit;
}
