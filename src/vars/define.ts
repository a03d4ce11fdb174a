/**
 * Builders for variable definitions. Most ProxyConfGen variables are one attribute or one
 * localconfig key formatted by type (docs/zimbra-notes.md "Where values come from and how they are
 * printed"); these builders make each such variable one line of data, and leave custom code to the
 * variables that need it.
 */
import { ProxyConfError } from '../errors.js';
import { attribute } from '../model/attribute-catalog.js';
import { formatMemory } from '../model/value-types.js';
import type { EntryReader } from '../resolve/attribute-reader.js';
import type { VarArea, VarContext, VariableDefinition, VarValueType } from './types.js';

/** `""` when true, `"#"` when false: the enabler that comments a template line out. */
export function enabler(on: boolean): string {
  return on ? '' : '#';
}

/** `on` / `off`, ProxyConfGen's BOOLEAN output. */
export function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}

/** The attribute-backed value types. */
/** `port` and `enum` read as such and display as integer and string. */
export type AttrVarType = Exclude<VarValueType, 'custom'> | 'port' | 'enum';

/** Options of {@link attrVar}. */
export interface AttrVarOptions {
  name: string;
  area: VarArea;
  description: string;
  attribute: string;
  type: AttrVarType;
  /** `server`: serverSource with global-config fallback; `config`: the global config only. */
  source: 'server' | 'config';
  /**
   * The code default: a number for integer/port, milliseconds for time, SECONDS for
   * time-seconds, bytes for long, a boolean for boolean/enabler, text for string. Leave it out
   * when the attribute's catalog entry has a `codeDefault`: the catalog is then its one home.
   */
  defaultValue?: number | boolean | string;
  /** For `string`: the value must stand as one bare nginx token. @default true */
  token?: boolean;
  unused?: boolean;
}

/** A variable that is one attribute formatted by type. */
export function attrVar(given: AttrVarOptions): VariableDefinition {
  const options = {
    ...given,
    defaultValue: given.defaultValue ?? catalogDefaultValue(given.type, given.attribute),
  };
  const { type, defaultValue } = options;
  const read = (ctx: VarContext) =>
    formatAttr(options.source === 'server' ? ctx.server : ctx.config, options);
  return {
    name: options.name,
    area: options.area,
    description: options.description,
    attribute: options.attribute,
    type: type === 'port' ? 'integer' : type === 'enum' ? 'string' : type,
    source: options.source,
    defaultText: formatDefault(type, defaultValue),
    unused: options.unused,
    compute: read,
  };
}

/** The catalog's code default of an attribute, typed as {@link AttrVarOptions.defaultValue}. */
function catalogDefaultValue(type: AttrVarType, name: string): number | boolean | string {
  const text = attribute(name).codeDefault?.[0];
  if (text === undefined)
    throw new ProxyConfError(
      'E_INTERNAL',
      `variable of ${name}: no defaultValue and no catalog codeDefault`,
    );
  switch (type) {
    case 'boolean':
    case 'enabler':
      return text === 'TRUE';
    case 'integer':
    case 'port':
      return Number(text);
    case 'enum':
    case 'string':
      return text;
    case 'long':
    case 'time':
    case 'time-seconds':
      throw new ProxyConfError(
        'E_INTERNAL',
        `variable of ${name}: give ${type} defaults explicitly`,
      );
  }
}

function formatAttr(
  reader: EntryReader,
  options: AttrVarOptions & { defaultValue: number | boolean | string },
): string {
  const { attribute: name, defaultValue } = options;
  switch (options.type) {
    case 'integer':
      return String(reader.integer(name, Number(defaultValue)));
    case 'port':
      return String(reader.port(name, Number(defaultValue)));
    case 'enum':
      return reader.enumValue(name, String(defaultValue));
    case 'long':
      return formatMemory(reader.memory(name, Number(defaultValue)));
    case 'string':
      return options.token === false
        ? reader.text(name, String(defaultValue))
        : reader.token(name, String(defaultValue));
    case 'boolean':
      return onOff(reader.boolean(name, Boolean(defaultValue)));
    case 'enabler':
      return enabler(reader.boolean(name, Boolean(defaultValue)));
    case 'time':
      return `${reader.duration(name, Number(defaultValue))}ms`;
    case 'time-seconds':
      // Zimbra passes these code defaults through a ms→s division and prints 0
      // (docs/zimbra-notes.md "Where values come from and how they are printed"); we take them as
      // the seconds they were meant to be.
      return String(Math.floor(reader.duration(name, Number(defaultValue) * 1000) / 1000));
  }
}

function formatDefault(type: AttrVarType, value: number | boolean | string): string {
  switch (type) {
    case 'boolean':
      return onOff(Boolean(value));
    case 'enabler':
      return enabler(Boolean(value));
    case 'time':
      return `${Number(value)}ms`;
    case 'long':
      return formatMemory(Number(value));
    case 'integer':
    case 'port':
    case 'enum':
    case 'string':
    case 'time-seconds':
      return String(value);
  }
}

/** Options of {@link lcVar}. */
export interface LcVarOptions {
  name: string;
  area: VarArea;
  description: string;
  key: string;
  type: 'integer' | 'string' | 'boolean';
  /** Added to an integer value (ProxyConfGen's TimeoutVar). @default 0 */
  offset?: number;
  unused?: boolean;
}

/** A variable that is one localconfig key, with Zimbra's localconfig default. */
export function lcVar(options: LcVarOptions): VariableDefinition {
  const offset = options.offset ?? 0;
  return {
    name: options.name,
    area: options.area,
    description: options.description,
    attribute: options.key,
    type: options.type,
    source: 'localconfig',
    defaultText: '(localconfig default)',
    unused: options.unused,
    compute(ctx) {
      switch (options.type) {
        case 'integer':
          return String(ctx.lc.integer(options.key) + offset);
        case 'boolean':
          return onOff(ctx.lc.boolean(options.key));
        case 'string':
          // Placed as a bare nginx token (e.g. a path): nothing that could end the directive.
          return ctx.lc.token(options.key);
      }
    },
  };
}

/** Options of {@link customVar}. */
export interface CustomVarOptions {
  name: string;
  area: VarArea;
  description: string;
  attribute?: string;
  type?: VarValueType;
  source?: VariableDefinition['source'];
  defaultText?: string;
  unused?: boolean;
  /** A password or shared key (see {@link VariableDefinition.secret}). */
  secret?: boolean;
  compute: (ctx: VarContext) => string;
}

/** A variable computed by its own code. */
export function customVar(options: CustomVarOptions): VariableDefinition {
  return {
    name: options.name,
    area: options.area,
    description: options.description,
    attribute: options.attribute,
    type: options.type ?? 'custom',
    source: options.source ?? 'custom',
    defaultText: options.defaultText ?? '',
    unused: options.unused,
    ...(options.secret === true ? { secret: true } : {}),
    compute: options.compute,
  };
}

/** A constant (or a value derived from paths only). */
export function constVar(
  name: string,
  area: VarArea,
  description: string,
  value: string | ((ctx: VarContext) => string),
  options: { type?: VarValueType; unused?: boolean } = {},
): VariableDefinition {
  return {
    name,
    area,
    description,
    type: options.type ?? 'string',
    source: 'none',
    defaultText: typeof value === 'string' ? value : '(derived from paths)',
    unused: options.unused,
    compute: typeof value === 'string' ? () => value : value,
  };
}
