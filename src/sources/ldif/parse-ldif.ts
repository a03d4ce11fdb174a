/**
 * A strict parser for LDIF content records (RFC 2849) as `slapcat` and `ldapsearch -LLL` print
 * them. Pure: text in, entries out; the file name only labels error messages.
 */
import { ProxyConfError } from '../../errors.js';
import { canonicalAttributeName, findAttribute } from '../../model/attribute-catalog.js';
import type { AttributeMap, EntryOrigin } from '../../model/snapshot.js';

/** One LDIF record as written: its DN, its attributes (canonical names) and where it starts. */
export interface ParsedLdifEntry {
  dn: string;
  attrs: AttributeMap;
  origin: EntryOrigin;
}

/** AttributeDescription of RFC 2849/4512: a name or numeric OID, then `;option`s. */
const ATTRIBUTE_DESCRIPTION = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)(?:;[A-Za-z0-9-]+)*$/;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

const CONTENT_LDIF_HINT =
  'give content LDIF, one entry per record, as `slapcat` or `ldapsearch -LLL` print it';

/** Parses LDIF content records into entries; throws E_LDIF naming `file:line` on the first error. */
export function parseLdif(text: string, file: string): ParsedLdifEntry[] {
  const lines = text.split('\n');
  const entries: ParsedLdifEntry[] = [];
  const fail = (line: number, message: string, hint: string = CONTENT_LDIF_HINT): never => {
    throw new ProxyConfError('E_LDIF', `${file}:${line}: ${message}`, { hint });
  };

  let record: RecordBuilder | undefined;
  let versionAllowed = true;
  // The logical line being assembled: its first physical line number and its pieces. Folded
  // lines are collected in an array and joined once (no quadratic concatenation).
  let logicalStart = 0;
  let pieces: string[] = [];
  let inComment = false;

  const flush = (): void => {
    if (pieces.length === 0) return;
    const logical = pieces.length === 1 ? (pieces[0] ?? '') : pieces.join('');
    pieces = [];
    record = handleLine(logical, logicalStart, record);
  };

  const handleLine = (
    logical: string,
    line: number,
    current: RecordBuilder | undefined,
  ): RecordBuilder | undefined => {
    const parsed = parseAttrValue(logical, line, fail);
    const lower = parsed.name.toLowerCase();
    if (current === undefined) {
      if (lower === 'version' && versionAllowed) {
        versionAllowed = false;
        if (parsed.value.trim() !== '1') {
          fail(
            line,
            `unsupported LDIF version "${parsed.value}"`,
            'write "version: 1" or no version line',
          );
        }
        return undefined;
      }
      versionAllowed = false;
      if (lower !== 'dn') {
        fail(
          line,
          `the record does not start with "dn:" (found "${parsed.name}:")`,
          missingDnHint(lower),
        );
      }
      return new RecordBuilder(parsed.value, { file, line });
    }
    if (lower === 'dn') {
      fail(
        line,
        'a second "dn:" line inside one record',
        'separate entries by a blank line; each record starts with its own "dn:" line',
      );
    }
    if (lower === 'changetype' || (lower === 'control' && current.isEmpty())) {
      fail(
        line,
        `"${parsed.name}:" starts an LDIF change record; zmproxy reads content records only`,
      );
    }
    const name = canonicalAttributeName(parsed.name);
    const first = current.add(name, parsed.value, line);
    if (first !== undefined && findAttribute(name)?.cardinality === 'single') {
      fail(
        line,
        `${name} is single-valued but is given again (first at line ${first})`,
        `keep one ${name} line in this record`,
      );
    }
    if (parsed.lossy && findAttribute(name) !== undefined) {
      fail(
        line,
        `the base64 value of "${name}" is not UTF-8 text`,
        'encode the value as UTF-8 before base64 (iconv -t UTF-8)',
      );
    }
    return current;
  };

  const endRecord = (): void => {
    flush();
    if (record !== undefined) entries.push(record.build());
    record = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i] ?? '';
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (i === 0 && raw.startsWith('\uFEFF')) raw = raw.slice(1);
    const lineNo = i + 1;
    if (raw.includes('\r')) {
      fail(
        lineNo,
        'a carriage return inside a line: the file has CR-only (old Mac) line endings',
        'convert the line endings to LF (or CRLF), e.g. `tr "\\r" "\\n"`',
      );
    }

    if (raw.startsWith(' ')) {
      if (inComment) continue;
      if (pieces.length === 0) {
        fail(
          lineNo,
          'a continuation line (starting with a space) has no line to continue',
          'remove the leading space, or join the line to the line it belongs to',
        );
      }
      pieces.push(raw.slice(1));
      continue;
    }
    if (raw === '') {
      inComment = false;
      endRecord();
      continue;
    }
    flush();
    if (raw.startsWith('#')) {
      inComment = true;
      continue;
    }
    inComment = false;
    logicalStart = lineNo;
    pieces.push(raw);
  }
  endRecord();
  return entries;
}

