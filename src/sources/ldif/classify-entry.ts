/**
 * Which kind of Zimbra object an entry is, decided by its objectClass values (never by DN shape,
 * so a directory with an unusual suffix or layout works the same).
 */
import type { DirectoryEntry, EntryKind } from '../../model/snapshot.js';
import type { ParsedLdifEntry } from './parse-ldif.js';

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

/** Turns parsed LDIF records into directory entries, dropping records of no interest. */
export function classifyLdifEntries(parsed: readonly ParsedLdifEntry[]): DirectoryEntry[] {
  const entries: DirectoryEntry[] = [];
  for (const record of parsed) {
    const kind = classifyObjectClasses(record.attrs['objectClass'] ?? []);
    if (kind !== undefined) {
      entries.push({ dn: record.dn, kind, attrs: record.attrs, origin: record.origin });
    }
  }
  return entries;
}
