/**
 * The directory as plain data: what LDAP holds, no inheritance applied. Every source (LDIF, LDAP)
 * produces the same snapshot for the same directory.
 */
import { ATTRIBUTE_CATALOG } from './attribute-catalog.js';

/** Attribute name (catalog spelling when known) to its values, in directory order. */
export type AttributeMap = Readonly<Record<string, readonly string[]>>;

/** The object kinds zmproxy classifies entries into, by objectClass. */
export const ENTRY_KINDS = ['globalConfig', 'server', 'domain', 'account', 'alias', 'cos'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/**
 * The kinds the configuration needs: the generator and the doctor read the global config, the
 * servers and the domains, never the accounts (a site may have millions of them).
 */
export const PROXY_CONFIG_KINDS: readonly EntryKind[] = ['globalConfig', 'server', 'domain'];

/**
 * The attributes a generation (and the doctor) reads: every attribute of the catalog (the one list of what zmproxy
 * reads, src/model/attribute-catalog.ts) and the structural ones entries are named and classified
 * by. The directory source loads nothing else (a global config holds hundreds more).
 */
export const PROXY_CONFIG_ATTRIBUTES: readonly string[] = [
  'objectClass',
  'cn',
  'uid',
  'dc',
  ...ATTRIBUTE_CATALOG.map((spec) => spec.name),
];

/** Where an entry came from, for error messages. */
export interface EntryOrigin {
  file: string;
  line: number;
}

/** One directory entry. */
export interface DirectoryEntry {
  dn: string;
  kind: EntryKind;
  attrs: AttributeMap;
  origin?: EntryOrigin | undefined;
}

/** Everything the generator and the lookup service read from the directory. */
export interface DirectorySnapshot {
  /** The `zimbraGlobalConfig` entry; an empty entry when the directory has none. */
  globalConfig: DirectoryEntry;
  /** `zimbraServer` entries, sorted by name (cn), as Zimbra's server searches return them. */
  servers: readonly DirectoryEntry[];
  /** `zimbraDomain` entries, sorted by domain name (a conscious fix: Zimbra uses LDAP order). */
  domains: readonly DirectoryEntry[];
  accounts: readonly DirectoryEntry[];
  aliases: readonly DirectoryEntry[];
  cos: readonly DirectoryEntry[];
}

/** The values of an attribute on an entry, or undefined when the entry has none. */
export function valuesOf(entry: DirectoryEntry, name: string): readonly string[] | undefined {
  const values = entry.attrs[name];
  return values !== undefined && values.length > 0 ? values : undefined;
}

/** The first value of an attribute, or undefined. */
export function firstValueOf(entry: DirectoryEntry, name: string): string | undefined {
  return valuesOf(entry, name)?.[0];
}

/** The display name of an entry: cn of a server, zimbraDomainName of a domain, and so on. */
export function entryName(entry: DirectoryEntry): string {
  switch (entry.kind) {
    case 'globalConfig':
      return 'global config';
    case 'server':
      return firstValueOf(entry, 'cn') ?? rdnValue(entry.dn);
    case 'domain':
      return firstValueOf(entry, 'zimbraDomainName') ?? rdnValue(entry.dn);
    case 'account':
    case 'alias':
      return (
        firstValueOf(entry, 'zimbraMailDeliveryAddress') ??
        firstValueOf(entry, 'uid') ??
        rdnValue(entry.dn)
      );
    case 'cos':
      return firstValueOf(entry, 'cn') ?? rdnValue(entry.dn);
  }
}

/** How an entry is named in problems: `server mail1.example.com`, `global config`, … */
export function entryLabel(entry: DirectoryEntry): string {
  return entry.kind === 'globalConfig' ? 'global config' : `${entry.kind} ${entryName(entry)}`;
}

function rdnValue(dn: string): string {
  const first = dn.split(',')[0] ?? dn;
  const eq = first.indexOf('=');
  return eq >= 0 ? first.slice(eq + 1) : first;
}

/** An empty global config entry, used when the directory has none. */
export const EMPTY_GLOBAL_CONFIG: DirectoryEntry = Object.freeze({
  dn: 'cn=config,cn=zimbra',
  kind: 'globalConfig',
  attrs: Object.freeze({}),
});
