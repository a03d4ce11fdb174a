/**
 * Reading attributes with Zimbra's inheritance rules (docs/zimbra-notes.md "Attributes and
 * inheritance"). Precedence, highest first:
 *
 *   1. `-c name=value` overrides (applied later, to formatted variables, not here)
 *   2. the entry's own value (a server, a domain)
 *   3. the global config value, for a serverInherited attribute read on a server or a
 *      domainInherited attribute read on a domain
 *   4. the code default given by the caller (ProxyConfGen's, which can differ from Zimbra's
 *      install-time globalConfigValue, docs/zimbra-notes.md "Code defaults that differ from LDAP
 * defaults")
 *
 * Multi-valued attributes replace, never merge. Every value is parsed by type; a value that does
 * not parse is reported as a Problem naming the entry it came from, and the code default is used
 * so that one run reports every problem at once.
 */
import { attribute } from '../model/attribute-catalog.js';
import type { AttributeSpec } from '../model/attribute-spec.js';
import { validateAttributeValue } from '../model/attribute-values.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryLabel, valuesOf } from '../model/snapshot.js';
import type { Parsed } from '../model/value-types.js';
import {
  controlCharacterReason,
  parseAbsolutePath,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseHostname,
  parseInteger,
  parseMemory,
  parsePort,
  unsafeTokenReason,
} from '../model/value-types.js';
import type { Problem, Warning } from '../errors.js';
import { ProxyConfError } from '../errors.js';

/** Where problems and warnings go while reading. */
export interface ProblemSink {
  readonly problem: (problem: Problem) => void;
  readonly warn: (warning: Warning) => void;
}

/** Values found for an attribute, and the entry that held them (itself or the global config). */
export interface FoundValues {
  values: readonly string[];
  from: DirectoryEntry;
}

/** Typed reads of one entry's attributes, with inheritance applied. */
export interface EntryReader {
  readonly entry: DirectoryEntry;
  /** The values with inheritance applied, or undefined. */
  find(name: string): FoundValues | undefined;
  /** The values with inheritance applied; an empty list when there are none. */
  list(name: string): readonly string[];
  /** The values with inheritance applied, else the catalog's code default (else an empty list). */
  listOrDefault(name: string): readonly string[];
  /** True when the attribute has a value here or inherited. */
  has(name: string): boolean;
  /** Text that may be placed inside a quoted nginx string (no line breaks or control characters). */
  text(name: string, codeDefault?: string): string;
  /** Text that stands as one bare nginx token (no `;`, braces, quotes or white space). */
  token(name: string, codeDefault?: string): string;
  integer(name: string, codeDefault?: number): number;
  port(name: string, codeDefault?: number): number;
  /** TRUE only when the value is exactly `TRUE`. */
  boolean(name: string, codeDefault?: boolean): boolean;
  /** A duration in milliseconds; a bare number is seconds. */
  duration(name: string, codeDefaultMs?: number): number;
  /** A byte count, memory units allowed. */
  memory(name: string, codeDefaultBytes?: number): number;
  /** One of the catalog's enum values (matched case-insensitively, returned as the catalog spells it). */
  enumValue(name: string, codeDefault?: string): string;
  hostname(name: string, codeDefault?: string): string;
  path(name: string, codeDefault?: string): string;
  /** Reports a problem with a value of this entry (for checks a caller does itself). */
  report(
    name: string,
    found: FoundValues | undefined,
    value: string,
    message: string,
    hint?: string,
  ): void;
}

/** How an entry falls back to the global config. */
export type Inheritance = 'none' | 'server' | 'domain';

/** Creates readers over one snapshot that report into one sink. */
export function createReaders(snapshot: DirectorySnapshot, sink: ProblemSink) {
  const cache = new Map<DirectoryEntry, EntryReader>();
  const readerFor = (entry: DirectoryEntry): EntryReader => {
    let reader = cache.get(entry);
    if (reader === undefined) {
      const inheritance: Inheritance =
        entry.kind === 'server' ? 'server' : entry.kind === 'domain' ? 'domain' : 'none';
      reader = createEntryReader(entry, snapshot.globalConfig, inheritance, sink);
      cache.set(entry, reader);
    }
    return reader;
  };
  return {
    /** Reads of the global config entry alone (ProxyConfGen's CONFIG source). */
    config: readerFor(snapshot.globalConfig),
    /** Reads of a server, domain or other entry, with that kind's inheritance. */
    readerFor,
  };
}

/** The readers {@link createReaders} returns. */
export type Readers = ReturnType<typeof createReaders>;

