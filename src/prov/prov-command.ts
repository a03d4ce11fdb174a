/**
 * The zmprov subset (commands and flags: README "zmprov (proxy subset)"): argv → command, and command + snapshot → text to print or
 * modifications to write. Pure: the CLI reads the directory, calls these, prints or writes.
 */
import type { Warning } from '../errors.js';
import { ProblemsError, ProxyConfError } from '../errors.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { DirectoryEntry, DirectorySnapshot, EntryKind } from '../model/snapshot.js';
import { PROXY_CONFIG_KINDS, entryName } from '../model/snapshot.js';
import type { EntryModification } from '../ports.js';
import type { AttributeEdit } from './attribute-edits.js';
import { parseAttributeEdits, planAttributeChanges } from './attribute-edits.js';
import { findDomain, findServer } from './find-entry.js';
import { effectiveAttributes, formatAttributes, selectAttributes } from './format-entry.js';
import type { ListOutput } from './proxy-lists.js';
import {
  listMemcachedServers,
  listMtaAuthUrls,
  listReverseProxyBackends,
  listReverseProxyDomains,
  listReverseProxyUrls,
} from './proxy-lists.js';

/** The list commands, which take no argument. */
export const LIST_COMMANDS = ['garpu', 'garpb', 'gamau', 'gamcs', 'garpd'] as const;
export type ListCommandName = (typeof LIST_COMMANDS)[number];

/** One zmprov command with its arguments. */
export type ProvCommand =
  | { name: 'gcf'; attributes: string[] }
  | { name: 'mcf'; edits: AttributeEdit[] }
  | { name: 'gs'; server: string; attributes: string[] }
  | { name: 'ms'; server: string; edits: AttributeEdit[] }
  | { name: 'gd'; domain: string; attributes: string[] }
  | { name: 'md'; domain: string; edits: AttributeEdit[] }
  | { name: ListCommandName };

/** Zimbra's long command names and aliases (case-insensitive, as zmprov) to ours. */
const COMMAND_NAMES: ReadonlyMap<string, ProvCommand['name']> = new Map([
  ['gcf', 'gcf'],
  ['getconfig', 'gcf'],
  ['gacf', 'gcf'],
  ['getallconfig', 'gcf'],
  ['mcf', 'mcf'],
  ['modifyconfig', 'mcf'],
  ['gs', 'gs'],
  ['getserver', 'gs'],
  ['ms', 'ms'],
  ['modifyserver', 'ms'],
  ['gd', 'gd'],
  ['getdomain', 'gd'],
  ['md', 'md'],
  ['modifydomain', 'md'],
  ['garpu', 'garpu'],
  ['getallreverseproxyurls', 'garpu'],
  ['garpb', 'garpb'],
  ['getallreverseproxybackends', 'garpb'],
  ['gamau', 'gamau'],
  ['getallmtaauthurls', 'gamau'],
  ['gamcs', 'gamcs'],
  ['getallmemcachedservers', 'gamcs'],
  ['garpd', 'garpd'],
  ['getallreverseproxydomains', 'garpd'],
]);

/** One line per command, for usage output. */
export const COMMAND_HELP = `  getConfig(gcf) [attr1 ...]                       (no attribute: every attribute)
  modifyConfig(mcf) attr1 value1 [attr2 value2...]
  getServer(gs) {name|id} [attr1 ...]
  modifyServer(ms) {name|id} attr1 value1 [attr2 value2...]
  getDomain(gd) {name|id} [attr1 ...]
  modifyDomain(md) {name|id} attr1 value1 [attr2 value2...]
  getAllReverseProxyURLs(garpu)
  getAllReverseProxyBackends(garpb)
  getAllMtaAuthURLs(gamau)
  getAllMemcachedServers(gamcs)
  getAllReverseProxyDomains(garpd)

  attr value    replace every value (attr '' removes the attribute)
  +attr value   add a value to a multi-valued attribute
  -attr value   remove one value`;

const USAGE_HINT = 'zmprov -h lists the commands';