/** The attributes of one record, gathered under their canonical names, in order. */
class RecordBuilder {
  readonly #dn: string;
  readonly #origin: EntryOrigin;
  /** Lower-case name to the spelling first used for it, so `cn` and `CN` share one list. */
  readonly #keys = new Map<string, string>();
  readonly #values = new Map<string, string[]>();

  constructor(dn: string, origin: EntryOrigin) {
    this.#dn = dn;
    this.#origin = origin;
  }

  isEmpty(): boolean {
    return this.#values.size === 0;
  }

  readonly #firstLine = new Map<string, number>();

  /** Adds a value; returns the line of the attribute's first value when it had one already. */
  add(name: string, value: string, line: number): number | undefined {
    const lower = name.toLowerCase();
    let key = this.#keys.get(lower);
    if (key === undefined) {
      key = name;
      this.#keys.set(lower, key);
    }
    const list = this.#values.get(key);
    if (list === undefined) {
      this.#values.set(key, [value]);
      this.#firstLine.set(key, line);
      return undefined;
    }
    list.push(value);
    return this.#firstLine.get(key);
  }

  build(): ParsedLdifEntry {
    return { dn: this.#dn, attrs: Object.fromEntries(this.#values), origin: this.#origin };
  }
}

/** Splits `name[;options]: value`, `name:: base64` or `name:< url` into name (no options) and value. */
function parseAttrValue(
  logical: string,
  line: number,
  fail: (line: number, message: string, hint?: string) => never,
): { name: string; value: string; lossy?: boolean } {
  const colon = logical.indexOf(':');
  if (colon < 0) {
    return fail(
      line,
      `the line has no colon: "${shorten(logical)}"`,
      'every line of a record is "attribute: value"; a folded line continues with one leading space',
    );
  }
  const description = logical.slice(0, colon);
  if (!ATTRIBUTE_DESCRIPTION.test(description)) {
    return fail(
      line,
      `"${shorten(description)}" is not a valid attribute name`,
      'attribute names are letters, digits and "-", starting with a letter (or a numeric OID)',
    );
  }
  const semicolon = description.indexOf(';');
  const name = semicolon < 0 ? description : description.slice(0, semicolon);
  const marker = logical.charCodeAt(colon + 1);

  if (marker === 0x3a /* ':' */) {
    const encoded = logical.slice(colon + 2).trim();
    if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
      return fail(
        line,
        `the base64 value of "${name}" is not valid base64`,
        'a value after "::" must be base64 (RFC 4648); write plain values after a single ":"',
      );
    }
    const bytes = Buffer.from(encoded, 'base64');
    try {
      return { name, value: STRICT_UTF8.decode(bytes) };
    } catch {
      // Binary values (photos, certificates in DER) are fine for attributes zmproxy never reads.
      return { name, value: bytes.toString('utf8'), lossy: true };
    }
  }
  if (marker === 0x3c /* '<' */) {
    return fail(
      line,
      `"${name}:<" (a value read from a URL) is not supported`,
      'put the value inline; `ldapsearch -LLL` and `slapcat` print it as "attr:: <base64>"',
    );
  }
  let start = colon + 1;
  while (logical.charCodeAt(start) === 0x20) start++;
  return { name, value: logical.slice(start) };
}

function missingDnHint(found: string): string {
  if (found === 'search' || found === 'result') {
    return 'this looks like the trailer `ldapsearch` prints without -LLL; run `ldapsearch -LLL`';
  }
  return 'start every record with "dn: <distinguished name>" and separate records by a blank line';
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
