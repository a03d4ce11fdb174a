/**
 * Pure planning of an LDIF file edit: the file's text and LDAP-style modifications in, the new
 * text out. Only the attribute lines a modification changes are rewritten; every other line
 * (other entries, their order, comments, folding, blank lines, line ends) stays byte for byte.
 *
 * Semantics follow LDAP modify (RFC 4511), so the file behaves as slapd would: `add` of a value
 * already present and `delete` of a value (or attribute) not present are refused, and one refused
 * change refuses the whole call.
 */
import { ProxyConfError } from '../../errors.js';
import type { AttributeChange, EntryModification } from '../../ports.js';
import { parseLdif } from '../ldif/parse-ldif.js';
import { formatLdifAttribute } from './format-ldif-line.js';

/** Attribute names we write: letters, digits and `-`, starting with a letter (no options). */
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;

/** One attribute line of a record (a logical line, possibly folded over several physical ones). */
interface AttrItem {
  kind: 'attr';
  /** Lower-case attribute name without options. */
  lower: string;
  /** The name as written (without options). */
  name: string;
  value: string;
  /** The original physical lines with their line ends; undefined for a line we add. */
  raw: string | undefined;
}

/** Lines of a record that are not attribute lines: the dn line, comments. */
interface RawItem {
  kind: 'raw';
  raw: string;
}

type Item = AttrItem | RawItem;

/** A record of the file: its DN and its lines as items. */
interface LdifRecord {
  dn: string;
  items: Item[];
}

/** The file as a sequence of records and the raw text between them (blank lines, comments). */
type Chunk = { kind: 'text'; raw: string } | { kind: 'record'; record: LdifRecord };

/**
 * Applies `modifications` to the LDIF text. Throws E_LDIF (nothing is applied) when a DN is not
 * in the file or is there twice, an attribute name is malformed, or a change contradicts the
 * current values.
 */
export function planLdifEdit(
  text: string,
  file: string,
  modifications: readonly EntryModification[],
): string {
  // The strict parser first: a malformed file is reported with its own file:line messages.
  parseLdif(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const missingFinalEol = text !== '' && !text.endsWith('\n');
  const chunks = scanChunks(missingFinalEol ? text + eol : text);

  const byDn = new Map<string, LdifRecord[]>();
  for (const chunk of chunks) {
    if (chunk.kind !== 'record') continue;
    const key = normalizeDn(chunk.record.dn);
    byDn.set(key, [...(byDn.get(key) ?? []), chunk.record]);
  }

  const touched = new Set<LdifRecord>();
  for (const modification of modifications) {
    const found = byDn.get(normalizeDn(modification.dn)) ?? [];
    if (found.length === 0) {
      throw new ProxyConfError('E_LDIF', `${file}: no entry "${modification.dn}" in the file`, {
        hint: 'check the server or domain name; the file was not changed',
      });
    }
    if (found.length > 1) {
      throw new ProxyConfError(
        'E_LDIF',
        `${file}: the entry "${modification.dn}" appears ${found.length} times`,
        { hint: 'keep one record per DN in the file; the file was not changed' },
      );
    }
    const record = found[0] as LdifRecord;
    for (const change of modification.changes) applyChange(record, change, file);
    touched.add(record);
  }
  if (touched.size === 0) return text;

  let out = chunks
    .map((chunk) => (chunk.kind === 'text' ? chunk.raw : renderRecord(chunk.record, eol)))
    .join('');
  if (missingFinalEol && out.endsWith(eol)) out = out.slice(0, -eol.length);
  // What we write must read back: a last check that no change produced invalid LDIF.
  parseLdif(out, file);
  return out;
}

/** DNs compare without regard to case or blanks around `,` and `=`. */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*([,=+])\s*/g, '$1')
    .toLowerCase();
}

function applyChange(record: LdifRecord, change: AttributeChange, file: string): void {
  if (!ATTRIBUTE_NAME.test(change.attribute)) {
    throw new ProxyConfError(
      'E_LDIF',
      `${file}: "${change.attribute}" is not a valid attribute name`,
      { hint: 'attribute names are letters, digits and "-"; the file was not changed' },
    );
  }
  const lower = change.attribute.toLowerCase();
  const existing = record.items.filter(
    (item): item is AttrItem => item.kind === 'attr' && item.lower === lower,
  );
  const current = existing.map((item) => item.value);
  const refuse = (message: string): never => {
    throw new ProxyConfError('E_LDIF', `${file}: ${record.dn}: ${change.attribute} ${message}`, {
      hint: 'read the entry again (zmprov gs/gd/gcf) and retry; the file was not changed',
    });
  };
  const unique = [...new Set(change.values)];
  if (unique.length !== change.values.length) refuse('is given the same value twice');
  const name = existing[0]?.name ?? change.attribute;

  switch (change.operation) {
    case 'add': {
      const present = unique.find((value) => current.includes(value));
      if (present !== undefined) refuse(`already has the value "${present}"`);
      record.items.splice(lastIndexOf(record, existing) + 1, 0, ...newItems(name, lower, unique));
      return;
    }
    case 'delete': {
      if (unique.length === 0) {
        if (existing.length === 0) refuse('has no value to delete');
        removeItems(record, existing);
        return;
      }
      const missing = unique.find((value) => !current.includes(value));
      if (missing !== undefined) refuse(`has no value "${missing}" to delete`);
      removeItems(
        record,
        existing.filter((item) => unique.includes(item.value)),
      );
      return;
    }
    case 'replace': {
      // Keep the lines whose value stays (first occurrence), drop the rest, and write the new
      // values where the first dropped line was, so a changed single value keeps its place.
      const keep = new Set<AttrItem>();
      for (const value of unique) {
        const item = existing.find(
          (candidate) => candidate.value === value && !keep.has(candidate),
        );
        if (item !== undefined) keep.add(item);
      }
      const dropped = existing.filter((item) => !keep.has(item));
      const added = newItems(
        name,
        lower,
        unique.filter((value) => !current.includes(value)),
      );
      const firstDropped = dropped[0];
      if (firstDropped !== undefined) {
        record.items.splice(record.items.indexOf(firstDropped), 0, ...added);
        removeItems(record, dropped);
      } else {
        record.items.splice(lastIndexOf(record, existing) + 1, 0, ...added);
      }
      return;
    }
  }
}

