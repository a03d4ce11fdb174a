/**
 * zmprov's `attr value` arguments: parsing (`attr value`, `+attr value`, `-attr value`,
 * `attr ''`), validation against the attribute catalog, and planning the LDAP changes.
 * Validation collects every problem of the command line before anything is written.
 */
import type { Problem } from '../errors.js';
import { ProxyConfError } from '../errors.js';
import { ATTRIBUTE_CATALOG, findAttribute } from '../model/attribute-catalog.js';
import type { AttributeScope, AttributeSpec } from '../model/attribute-spec.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryLabel, valuesOf } from '../model/snapshot.js';
import { validateAttributeValue } from '../model/attribute-values.js';
import type { Parsed } from '../model/value-types.js';
import type { AttributeChange } from '../ports.js';

/** One `attr value` pair of the command line. */
export interface AttributeEdit {
  /** `set`: plain `attr value` (replace); `add`: `+attr`; `remove`: `-attr`. */
  op: 'set' | 'add' | 'remove';
  /** The name as typed, without the `+`/`-`. */
  attribute: string;
  value: string;
}

/**
 * Multi-valued attributes a plain `attr value` must not replace without `-r`, as zmprov's
 * localconfig `zmprov_safeguarded_attrs` default: replacing them by accident drops services.
 */
export const SAFEGUARDED_ATTRIBUTES: readonly string[] = [
  'zimbraServiceEnabled',
  'zimbraServiceInstalled',
];

/** Parses `attr value [attr value…]`; an odd count is a usage error. */
export function parseAttributeEdits(args: readonly string[], command: string): AttributeEdit[] {
  if (args.length === 0 || args.length % 2 !== 0) {
    throw new ProxyConfError(
      'E_USAGE',
      args.length === 0
        ? `${command}: no attribute given`
        : `${command}: attribute "${args.at(-1)}" has no value`,
      {
        hint: `give attribute/value pairs: zmprov ${command} … attr value [+attr value] [-attr value] [attr '']`,
      },
    );
  }
  const edits: AttributeEdit[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i] ?? '';
    const value = args[i + 1] ?? '';
    if (name.startsWith('+')) edits.push({ op: 'add', attribute: name.slice(1), value });
    else if (name.startsWith('-')) edits.push({ op: 'remove', attribute: name.slice(1), value });
    else edits.push({ op: 'set', attribute: name, value });
  }
  return edits;
}

/** Options of {@link planAttributeChanges}. */
export interface PlanAttributeOptions {
  /** zmprov `-r`: allow a plain `attr value` to replace a safeguarded multi-valued attribute. @default false */
  allowSafeguardedReplace?: boolean;
}

/** The outcome of planning: the changes to write, or every problem found. */
export type PlannedChanges =
  { ok: true; changes: AttributeChange[] } | { ok: false; problems: Problem[] };

/**
 * Validates the edits for `entry` and plans the changes. No-op edits are dropped (a value added
 * that is already there, a value removed that is not, a replace by the same values), so LDAP and
 * LDIF stores see the same, always applicable changes.
 */
export function planAttributeChanges(
  entry: DirectoryEntry,
  edits: readonly AttributeEdit[],
  options: PlanAttributeOptions = {},
): PlannedChanges {
  const problems: Problem[] = [];
  const label = entryLabel(entry);
  const problem = (subject: string, message: string, value?: string, hint?: string): void => {
    problems.push({ subject, entry: label, message, value, hint });
  };

  // Edits grouped by attribute (catalog spelling), in first-appearance order.
  const groups = new Map<AttributeSpec, { op: AttributeEdit['op']; value: string }[]>();
  for (const edit of edits) {
    const spec = findAttribute(edit.attribute);
    if (spec === undefined) {
      problem(edit.attribute, 'unknown attribute', undefined, unknownAttributeHint(edit.attribute));
      continue;
    }
    let value = edit.value;
    if (value !== '') {
      const checked = checkAttributeValue(spec, value);
      if (!checked.ok) {
        problem(spec.name, checked.message, value, valueHint(spec));
        continue;
      }
      value = checked.value;
    } else if (edit.op !== 'set') {
      problem(
        spec.name,
        `${edit.op === 'add' ? '+' : '-'}${spec.name} needs a value`,
        '',
        `to clear the attribute write: ${spec.name} ''`,
      );
      continue;
    }
    const group = groups.get(spec) ?? [];
    group.push({ op: edit.op, value });
    groups.set(spec, group);
  }

  const changes: AttributeChange[] = [];
  for (const [spec, group] of groups) {
    const scope = scopeOf(entry);
    if (scope === undefined || !spec.optionalIn.includes(scope)) {
      problem(
        spec.name,
        `cannot be set on a ${entry.kind === 'globalConfig' ? 'global config' : entry.kind} entry (it belongs to: ${spec.optionalIn.join(', ')})`,
        undefined,
        scopeHint(spec),
      );
      continue;
    }
    if (spec.immutable === true) {
      problem(spec.name, 'is immutable and cannot be changed', undefined, 'leave it out');
      continue;
    }
    const sets = group.filter((edit) => edit.op === 'set');
    const adds = group.filter((edit) => edit.op === 'add');
    const removes = group.filter((edit) => edit.op === 'remove');
    if (sets.length > 0 && adds.length + removes.length > 0) {
      problem(
        spec.name,
        'is both replaced (attr value) and changed with +attr/-attr',
        undefined,
        `give either ${spec.name} value… to replace every value, or +${spec.name}/-${spec.name} to add or remove single values`,
      );
      continue;
    }
    const single = spec.cardinality === 'single';
    if (single && adds.length > 0) {
      problem(
        spec.name,
        `is single-valued; +${spec.name} would add a second value`,
        adds[0]?.value,
        `replace the value: ${spec.name} <value>`,
      );
      continue;
    }
    if (sets.length > 0) {
      const values = sets.map((edit) => edit.value).filter((value) => value !== '');
      if (values.length !== sets.length && values.length > 0) {
        problem(
          spec.name,
          "is cleared ('') and given values at once",
          undefined,
          `give either ${spec.name} '' or ${spec.name} <value>`,
        );
        continue;
      }
      if (single && values.length > 1) {
        problem(
          spec.name,
          `is single-valued but was given ${values.length} values`,
          values.join(', '),
          `give ${spec.name} once`,
        );
        continue;
      }
      if (
        values.length > 0 &&
        SAFEGUARDED_ATTRIBUTES.includes(spec.name) &&
        options.allowSafeguardedReplace !== true
      ) {
        problem(
          spec.name,
          'replacing every value of this multi-valued attribute needs -r',
          values.join(', '),
          `add or remove one value with +${spec.name} <value> / -${spec.name} <value>, or give -r to replace them all`,
        );
        continue;
      }
      const current = valuesOf(entry, spec.name) ?? [];
      const next = [...new Set(values)];
      const same = next.length === current.length && next.every((value, i) => value === current[i]);
      if (!same && !(next.length === 0 && current.length === 0)) {
        changes.push({ operation: 'replace', attribute: spec.name, values: next });
      }
      continue;
    }
    const current = valuesOf(entry, spec.name) ?? [];
    const removed = [...new Set(removes.map((edit) => edit.value))].filter((value) =>
      current.includes(value),
    );
    const added = [...new Set(adds.map((edit) => edit.value))].filter(
      (value) => !current.includes(value) || removed.includes(value),
    );
    if (removed.length > 0)
      changes.push({ operation: 'delete', attribute: spec.name, values: removed });
    if (added.length > 0) changes.push({ operation: 'add', attribute: spec.name, values: added });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, changes };
}

