/**
 * Which kind of Zimbra object an entry is, decided by its objectClass values (never by DN shape,
 * so a directory with an unusual suffix or layout works the same).
 */
import type { AttributeMap, DirectoryEntry, EntryKind, EntryOrigin } from './snapshot.js';
import { ENTRY_KINDS } from './snapshot.js';

/** An entry as a source reads it, before classification. */
export interface RawEntry {
  dn: string;
  attrs: AttributeMap;
  origin?: EntryOrigin | undefined;
}

/** Object classes (lower case) to kinds, in the order they are tested. */
const KIND_BY_OBJECT_CLASS: readonly (readonly [string, EntryKind])[] = [
  ['zimbraglobalconfig', 'globalConfig'],
  ['zimbraserver', 'server'],
  ['zimbradomain', 'domain'],
  ['zimbraaccount', 'account'],
  ['zimbracalendarresource', 'account'],
  ['zimbraalias', 'alias'],
  ['zimbracos', 'cos'],
];

/** The kind of an entry with these objectClass values, or undefined when zmproxy ignores it. */
export function classifyObjectClasses(objectClasses: readonly string[]): EntryKind | undefined {
  const present = new Set(objectClasses.map((value) => value.trim().toLowerCase()));
  for (const [objectClass, kind] of KIND_BY_OBJECT_CLASS) {
    if (present.has(objectClass)) return kind;
  }
  return undefined;
}

/**
 * Turns raw entries (LDIF records, LDAP search results) into directory entries, dropping the rest
 * and, when `kinds` is given, every entry of another kind.
 */
export function classifyEntries(
  parsed: readonly RawEntry[],
  kinds: readonly EntryKind[] = ENTRY_KINDS,
): DirectoryEntry[] {
  const wanted = new Set(kinds);
  const entries: DirectoryEntry[] = [];
  for (const record of parsed) {
    const kind = classifyObjectClasses(record.attrs['objectClass'] ?? []);
    if (kind !== undefined && wanted.has(kind)) {
      entries.push({ dn: record.dn, kind, attrs: record.attrs, origin: record.origin });
    }
  }
  return entries;
}

/** An LDAP filter matching the entries of these kinds (and nothing else zmproxy would classify). */
export function objectClassFilter(kinds: readonly EntryKind[] = ENTRY_KINDS): string {
  const wanted = new Set(kinds);
  const classes = KIND_BY_OBJECT_CLASS.filter(([, kind]) => wanted.has(kind)).map(
    ([objectClass]) => `(objectClass=${OBJECT_CLASS_SPELLING[objectClass] ?? objectClass})`,
  );
  return classes.length === 1 ? classes[0]! : `(|${classes.join('')})`;
}

// The object classes as Zimbra's schema spells them (LDAP compares them without case anyway).
const OBJECT_CLASS_SPELLING: Readonly<Record<string, string>> = {
  zimbraglobalconfig: 'zimbraGlobalConfig',
  zimbraserver: 'zimbraServer',
  zimbradomain: 'zimbraDomain',
  zimbraaccount: 'zimbraAccount',
  zimbracalendarresource: 'zimbraCalendarResource',
  zimbraalias: 'zimbraAlias',
  zimbracos: 'zimbraCOS',
};
