/** The shape of a ProxyConfGen variable and what computing one may use. */
import type { Problem, Warning } from '../errors.js';
import type { DnsTable, IpMode } from '../model/dns.js';
import type { ResolvedPaths } from '../model/paths.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import type { EntryReader, Readers } from '../resolve/attribute-reader.js';
import type { LocalConfigReader } from '../resolve/localconfig-reader.js';
import type { ServerLists } from './server-lists.js';

/**
 * How a variable's value is formatted (docs/zimbra-notes.md "Where values come from and how they
 * are printed").
 */
export type VarValueType =
  'integer' | 'long' | 'string' | 'boolean' | 'enabler' | 'time' | 'time-seconds' | 'custom';

/**
 * Where a variable's value comes from (the override type of docs/zimbra-notes.md "Where values
 * come from and how they are printed").
 */
export type VarSource = 'none' | 'config' | 'server' | 'localconfig' | 'custom';

/** The area a variable belongs to; one module per area. */
export type VarArea =
  | 'core'
  | 'memcache'
  | 'lookup'
  | 'mail'
  | 'web'
  | 'ssl'
  | 'admin'
  | 'sso'
  | 'throttle'
  | 'timeouts'
  | 'xmpp'
  | 'docs'
  | 'stock';

/** One variable: metadata for `-d`/`-D` and docs, plus how to compute its config text. */
export interface VariableDefinition {
  /** The name used in templates as `${name}`. */
  readonly name: string;
  readonly area: VarArea;
  readonly description: string;
  /** The controlling attribute or localconfig key, when there is one. */
  readonly attribute?: string | undefined;
  readonly type: VarValueType;
  readonly source: VarSource;
  /** The code default as shown by `-d` (already formatted). */
  readonly defaultText: string;
  /** True for the variables Zimbra defines but none of its templates use. */
  readonly unused?: boolean | undefined;
  /**
   * True for a password or shared key: `-D`, `--diff` and `--json` never print its value, and a
   * file holding it is written like a private key (mode 0600; docs/security.md).
   */
  readonly secret?: boolean | undefined;
  /** Computes the formatted config text. Pure: reads only the context. */
  readonly compute: (ctx: VarContext) => string;
}

/** Facts about the generating host, gathered at the edge. */
export interface HostFacts {
  /** True when `<workdir>/conf/dhparam.pem` exists. */
  dhparamExists: boolean;
}

/** Everything a variable may read. Built once per generation. */
export interface VarContext {
  readonly snapshot: DirectorySnapshot;
  /** The server the configuration is generated for (`-s`, else localconfig zimbra_server_hostname). */
  readonly serverSource: DirectoryEntry;
  /** Reads of serverSource, falling back to the global config for serverInherited attributes. */
  readonly server: EntryReader;
  /** Reads of the global config entry alone (CONFIG variables). */
  readonly config: EntryReader;
  readonly readers: Readers;
  readonly lc: LocalConfigReader;
  readonly paths: ResolvedPaths;
  readonly ipMode: IpMode;
  readonly dns: DnsTable;
  readonly servers: ServerLists;
  readonly facts: HostFacts;
  readonly problem: (problem: Problem) => void;
  readonly warn: (warning: Warning) => void;
}