/**
 * Checks one value: the same validator the generator applies when it reads the value
 * (src/model/attribute-values.ts). Returns the value to store or what is wrong.
 */
export function checkAttributeValue(spec: AttributeSpec, value: string): Parsed<string> {
  return validateAttributeValue(spec, value);
}

function scopeOf(entry: DirectoryEntry): AttributeScope | undefined {
  switch (entry.kind) {
    case 'globalConfig':
    case 'server':
    case 'domain':
    case 'account':
    case 'alias':
    case 'cos':
      return entry.kind;
  }
}

function scopeHint(spec: AttributeSpec): string {
  const where: string[] = [];
  if (spec.optionalIn.includes('globalConfig')) where.push(`zmprov mcf ${spec.name} <value>`);
  if (spec.optionalIn.includes('server')) where.push(`zmprov ms <server> ${spec.name} <value>`);
  if (spec.optionalIn.includes('domain')) where.push(`zmprov md <domain> ${spec.name} <value>`);
  return where.length > 0 ? `set it where it belongs: ${where.join(' or ')}` : 'leave it out';
}

function valueHint(spec: AttributeSpec): string {
  switch (spec.type) {
    case 'port':
      return `give ${spec.name} a port number from 0 to 65535`;
    case 'integer':
    case 'long': {
      const bounds = [
        spec.min === undefined ? undefined : `at least ${spec.min}`,
        spec.max === undefined ? undefined : `at most ${spec.max}`,
      ].filter((text) => text !== undefined);
      return `give ${spec.name} a whole number${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`;
    }
    case 'boolean':
      return `give ${spec.name} TRUE or FALSE (upper case)`;
    case 'duration':
      return `give ${spec.name} a duration such as 30s, 10m, 1h, 1d or 500ms (no unit means seconds)`;
    case 'enum':
      return `give ${spec.name} one of: ${(spec.values ?? []).join(', ')}`;
    case 'email':
    case 'string':
    case 'astring':
    case 'id':
      return `give ${spec.name} a single-line value${spec.maxLength === undefined ? '' : ` of at most ${spec.maxLength} characters`}`;
  }
}

/** A hint for an attribute name the catalog does not know: the closest names, if any. */
export function unknownAttributeHint(name: string): string {
  const suggestions = suggestAttributes(name);
  const known =
    "zmprov here knows the attributes of zmproxy's catalog (the proxy subset of zimbra-attrs.xml)";
  return suggestions.length > 0
    ? `did you mean ${suggestions.join(' or ')}? ${known}`
    : `check the spelling; ${known}`;
}

/** Up to three catalog names close to `name` (edit distance, or containing it). */
export function suggestAttributes(name: string): string[] {
  const lower = name.toLowerCase();
  const scored = ATTRIBUTE_CATALOG.map((spec) => {
    const candidate = spec.name.toLowerCase();
    const distance = editDistance(lower, candidate);
    const contains = lower.length >= 4 && candidate.includes(lower);
    return { name: spec.name, score: contains ? Math.min(distance, 1) : distance };
  })
    .filter((entry) => entry.score <= Math.max(2, Math.floor(lower.length / 6)))
    .sort((a, b) => a.score - b.score || (a.name < b.name ? -1 : 1));
  return scored.slice(0, 3).map((entry) => entry.name);
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(
        Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