/** A reader over one entry that falls back to the global config as `inheritance` says. */
export function createEntryReader(
  entry: DirectoryEntry,
  globalConfig: DirectoryEntry,
  inheritance: Inheritance,
  sink: ProblemSink,
): EntryReader {
  const inherits = (spec: AttributeSpec): boolean =>
    (inheritance === 'server' && spec.serverInherited) ||
    (inheritance === 'domain' && spec.domainInherited);

  const lookup = (spec: AttributeSpec): FoundValues | undefined => {
    const own = valuesOf(entry, spec.name);
    if (own !== undefined) return { values: own, from: entry };
    if (entry !== globalConfig && inherits(spec)) {
      const inherited = valuesOf(globalConfig, spec.name);
      if (inherited !== undefined) return { values: inherited, from: globalConfig };
    }
    return undefined;
  };

  // Every value read passes the validator zmprov uses (src/model/attribute-values.ts); one
  // that does not is reported and left out, so the run fails with every problem listed.
  const validated = new Map<string, FoundValues | undefined>();
  const find = (name: string): FoundValues | undefined => {
    const spec = attribute(name);
    if (validated.has(spec.name)) return validated.get(spec.name);
    const found = lookup(spec);
    let result = found;
    if (found !== undefined) {
      const values: string[] = [];
      for (const value of found.values) {
        const checked = validateAttributeValue(spec, value);
        if (checked.ok) values.push(value);
        else
          report(
            spec.name,
            found,
            shortValue(value),
            checked.message,
            spec.cardinality === 'multi' ? removeHint(spec.name, found.from, value) : undefined,
          );
      }
      result =
        values.length === found.values.length
          ? found
          : values.length === 0
            ? undefined
            : { values, from: found.from };
    }
    validated.set(spec.name, result);
    return result;
  };

  const report = (
    name: string,
    found: FoundValues | undefined,
    value: string,
    message: string,
    hint?: string,
  ): void => {
    const from = found?.from ?? entry;
    sink.problem({
      subject: attribute(name).name,
      entry: entryLabel(from),
      message,
      value,
      hint: hint ?? fixHint(attribute(name).name, from),
    });
  };

  const read = <T>(
    name: string,
    given: T | undefined,
    parse: (text: string, spec: AttributeSpec) => Parsed<T>,
  ): T => {
    const codeDefault = () => given ?? catalogDefault(attribute(name), parse);
    const found = find(name);
    const text = found?.values[0];
    if (found === undefined || text === undefined) return codeDefault();
    const parsed = parse(text, attribute(name));
    if (parsed.ok) return parsed.value;
    report(name, found, text, parsed.message);
    return codeDefault();
  };

  const checked =
    (reason: (text: string) => string | undefined) =>
    (text: string): Parsed<string> => {
      const why = reason(text);
      return why === undefined ? { ok: true, value: text } : { ok: false, message: why };
    };

  return {
    entry,
    find,
    list: (name) => find(name)?.values ?? [],
    listOrDefault: (name) => find(name)?.values ?? attribute(name).codeDefault ?? [],
    // Set at all, valid or not (an invalid value was reported by find already).
    has: (name) => lookup(attribute(name)) !== undefined,
    text: (name, codeDefault) => read(name, codeDefault, checked(controlCharacterReason)),
    token: (name, codeDefault) => read(name, codeDefault, checked(unsafeTokenReason)),
    integer: (name, codeDefault) =>
      read(name, codeDefault, (text, spec) => parseInteger(text, spec.min, spec.max)),
    port: (name, codeDefault) => read(name, codeDefault, parsePort),
    boolean: (name, codeDefault) => read(name, codeDefault, parseBoolean),
    duration: (name, codeDefault) => read(name, codeDefault, parseDuration),
    memory: (name, codeDefault) => read(name, codeDefault, parseMemory),
    enumValue: (name, codeDefault) =>
      read(name, codeDefault, (text, spec) => parseEnum(text, spec.values ?? [])),
    hostname: (name, codeDefault) => read(name, codeDefault, parseHostname),
    path: (name, codeDefault) => read(name, codeDefault, parseAbsolutePath),
    report,
  };
}

/**
 * The catalog's code default of an attribute, parsed as the reader would parse a directory value.
 * A reader called without a default for an attribute whose catalog entry has none is a
 * programming error, as is a catalog default the attribute's own parser refuses.
 */
function catalogDefault<T>(
  spec: AttributeSpec,
  parse: (text: string, spec: AttributeSpec) => Parsed<T>,
): T {
  const text = spec.codeDefault?.[0];
  if (text === undefined)
    throw new ProxyConfError('E_INTERNAL', `${spec.name} has no code default in the catalog`, {
      hint: 'add codeDefault to its entry in src/model/attribute-catalog.ts, or pass a default',
    });
  const parsed = parse(text, spec);
  if (!parsed.ok)
    throw new ProxyConfError(
      'E_INTERNAL',
      `the catalog's code default of ${spec.name} is invalid: ${parsed.message}`,
    );
  return parsed.value;
}

/** A value short enough to show in a problem (PEM blocks and 70 000-character strings are not). */
function shortValue(value: string): string {
  return value.length > 80 ? `${value.slice(0, 60)}… (${value.length} characters)` : value;
}

/** The zmprov command that removes one value of a multi-valued attribute where it was found. */
function removeHint(attributeName: string, entry: DirectoryEntry, value: string): string {
  const shown = value.length > 80 ? '<value>' : `'${value.replace(/'/g, "'\\''")}'`;
  return fixHint(attributeName, entry).replace(
    `${attributeName} <value>`,
    `-${attributeName} ${shown}`,
  );
}

/** The zmprov command that changes an attribute where it was found. */
export function fixHint(attributeName: string, entry: DirectoryEntry): string {
  const value = '<value>';
  switch (entry.kind) {
    case 'globalConfig':
      return `zmprov mcf ${attributeName} ${value}`;
    case 'server':
      return `zmprov ms ${entryLabel(entry).slice('server '.length)} ${attributeName} ${value}`;
    case 'domain':
      return `zmprov md ${entryLabel(entry).slice('domain '.length)} ${attributeName} ${value}`;
    case 'account':
    case 'alias':
    case 'cos':
      return `correct ${attributeName} on ${entryLabel(entry)}`;
  }
}
