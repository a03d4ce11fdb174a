/**
 * Which kind of Zimbra object an entry is, decided by its objectClass values (never by DN shape,
 * so a directory with an unusual suffix or layout works the same).
 */
import type { AttributeMap, DirectoryEntry, EntryKind, EntryOrigin } from './snapshot.js';

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

/** Turns raw entries (LDIF records, LDAP search results) into directory entries, dropping the rest. */
export function classifyEntries(parsed: readonly RawEntry[]): DirectoryEntry[] {
  const entries: DirectoryEntry[] = [];
  for (const record of parsed) {
    const kind = classifyObjectClasses(record.attrs['objectClass'] ?? []);
    if (kind !== undefined) {
      entries.push({ dn: record.dn, kind, attrs: record.attrs, origin: record.origin });
    }
  }
  return entries;
}
