/**
 * What the lookup core needs from the outside world (hono's pattern: the core takes its adapters
 * as interfaces). Adapters live in `lookup/adapters/` and `sources/memcached/`.
 */
import type { AttributeMap } from '../model/snapshot.js';

/** One entry a directory search found. */
export interface DirectoryRecord {
  dn: string;
  /** Attribute values under the names the search asked for (as the directory spells them). */
  attrs: AttributeMap;
}

/** One LDAP search: Zimbra's lookup queries are subtree searches with a filter and a base. */
export interface DirectoryQuery {
  /** Search base; "" is the root (Zimbra's default for every lookup search base). */
  base: string;
  filter: string;
  attributes: readonly string[];
  /** At most this many entries. @default unlimited */
  sizeLimit?: number;
  /** `base` searches read exactly the base entry (the global config). @default 'sub' */
  scope?: 'base' | 'sub';
}

/**
 * The directory as the lookup service reads it. Every method rejects when the directory cannot
 * be reached; the core turns that into a temporary failure.
 */
export interface LookupDirectory {
  search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]>;
  /**
   * Checks a password with a simple bind as `dn`: true when the directory accepts it, false when
   * it refuses the credentials; rejects when the directory cannot be reached.
   */
  verifyPassword(dn: string, password: string): Promise<boolean>;
}

/** A directory other than Zimbra's, named by the domain (zimbraAuthLdapURL), for password checks. */
export interface ExternalDirectory {
  /** LDAP URLs, tried in order until one answers. */
  urls: readonly string[];
  /** StartTLS on ldap:// URLs (zimbraAuthLdapStartTlsEnabled). */
  startTls: boolean;
}

/**
 * Password checks against a domain's external directory (zimbraAuthMech ldap/ad). Every method
 * rejects when no URL of the directory can be reached.
 */
export interface ExternalDirectoryAuth {
  /** A simple bind as `dn`: true when accepted, false when the credentials are refused. */
  bind(directory: ExternalDirectory, dn: string, password: string): Promise<boolean>;
  /**
   * The DNs a subtree search finds (at most two: more than one is an ambiguous login), bound as
   * `bindDn` (anonymous when undefined).
   */
  findDns(
    directory: ExternalDirectory,
    search: {
      base: string;
      filter: string;
      bindDn?: string | undefined;
      bindPassword?: string | undefined;
    },
  ): Promise<readonly string[]>;
}

/** The route and throttle cache (memcached). Every method rejects when no server answers. */
export interface LookupCache {
  get(key: string): Promise<string | undefined>;
  /** Stores when the key is absent; true when stored. */
  add(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Adds 1 to a counter, creating it with 1 and the TTL when absent (a fixed window from the
   * first hit); returns the new value.
   */
  increment(key: string, ttlSeconds: number): Promise<number>;
}

/** Host name to IP address (Auth-Server must be an IP). Rejects when the name cannot be resolved. */
export interface AddressResolver {
  resolve(host: string): Promise<string>;
}

/** Milliseconds since the epoch; injected so that the core never reads the system clock. */
export interface Clock {
  now(): number;
}
