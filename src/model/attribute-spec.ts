/**
 * The shape of one attribute catalog entry (zimbra-attrs.xml facts, see docs/zimbra-notes.md
 * "Attributes and inheritance").
 */

/** Attribute value types as zimbra-attrs.xml declares them. */
export type AttributeType =
  | 'port'
  | 'integer'
  | 'long'
  | 'duration'
  | 'boolean'
  | 'string'
  | 'astring'
  | 'enum'
  | 'email'
  | 'id';

/** Object classes an attribute may appear in, as far as zmproxy cares. */
export type AttributeScope =
  | 'globalConfig'
  | 'server'
  | 'domain'
  | 'account'
  | 'alias'
  | 'cos'
  | 'alwaysOnCluster'
  | 'mailRecipient'
  | 'group'
  | 'other';

/**
 * Which component reads the attribute: PCG ProxyConfGen (zmproxyconfgen), NLE the route lookup,
 * ZPC zmproxyconfig, CFGD zmconfigd, PROV zmprov's proxy lists (garpu, gamau, …).
 */
export type AttributeConsumer = 'PCG' | 'NLE' | 'ZPC' | 'CFGD' | 'PROV';

/** One attribute of the catalog. */
export interface AttributeSpec {
  /** Attribute name, exactly as Zimbra spells it. */
  readonly name: string;
  /** The OID suffix under Zimbra's attribute arc (1.3.6.1.4.1.19348.2.1.<id>). */
  readonly id: number;
  readonly type: AttributeType;
  readonly cardinality: 'single' | 'multi';
  readonly optionalIn: readonly AttributeScope[];
  /** A server without a value reads the global config's value. */
  readonly serverInherited: boolean;
  /** A domain without a value reads the global config's value. */
  readonly domainInherited: boolean;
  /** What Zimbra's installer writes into the global config (not a code default). */
  readonly globalConfigValue?: readonly string[];
  /**
   * ProxyConfGen's default when no entry has a value, as directory text (`TRUE`, `80`, one
   * element per value of a multi-valued attribute). The one home of that default: readers called
   * without a default of their own use it (src/resolve/attribute-reader.ts).
   */
  readonly codeDefault?: readonly string[];
  /** Allowed values of an enum. */
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  readonly immutable?: boolean;
  readonly deprecatedSince?: string;
  readonly since?: string;
  /** Services to restart after a change (zimbra-attrs.xml `requiresRestart`). */
  readonly requiresRestart?: readonly string[];
  readonly usedBy: readonly AttributeConsumer[];
  /** One-line description: the single source for help, doctor output and docs. */
  readonly doc: string;
}