/** Parses the command name and its arguments (global options already removed). */
export function parseProvCommand(args: readonly string[]): ProvCommand {
  const [word, ...rest] = args;
  if (word === undefined) {
    throw new ProxyConfError('E_USAGE', 'no command given', { hint: USAGE_HINT });
  }
  const name = COMMAND_NAMES.get(word.toLowerCase());
  if (name === undefined) {
    throw new ProxyConfError('E_USAGE', `unknown command: ${word}`, {
      hint: `${USAGE_HINT}; this zmprov implements the proxy subset only`,
    });
  }
  const target = (kind: string): string => {
    const value = rest[0];
    if (value === undefined || value === '') {
      throw new ProxyConfError('E_USAGE', `${word}: no ${kind} given`, {
        hint: `zmprov ${name} {name|id} …`,
      });
    }
    return value;
  };
  switch (name) {
    case 'gcf':
      return { name, attributes: rest };
    case 'mcf':
      return { name, edits: parseAttributeEdits(rest, name) };
    case 'gs':
      return { name, server: target('server'), attributes: rest.slice(1) };
    case 'ms':
      return { name, server: target('server'), edits: parseAttributeEdits(rest.slice(1), name) };
    case 'gd':
      return { name, domain: target('domain'), attributes: rest.slice(1) };
    case 'md':
      return { name, domain: target('domain'), edits: parseAttributeEdits(rest.slice(1), name) };
    case 'garpu':
    case 'garpb':
    case 'gamau':
    case 'gamcs':
    case 'garpd':
      if (rest.length > 0) {
        throw new ProxyConfError('E_USAGE', `${word} takes no argument (got ${rest[0]})`, {
          hint: `zmprov ${name}`,
        });
      }
      return { name };
  }
}

/** Options of {@link executeProvCommand}. */
export interface ProvOptions {
  /** zmprov `-r`: a plain `attr value` may replace zimbraServiceEnabled/Installed. @default false */
  allowSafeguardedReplace?: boolean;
}

/** What a command does: print, or write these modifications. */
export type ProvResult =
  | { kind: 'print'; text: string; json: unknown; warnings: readonly Warning[] }
  | { kind: 'modify'; modifications: EntryModification[] };

/**
 * The entry kinds a command reads, so that the directory sends nothing else (no command here needs
 * the accounts, which a site has by the million).
 */
export function kindsReadBy(command: ProvCommand): readonly EntryKind[] {
  switch (command.name) {
    case 'gcf':
    case 'mcf':
      return ['globalConfig'];
    case 'gs':
    case 'ms':
    case 'garpu':
    case 'garpb':
    case 'gamau':
    case 'gamcs':
      return ['globalConfig', 'server'];
    case 'gd':
    case 'md':
      return ['globalConfig', 'domain'];
    case 'garpd':
      return PROXY_CONFIG_KINDS;
  }
}

/**
 * Runs a command against a snapshot. Throws E_INPUT for an unknown server or domain, and a
 * ProblemsError (every problem of the command line) when a value is invalid.
 */
export function executeProvCommand(
  command: ProvCommand,
  snapshot: DirectorySnapshot,
  localConfig: LocalConfig,
  options: ProvOptions = {},
): ProvResult {
  switch (command.name) {
    case 'gcf':
      return printEntry(snapshot.globalConfig, snapshot, command.attributes, false);
    case 'gs':
      return printEntry(findServer(snapshot, command.server), snapshot, command.attributes, true);
    case 'gd':
      return printEntry(findDomain(snapshot, command.domain), snapshot, command.attributes, true);
    case 'mcf':
      return modify(snapshot.globalConfig, command.edits, options);
    case 'ms':
      return modify(findServer(snapshot, command.server), command.edits, options);
    case 'md':
      return modify(findDomain(snapshot, command.domain), command.edits, options);
    case 'garpu':
      return printList(listReverseProxyUrls(snapshot));
    case 'garpb':
      return printList(listReverseProxyBackends(snapshot, localConfig));
    case 'gamau':
      return printList(listMtaAuthUrls(snapshot, localConfig));
    case 'gamcs':
      return printList(listMemcachedServers(snapshot));
    case 'garpd':
      return printList(listReverseProxyDomains(snapshot));
  }
}

function printEntry(
  entry: DirectoryEntry,
  snapshot: DirectorySnapshot,
  requested: readonly string[],
  withHeader: boolean,
): ProvResult {
  const attrs = effectiveAttributes(entry, snapshot.globalConfig);
  const { selected, problems } = selectAttributes(entry, attrs, requested);
  if (problems.length > 0) throw new ProblemsError(problems, 'E_INPUT');
  const name = withHeader ? entryName(entry) : undefined;
  return {
    kind: 'print',
    text: formatAttributes(name, selected),
    json: {
      ...(name === undefined ? {} : { name }),
      attributes: Object.fromEntries(selected.map((attr) => [attr.name, attr.values])),
    },
    warnings: [],
  };
}

function printList(list: ListOutput): ProvResult {
  return { kind: 'print', text: list.text, json: list.items, warnings: list.warnings };
}

function modify(
  entry: DirectoryEntry,
  edits: readonly AttributeEdit[],
  options: ProvOptions,
): ProvResult {
  const planned = planAttributeChanges(entry, edits, options);
  if (!planned.ok) throw new ProblemsError(planned.problems);
  return {
    kind: 'modify',
    modifications: planned.changes.length === 0 ? [] : [{ dn: entry.dn, changes: planned.changes }],
  };
}
