/**
 * The zmprov subset (commands and flags: README "zmprov (proxy subset)"): argv → command, and command + snapshot → text to print or
 * modifications to write. Pure: the CLI reads the directory, calls these, prints or writes.
 */
import type { Warning } from '../errors.js';
import { ProblemsError, ProxyConfError } from '../errors.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { DirectoryEntry, DirectorySnapshot, EntryKind } from '../model/snapshot.js';
import { PROXY_CONFIG_KINDS, entryName } from '../model/snapshot.js';
import type { EntryAddition, EntryModification } from '../ports.js';
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
  | { name: 'cs'; server: string; edits: AttributeEdit[] }
  | { name: 'cd'; domain: string; edits: AttributeEdit[] }
  | { name: 'ca'; account: string; password: string; edits: AttributeEdit[] }
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
  ['cs', 'cs'],
  ['createserver', 'cs'],
  ['cd', 'cd'],
  ['createdomain', 'cd'],
  ['ca', 'ca'],
  ['createaccount', 'ca'],
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
  createServer(cs) name [attr1 value1 [attr2 value2...]]   (prints the new zimbraId)
  createDomain(cd) name [attr1 value1 [attr2 value2...]]   (prints the new zimbraId)
  createAccount(ca) name@domain password [attr1 value1 ...] (prints the new zimbraId)
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
    case 'cd': {
      const domain = target('domain');
      return {
        name,
        domain,
        edits: rest.length > 1 ? parseAttributeEdits(rest.slice(1), name) : [],
      };
    }
    case 'ca': {
      const account = target('account');
      const password = rest[1];
      if (password === undefined || password === '') {
        throw new ProxyConfError('E_USAGE', 'ca: no password given', {
          hint: 'zmprov ca user@example.com <password> [attr value …]',
        });
      }
      return {
        name,
        account,
        password,
        edits: rest.length > 2 ? parseAttributeEdits(rest.slice(2), name) : [],
      };
    }
    case 'cs': {
      const server = target('server');
      // Zimbra's cs takes no attribute at all, too.
      return {
        name,
        server,
        edits: rest.length > 1 ? parseAttributeEdits(rest.slice(1), name) : [],
      };
    }
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
  /** The zimbraId of a created entry (a random UUID at the edge). */
  newId?: () => string;
  /** userPassword as Zimbra stores it ({SSHA512}, a random salt at the edge). */
  hashPassword?: (password: string) => string;
}

/** What a command does: print, or write these modifications. */
export type ProvResult =
  | { kind: 'print'; text: string; json: unknown; warnings: readonly Warning[] }
  | { kind: 'modify'; modifications: EntryModification[] }
  | { kind: 'add'; entries: EntryAddition[]; text: string };

/**
 * The entry kinds a command reads, so that the directory sends nothing else (no command here needs
 * the accounts, which a site has by the million).
 */