/** Index after which new values of an attribute go: its last line, else the record's last attribute line. */
function lastIndexOf(record: LdifRecord, existing: readonly AttrItem[]): number {
  const last = existing.at(-1);
  if (last !== undefined) return record.items.indexOf(last);
  for (let i = record.items.length - 1; i >= 0; i--) {
    if (record.items[i]?.kind === 'attr') return i;
  }
  return 0;
}

function newItems(name: string, lower: string, values: readonly string[]): AttrItem[] {
  return values.map((value) => ({ kind: 'attr', lower, name, value, raw: undefined }));
}

function removeItems(record: LdifRecord, items: readonly AttrItem[]): void {
  const drop = new Set<Item>(items);
  record.items = record.items.filter((item) => !drop.has(item));
}

function renderRecord(record: LdifRecord, eol: string): string {
  return record.items
    .map((item) => {
      if (item.raw !== undefined) return item.raw;
      // Only attribute items lack their original text: they are the ones we add.
      const attr = item as AttrItem;
      return formatLdifAttribute(attr.name, attr.value)
        .map((line) => line + eol)
        .join('');
    })
    .join('');
}

/**
 * Splits the text into records and the text between them. Mirrors parseLdif's reading (a blank
 * line ends a record, `#` starts a comment, a leading space continues the previous line), keeping
 * every physical line with its line end. The text must already have passed parseLdif.
 */
function scanChunks(text: string): Chunk[] {
  const lines = text.split(/(?<=\n)/);
  const chunks: Chunk[] = [];
  let between = '';
  let record: LdifRecord | undefined;
  // The logical line being assembled: its physical lines and their contents.
  let pending: { raws: string[]; contents: string[]; comment: boolean } | undefined;

  const flushLine = (): void => {
    if (pending === undefined) return;
    const raw = pending.raws.join('');
    const logical = pending.contents.join('');
    const comment = pending.comment;
    pending = undefined;
    if (comment) {
      if (record === undefined) between += raw;
      else record.items.push({ kind: 'raw', raw });
      return;
    }
    const parsed = splitAttrValue(logical);
    if (record === undefined) {
      if (parsed.lower === 'version') {
        between += raw;
        return;
      }
      if (between !== '') chunks.push({ kind: 'text', raw: between });
      between = '';
      record = { dn: parsed.value, items: [{ kind: 'raw', raw }] };
      chunks.push({ kind: 'record', record });
      return;
    }
    record.items.push({
      kind: 'attr',
      lower: parsed.lower,
      name: parsed.name,
      value: parsed.value,
      raw,
    });
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    let content = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (content.endsWith('\r')) content = content.slice(0, -1);
    if (i === 0 && content.startsWith('\uFEFF')) content = content.slice(1);
    if (content.startsWith(' ') && pending !== undefined) {
      pending.raws.push(raw);
      pending.contents.push(content.slice(1));
      continue;
    }
    flushLine();
    if (content === '') {
      record = undefined;
      between += raw;
      continue;
    }
    pending = { raws: [raw], contents: [content], comment: content.startsWith('#') };
  }
  flushLine();
  if (between !== '') chunks.push({ kind: 'text', raw: between });
  return chunks;
}

/** `name[;options]: value` / `name:: base64` → lower-case name, name as written, decoded value. */
function splitAttrValue(logical: string): { lower: string; name: string; value: string } {
  const colon = logical.indexOf(':');
  const description = logical.slice(0, colon);
  const semicolon = description.indexOf(';');
  const name = semicolon < 0 ? description : description.slice(0, semicolon);
  if (logical.charCodeAt(colon + 1) === 0x3a) {
    const encoded = logical.slice(colon + 2).trim();
    return {
      lower: name.toLowerCase(),
      name,
      value: Buffer.from(encoded, 'base64').toString('utf8'),
    };
  }
  let start = colon + 1;
  while (logical.charCodeAt(start) === 0x20) start++;
  return { lower: name.toLowerCase(), name, value: logical.slice(start) };
}
