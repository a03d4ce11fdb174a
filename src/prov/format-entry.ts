/**
 * zmprov's get output (gcf, gs, gd): `attr: value` lines sorted by attribute name (Java's
 * TreeMap order: by UTF-16 code unit, so `zimbraIPMode` sorts before `zimbraId`), one line per
 * value; gs and gd start with `# name <name>` and end with a blank line.
 */
import type { Problem } from '../errors.js';
import { ATTRIBUTE_CATALOG, findAttribute } from '../model/attribute-catalog.js';
import type { AttributeMap, DirectoryEntry } from '../model/snapshot.js';
import { entryLabel, valuesOf } from '../model/snapshot.js';
import { unknownAttributeHint } from './attribute-edits.js';

/**
 * The attributes zmprov shows for an entry: its own, plus for a server the global config values
 * of serverInherited attributes it lacks, and for a domain those of domainInherited ones (what
 * Zimbra's `getAttrs(true)` returns). Only catalog attributes are known to inherit.
 */
export function effectiveAttributes(
  entry: DirectoryEntry,
  globalConfig: DirectoryEntry,
): AttributeMap {
  const attrs: Record<string, readonly string[]> = { ...entry.attrs };
  if (entry.kind !== 'server' && entry.kind !== 'domain') return attrs;
  for (const spec of ATTRIBUTE_CATALOG) {
    const inherits = entry.kind === 'server' ? spec.serverInherited : spec.domainInherited;
    if (!inherits || valuesOf(entry, spec.name) !== undefined) continue;
    const inherited = valuesOf(globalConfig, spec.name);
    if (inherited !== undefined) attrs[spec.name] = inherited;
  }
  return attrs;
}

/** The selected attributes, sorted; `requested` empty means all. */
export type SelectedAttributes = { name: string; values: readonly string[] }[];

/**
 * Picks the requested attributes (case-insensitive) from `attrs`, sorted by name. A requested
 * name that is neither in the catalog nor on the entry is reported: it is most likely a typo.
 */
export function selectAttributes(
  entry: DirectoryEntry,
  attrs: AttributeMap,
  requested: readonly string[],
): { selected: SelectedAttributes; problems: Problem[] } {
  const problems: Problem[] = [];
  const present = new Map(Object.keys(attrs).map((name) => [name.toLowerCase(), name]));
  const wanted = new Set<string>();
  for (const name of requested) {
    const lower = name.toLowerCase();
    if (!present.has(lower) && findAttribute(name) === undefined && !BASIC.has(lower)) {
      problems.push({
        subject: name,
        entry: entryLabel(entry),
        message: 'unknown attribute',
        hint: unknownAttributeHint(name),
      });
    }
    wanted.add(lower);
  }
  const selected = Object.keys(attrs)
    .filter((name) => wanted.size === 0 || wanted.has(name.toLowerCase()))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => ({ name, values: attrs[name] ?? [] }))
    .filter((attr) => attr.values.length > 0);
  return { selected, problems };
}

/** Attributes every entry may carry that the catalog does not list. */
const BASIC = new Set(['objectclass', 'cn', 'dn', 'uid', 'description', 'dc', 'o']);

/** The text zmprov prints: optional `# name` header, `attr: value` lines, blank line after a header. */
export function formatAttributes(header: string | undefined, selected: SelectedAttributes): string {
  const lines: string[] = [];
  if (header !== undefined) lines.push(`# name ${header}`);
  for (const attr of selected)
    for (const value of attr.values) lines.push(`${attr.name}: ${value}`);
  if (header !== undefined) lines.push('');
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