export function kindsReadBy(command: ProvCommand): readonly EntryKind[] {
  switch (command.name) {
    case 'gcf':
    case 'mcf':
      return ['globalConfig'];
    case 'cs':
    case 'gs':
    case 'ms':
    case 'garpu':
    case 'garpb':
    case 'gamau':
    case 'gamcs':
      return ['globalConfig', 'server'];
    case 'cd':
    case 'gd':
    case 'md':
      return ['globalConfig', 'domain'];
    case 'garpd':
      return PROXY_CONFIG_KINDS;
    // Creating an account checks that the address is free: the only command that reads accounts.
    case 'ca':
      return [...PROXY_CONFIG_KINDS, 'account'];
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
    case 'cs':
      return createServer(snapshot, command.server, command.edits, options);
    case 'cd':
      return createDomain(snapshot, command.domain, command.edits, options);
    case 'ca':
      return createAccount(snapshot, command, options);
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

const HOST_NAME =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * `zmprov cs NAME [attr value…]`: a server entry as Zimbra creates it (cn=NAME,cn=servers,
 * cn=zimbra, objectClass zimbraServer, cn, zimbraServiceHostname = NAME, a new zimbraId), with
 * the attributes given checked against the catalog like `ms`.
 */
function createServer(
  snapshot: DirectorySnapshot,
  name: string,
  edits: readonly AttributeEdit[],
  options: ProvOptions,
): ProvResult {
  if (!HOST_NAME.test(name)) {
    throw new ProxyConfError('E_USAGE', `cs: ${name} is not a host name`, {
      hint: 'zmprov cs proxy1.example.com zimbraServiceInstalled proxy zimbraServiceEnabled proxy',
    });
  }
  if (snapshot.servers.some((server) => entryName(server).toLowerCase() === name.toLowerCase())) {
    throw new ProxyConfError('E_INPUT', `server ${name} already exists`, {
      hint: `change it with zmprov ms ${name} attr value`,
    });
  }
  const id = (options.newId ?? (() => '00000000-0000-4000-8000-000000000000'))();
  const entry: DirectoryEntry = {
    dn: `cn=${name},cn=servers,cn=zimbra`,
    kind: 'server',
    attrs: { cn: [name], zimbraServiceHostname: [name], zimbraId: [id] },
  };
  const attributes = withEdits(entry, ['zimbraServer'], edits, options);
  return { kind: 'add', entries: [{ dn: entry.dn, attributes }], text: `${id}\n` };
}

/** The attributes of a new entry: its own, with the edits applied (checked like ms/md). */
function withEdits(
  entry: DirectoryEntry,
  objectClasses: readonly string[],
  edits: readonly AttributeEdit[],
  options: ProvOptions,
): Record<string, string[]> {
  const planned = planAttributeChanges(entry, edits, { ...options, allowSafeguardedReplace: true });
  if (!planned.ok) throw new ProblemsError(planned.problems);
  const attrs = new Map<string, string[]>(
    Object.entries(entry.attrs).map(([key, values]) => [key, [...values]]),
  );
  for (const change of planned.changes) {
    const current = attrs.get(change.attribute) ?? [];
    if (change.operation === 'replace') attrs.set(change.attribute, [...change.values]);
    else if (change.operation === 'add')
      attrs.set(change.attribute, [
        ...current,
        ...change.values.filter((v) => !current.includes(v)),
      ]);
    else
      attrs.set(
        change.attribute,
        change.values.length === 0 ? [] : current.filter((v) => !change.values.includes(v)),
      );
  }
  const attributes: Record<string, string[]> = { objectClass: [...objectClasses] };
  for (const [key, values] of attrs) if (values.length > 0) attributes[key] = values;
  return attributes;
}

/** `dc=example,dc=com` for example.com. */
function domainDn(name: string): string {
  return name
    .split('.')
    .map((label) => `dc=${label}`)
    .join(',');
}

/**
 * `zmprov cd NAME [attr value…]`: the domain entry as Zimbra lays it out (dc=… per label, the
 * dc= entries above it created when missing, `ou=people` below it for its accounts), local, with
 * a new zimbraId. Status attributes outside zmproxy's catalog are left to Zimbra's defaults.
 */
function createDomain(
  snapshot: DirectorySnapshot,
  name: string,
  edits: readonly AttributeEdit[],
  options: ProvOptions,
): ProvResult {
  const domain = name.toLowerCase();
  if (!HOST_NAME.test(domain) || !domain.includes('.')) {
    throw new ProxyConfError('E_USAGE', `cd: ${name} is not a domain name`, {
      hint: 'zmprov cd example.com',
    });
  }
  if (snapshot.domains.some((entry) => entryName(entry).toLowerCase() === domain)) {
    throw new ProxyConfError('E_INPUT', `domain ${domain} already exists`, {
      hint: `change it with zmprov md ${domain} attr value`,
    });
  }
  const id = (options.newId ?? (() => '00000000-0000-4000-8000-000000000000'))();
  const labels = domain.split('.');
  const dn = domainDn(domain);
  const entry: DirectoryEntry = {
    dn,
    kind: 'domain',
    attrs: {
      dc: [labels[0] ?? domain],
      o: [`${domain} domain`],
      zimbraDomainName: [domain],
      zimbraDomainType: ['local'],
      zimbraId: [id],
    },
  };
  const attributes = withEdits(entry, ['dcObject', 'organization', 'zimbraDomain'], edits, options);
  const parents = labels.slice(1, -1).map((_, index) => {
    const parent = labels.slice(index + 1).join('.');
    return {
      dn: domainDn(parent),
      attributes: {
        objectClass: ['dcObject', 'organization'],
        dc: [labels[index + 1] ?? parent],
        o: [parent],
      },
      ifMissing: true,
    };
  });
  const top = labels.at(-1) ?? domain;
  return {
    kind: 'add',
    entries: [
      {
        dn: `dc=${top}`,
        attributes: { objectClass: ['dcObject', 'organization'], dc: [top], o: [top] },
        ifMissing: true,
      },
      ...parents.reverse(),
      { dn, attributes },
      {
        dn: `ou=people,${dn}`,
        attributes: { objectClass: ['organizationalUnit'], ou: ['people'] },
      },
    ],
    text: `${id}\n`,
  };
}

/**
 * `zmprov ca NAME PASSWORD [attr value…]`: an account below its domain's `ou=people`, its
 * password stored as Zimbra stores it ({SSHA512}), its mailbox on the server given as
 * zimbraMailHost or else the first mailbox server.
 */
function createAccount(
  snapshot: DirectorySnapshot,
  command: Extract<ProvCommand, { name: 'ca' }>,
  options: ProvOptions,
): ProvResult {
  const address = command.account.toLowerCase();
  const at = address.indexOf('@');
  const local = address.slice(0, at);
  const domainName = address.slice(at + 1);
  if (at <= 0 || !/^[a-z0-9._+-]+$/.test(local) || !HOST_NAME.test(domainName)) {
    throw new ProxyConfError('E_USAGE', `ca: ${command.account} is not name@domain`, {
      hint: 'zmprov ca user@example.com <password>',
    });
  }
  const domain = findDomain(snapshot, domainName);
  if (
    snapshot.accounts.some((entry) =>
      (entry.attrs['zimbraMailDeliveryAddress'] ?? []).some((a) => a.toLowerCase() === address),
    )
  ) {
    throw new ProxyConfError('E_INPUT', `account ${address} already exists`, {
      hint: 'zmprov ma is not part of this subset; change it over LDAP',
    });
  }
  if (options.hashPassword === undefined) {
    throw new ProxyConfError('E_INTERNAL', 'ca needs a password hasher');
  }
  // zimbraMailHost is the mailRecipient class's: chosen here among the mailbox servers.
  const hostEdit = command.edits.find((e) => e.attribute.toLowerCase() === 'zimbramailhost');
  const edits = command.edits.filter((e) => e !== hostEdit);
  const mailboxServers = snapshot.servers.filter((server) =>
    (server.attrs['zimbraServiceEnabled'] ?? []).includes('mailbox'),
  );
  const mailHost =
    hostEdit === undefined
      ? mailboxServers[0]
      : mailboxServers.find(
          (server) =>
            (server.attrs['zimbraServiceHostname']?.[0] ?? entryName(server)).toLowerCase() ===
            hostEdit.value.toLowerCase(),
        );
  if (hostEdit !== undefined && mailHost === undefined) {
    throw new ProxyConfError('E_INPUT', `zimbraMailHost ${hostEdit.value} is no mailbox server`, {
      hint: `name one of: ${mailboxServers.map((server) => entryName(server)).join(', ') || '(none)'}`,
    });
  }
  const id = (options.newId ?? (() => '00000000-0000-4000-8000-000000000000'))();
  const entry: DirectoryEntry = {
    dn: `uid=${local},ou=people,${domain.dn}`,
    kind: 'account',
    attrs: {
      uid: [local],
      cn: [local],
      sn: [local],
      mail: [address],
      zimbraMailDeliveryAddress: [address],
      zimbraId: [id],
      userPassword: [options.hashPassword(command.password)],
      ...(mailHost === undefined
        ? {}
        : {
            zimbraMailHost: [mailHost.attrs['zimbraServiceHostname']?.[0] ?? entryName(mailHost)],
          }),
    },
  };
  const attributes = withEdits(entry, ['inetOrgPerson', 'zimbraAccount'], edits, options);
  if (attributes['zimbraMailHost'] === undefined) {
    throw new ProxyConfError('E_INPUT', `no mailbox server for ${address}`, {
      hint: `zmprov ca ${address} <password> zimbraMailHost <mailbox server>`,
    });
  }
  return { kind: 'add', entries: [{ dn: entry.dn, attributes }], text: `${id}\n` };
}
