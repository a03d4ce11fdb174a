/** The interfaces the core needs from the outside world; adapters implement them. */
import type { DnsTable } from './model/dns.js';
import type { DirectorySnapshot } from './model/snapshot.js';
import type { TemplateSource } from './render/types.js';

/** Where the directory comes from (LDIF files, LDAP). */
export interface DirectorySource {
  /** A short description for messages, e.g. `ldif:fixtures/example/directory.ldif`. */
  readonly description: string;
  load(): Promise<DirectorySnapshot>;
}

/** Reads the templates of a directory. */
export interface TemplateStore {
  /** Every `<prefix>.template`, `<prefix>.*.template` and `….template.hbs` file of the directory. */
  readTemplates(dir: string, templatePrefix: string): Promise<TemplateSource[]>;
}

/** Reads and writes generated files. */
export interface FileStore {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Every file's text (undefined where it does not exist). */
  readMany(paths: readonly string[]): Promise<Map<string, string | undefined>>;
  /** Writes atomically (temp file in the same directory, then rename), with the mode set first. */
  write(path: string, content: string, mode: number): Promise<void>;
  /** Writes many files, each atomically, syncing each directory once at the end. */
  writeMany(files: readonly { path: string; content: string; mode: number }[]): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** Resolves host names to addresses. */
export interface HostResolver {
  resolve(names: readonly string[]): Promise<DnsTable>;
}

/** One change to one attribute of an entry (LDAP modify semantics). */
export interface AttributeChange {
  /**
   * `replace`: the attribute gets exactly `values` (none: it is removed); `add`: `values` are
   * added (zmprov `+attr`); `delete`: `values` are removed (zmprov `-attr`), or the whole
   * attribute when `values` is empty.
   */
  operation: 'replace' | 'add' | 'delete';
  attribute: string;
  values: readonly string[];
}

/** The changes to one entry, applied together. */
export interface EntryModification {
  dn: string;
  changes: readonly AttributeChange[];
}

/** A directory that can be changed too (zmprov, zmproxyconfig): LDAP, or an LDIF file. */
export interface DirectoryStore extends DirectorySource {
  /** Applies every modification, or none of them when one is refused. */
  modify(modifications: readonly EntryModification[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}
