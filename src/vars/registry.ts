/** Every ProxyConfGen variable, computed together, plus the `-c` overrides and `-d`/`-D` dumps. */
import type { Warning } from '../errors.js';
import { ADMIN_VARIABLES } from './admin.js';
import { CORE_VARIABLES } from './core.js';
import { DOCS_VARIABLES } from './docs.js';
import { LOOKUP_VARIABLES } from './lookup.js';
import { MAIL_VARIABLES } from './mail.js';
import { MEMCACHE_VARIABLES } from './memcache.js';
import { SSL_VARIABLES } from './ssl.js';
import { SSO_VARIABLES } from './sso.js';
import { STOCK_VARIABLES } from './stock.js';
import { STOCK_MAIL_TLS_VARIABLES } from './stock-mail-tls.js';
import { STOCK_SITE_VARIABLES } from './stock-sites.js';
import { THROTTLE_VARIABLES } from './throttle.js';
import { TIMEOUTS_VARIABLES } from './timeouts.js';
import type { VarContext, VariableDefinition } from './types.js';
import { WEB_VARIABLES } from './web.js';
import { XMPP_VARIABLES } from './xmpp.js';

/** Every variable, in area order. Names are unique (checked at load). */
export const VARIABLE_DEFINITIONS: readonly VariableDefinition[] = [
  ...CORE_VARIABLES,
  ...MEMCACHE_VARIABLES,
  ...LOOKUP_VARIABLES,
  ...MAIL_VARIABLES,
  ...THROTTLE_VARIABLES,
  ...TIMEOUTS_VARIABLES,
  ...WEB_VARIABLES,
  ...SSL_VARIABLES,
  ...ADMIN_VARIABLES,
  ...SSO_VARIABLES,
  ...XMPP_VARIABLES,
  ...DOCS_VARIABLES,
  ...STOCK_VARIABLES,
  ...STOCK_SITE_VARIABLES,
  ...STOCK_MAIL_TLS_VARIABLES,
];

const BY_NAME = new Map<string, VariableDefinition>();
for (const definition of VARIABLE_DEFINITIONS) {
  if (BY_NAME.has(definition.name)) throw new Error(`variable ${definition.name} is defined twice`);
  BY_NAME.set(definition.name, definition);
}

/** The variable definition of a name, if any. */
export function findVariable(name: string): VariableDefinition | undefined {
  return BY_NAME.get(name);
}

/** Names set only while a template is exploded (docs/zimbra-notes.md "Per-domain variables"). */
export const EXPLODE_VARIABLE_NAMES: readonly string[] = [
  'vhn',
  'vip',
  'ssl.crt',
  'ssl.key',
  'ssl.clientcertmode',
  'ssl.clientcertca',
  'web.sso.certauth.enabled',
  'web.add.headers.vhost',
  'server_id',
  'server_hostname',
];

/** Computes every variable's config text; problems and warnings go to the context's sink. */
export function computeVariables(ctx: VarContext): Map<string, string> {
  return new Map(
    VARIABLE_DEFINITIONS.map((definition) => [definition.name, definition.compute(ctx)]),
  );
}

/** A `-c name=value` override. */
export interface VariableOverride {
  name: string;
  value: string;
}

/**
 * Parses `-c` arguments. Zimbra silently ignores arguments without `=` or starting with `=`;
 * we reject them, since a cron job with a typo should fail loudly.
 */
export function parseOverrides(args: readonly string[]): {
  overrides: VariableOverride[];
  errors: string[];
} {
  const overrides: VariableOverride[] = [];
  const errors: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) errors.push(`-c ${arg}: expected name=value`);
    else overrides.push({ name: arg.slice(0, eq), value: arg.slice(eq + 1) });
  }
  return { overrides, errors };
}

/**
 * Applies `-c` overrides to computed variables (docs/zimbra-notes.md "`-c` overrides"): only
 * existing names, the value used raw. An unknown name is a warning (Zimbra logs it at info level).
 */
export function applyOverrides(
  vars: Map<string, string>,
  overrides: readonly VariableOverride[],
): Warning[] {
  const warnings: Warning[] = [];
  for (const { name, value } of overrides) {
    if (vars.has(name)) vars.set(name, value);
    else
      warnings.push({
        code: 'W_OVERRIDE_UNKNOWN',
        message: `-c ${name}: no such variable, override ignored`,
        hint: 'zmproxyconfgen -d lists every variable',
      });
  }
  return warnings;
}

/**
 * The `-d` / `-D` listing: one block per variable, sorted by name. With `values`, the
 * current config text is shown too (`-D`, which works here, unlike Zimbra's, docs/zimbra-notes.md
 * quirk 1).
 */
export function formatDefinitions(values?: ReadonlyMap<string, string>): string {
  const names = [...BY_NAME.keys()].sort();
  const blocks = names.map((name) => {
    const definition = BY_NAME.get(name)!;
    const lines = [
      `  NGINX Keyword:         ${definition.name}`,
      `  Description:           ${definition.description}${definition.unused === true ? ' (no Zimbra template uses it)' : ''}`,
      `  Value Type:            ${definition.type}`,
      `  Controlling Attribute: ${definition.attribute ?? '(none)'}`,
      `  Source:                ${definition.source}`,
      `  Default Value:         ${showValue(definition.defaultText)}`,
    ];
    const current = values?.get(name);
    if (current !== undefined) {
      const shown = definition.secret === true ? redactedValue(current) : showValue(current);
      lines.push(`  Current Value:         ${shown}`);
    }
    return `${lines.join('\n')}\n`;
  });
  return blocks.join('\n');
}

/** What `-D` shows of a secret variable: whether it is set, never the value. */
function redactedValue(text: string): string {
  return text === '' ? '(empty)' : '(secret, not shown)';
}

/** The names of the secret variables (passwords, shared keys). */
export function secretVariableNames(): string[] {
  return [...BY_NAME.values()].filter((d) => d.secret === true).map((d) => d.name);
}

/**
 * A multi-line value one `| ` line per line of the value, a trailing line break included (shown as
 * a last, empty `|` line), so stripping the prefixes gives back exactly what the engine inserts.
 */
function showValue(text: string): string {
  if (!text.includes('\n')) return text;
  return `\n${text
    .split('\n')
    .map((line) => (line === '' ? '      |' : `      | ${line}`))
    .join('\n')}`;
}
