/**
 * zmproxyconfig's planning (docs/zimbra-notes.md "zmproxyconfig"): flags + directory snapshot +
 * localconfig → the zmprov commands Zimbra's script would pipe (kept for `--dry-run`) and the
 * EntryModifications they amount to, written with one `store.modify(...)`. Pure.
 *
 * Conscious fixes (README):
 * - docs/zimbra-notes.md quirk 17: `-e -w -c` on a store-only host writes zimbraAdminPort n1, not
 * n2.
 * - docs/zimbra-notes.md quirk 18: the "remove the proxy service / lookup target" decision after
 * `-d` uses the   values this run writes, falling back to the directory's current (inherited)
 * values; the   script read the directory before its own pending writes were flushed.
 * - the "must be run as zimbra" check is dropped; package checks always use the directory
 *   (zimbraServiceInstalled / zimbraServiceEnabled), as the script's `-r` does.
 * - every value written is validated against the attribute catalog first (a bad -x or port is an
 *   error listing every problem, and nothing is written).
 */
import type { Problem } from '../../errors.js';
import { ProblemsError, ProxyConfError } from '../../errors.js';
import { findAttribute } from '../../model/attribute-catalog.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import { LOCALCONFIG_DEFAULTS } from '../../model/localconfig-defaults.js';
import type { DirectoryEntry, DirectorySnapshot } from '../../model/snapshot.js';
import { entryLabel, entryName, valuesOf } from '../../model/snapshot.js';
import type { AttributeChange, EntryModification } from '../../ports.js';
import type { AttributeEdit } from '../attribute-edits.js';
import { checkAttributeValue } from '../attribute-edits.js';
import { findServer } from '../find-entry.js';
import type { ProxyConfigFlags } from './parse-flags.js';
import { checkProxyConfigFlags } from './parse-flags.js';

/** One zmprov command the script would run: `ms <host> …` or `mcf …`. */
export interface ProvLine {
  /** The server's name, or undefined for the global config (`mcf`). */
  server: string | undefined;
  edits: AttributeEdit[];
}

/** The plan: what to write, and the commands that say it in zmprov's words. */
export interface ProxyConfigPlan {
  lines: ProvLine[];
  modifications: EntryModification[];
  /** Notes for the admin (printed, not errors). */
  notes: string[];
}

/**
 * A failure that prints zmproxyconfig's usage and exits 1 (docs/zimbra-notes.md "zmproxyconfig");
 * '' is usage alone (-h).
 */
export class ProxyConfigUsageError extends ProxyConfError {
  constructor(message: string) {
    super('E_USAGE', message === '' ? 'usage' : message, {
      hint: 'zmproxyconfig -h shows the options',
    });
    this.name = 'ProxyConfigUsageError';
  }
}

/** Zimbra's default ports (docs/zimbra-notes.md "zmproxyconfig"), enable and disable. */
const DEFAULT_PORTS = {
  enable: { web: '8080:80:8443:443', imap: '7143:143:7993:993', pop: '7110:110:7995:995' },
  disable: { web: '80:0:443:0', imap: '143:7143:993:7993', pop: '110:7110:995:7995' },
  admin: '7071:9071',
} as const;

/** What `-f` writes to the global config (docs/zimbra-notes.md "zmproxyconfig"). */
const FULL_RESET: readonly (readonly [string, string])[] = [
  [
    'zimbraReverseProxyDomainNameQuery',
    '(&(zimbraVirtualIPAddress=${IPADDR})(objectClass=zimbraDomain))',
  ],
  [
    'zimbraReverseProxyMailHostQuery',
    '(|(zimbraMailDeliveryAddress=${USER})(zimbraMailAlias=${USER})(zimbraId=${USER}))',
  ],
  [
    'zimbraReverseProxyPortQuery',
    '(&(zimbraServiceHostname=${MAILHOST})(objectClass=zimbraServer))',
  ],
  ['zimbraMemcachedBindPort', '11211'],
  ['zimbraReverseProxyMailHostAttribute', 'zimbraMailHost'],
  ['zimbraReverseProxyPop3PortAttribute', 'zimbraPop3BindPort'],
  ['zimbraReverseProxyPop3SSLPortAttribute', 'zimbraPop3SSLBindPort'],
  ['zimbraReverseProxyImapPortAttribute', 'zimbraImapBindPort'],
  ['zimbraReverseProxyImapSSLPortAttribute', 'zimbraImapSSLBindPort'],
  ['zimbraReverseProxyDomainNameAttribute', 'zimbraDomainName'],
  ['zimbraReverseProxyAuthWaitInterval', '10s'],
  ['zimbraReverseProxyIPLoginLimit', '0'],
  ['zimbraReverseProxyIPLoginLimitTime', '3600'],
  ['zimbraReverseProxyUserLoginLimit', '0'],
  ['zimbraReverseProxyUserLoginLimitTime', '3600'],
];

const MAIL_PORT_ATTRIBUTES = [
  'zimbraImapBindPort',
  'zimbraImapProxyBindPort',
  'zimbraImapSSLBindPort',
  'zimbraImapSSLProxyBindPort',
  'zimbraPop3BindPort',
  'zimbraPop3ProxyBindPort',
  'zimbraPop3SSLBindPort',
  'zimbraPop3SSLProxyBindPort',
] as const;

const WEB_PORT_ATTRIBUTES = [
  'zimbraMailPort',
  'zimbraMailProxyPort',
  'zimbraMailSSLPort',
  'zimbraMailSSLProxyPort',
] as const;

/**
 * Validates (docs/zimbra-notes.md "zmproxyconfig" in order; items 2–13 via checkProxyConfigFlags)
 * and plans. Throws ProxyConfigUsageError for a validation failure (docs/zimbra-notes.md
 * "zmproxyconfig"), E_INPUT for an unknown host, and ProblemsError when a value to write is
 * invalid.
 */
export function planProxyConfig(
  flags: ProxyConfigFlags,
  snapshot: DirectorySnapshot,
  localConfig: LocalConfig,
): ProxyConfigPlan {
  const flagError = checkProxyConfigFlags(flags);
  if (flagError !== undefined) throw new ProxyConfigUsageError(flagError);
  const host = flags.host as string;

  // Item 14: the host's current SSL-to-upstream value (as `zmprov -l gs` shows it, inherited),
  // overridden by -u / -U.
  const server = findServer(snapshot, host);
  const effective = (name: string): string | undefined => effectiveValue(snapshot, server, name);
  let sslToUpstream = effective('zimbraReverseProxySSLToUpstreamEnabled');
  if (flags.sslUpstreamOff) sslToUpstream = 'FALSE';
  if (flags.sslUpstreamOn) sslToUpstream = 'TRUE';
  const mode = flags.mode?.toLowerCase();
  if (
    sslToUpstream === 'TRUE' &&
    flags.enable &&
    mode !== undefined &&
    ['http', 'both', 'mixed'].includes(mode)
  ) {
    throw new ProxyConfigUsageError(
      `Error: proxy mail mode ${flags.mode} is invalid when SSL to upstream is enabled`,
    );
  }
  // Item 15.
  if (flags.positional.length > 0) {
    throw new ProxyConfigUsageError(`Error: unexpected argument ${flags.positional[0]}.`);
  }
  const defaults = flags.enable ? DEFAULT_PORTS.enable : DEFAULT_PORTS.disable;
  const W = splitPorts(flags.webPorts ?? defaults.web, 4, '-a', 'w1:w2:w3:w4');
  const I = splitPorts(flags.imapPorts ?? defaults.imap, 4, '-i', 'i1:i2:i3:i4');
  const P = splitPorts(flags.popPorts ?? defaults.pop, 4, '-p', 'p1:p2:p3:p4');
  const N = splitPorts(flags.adminPorts ?? DEFAULT_PORTS.admin, 2, '-n', 'n1:n2');

  // Item 16.
  const local =
    localConfig.get('zimbra_server_hostname') || LOCALCONFIG_DEFAULTS['zimbra_server_hostname'];
  if (!flags.remote && host.toLowerCase() !== (local ?? '').toLowerCase()) {
    throw new ProxyConfigUsageError('Must use -r option to modify a remote host.');
  }
  // Item 17: packages, from the directory (there is no dpkg/rpm to ask here).
  const installed = valuesOf(server, 'zimbraServiceInstalled') ?? [];
  const enabled = valuesOf(server, 'zimbraServiceEnabled') ?? [];
  const storeInstalled = installed.includes('mailbox');
  const proxyInstalled = installed.includes('proxy');
  const storeEnabled = enabled.includes('mailbox');
  const proxyEnabled = enabled.includes('proxy');
  if (!storeInstalled && !proxyInstalled) {
    throw new ProxyConfigUsageError(
      `Error: neither zimbra-store nor zimbra-proxy is installed on ${host} (zimbraServiceInstalled has neither mailbox nor proxy).`,
    );
  }

  const caseA = storeInstalled && proxyInstalled;
  const caseB = !caseA && (storeEnabled || (storeInstalled && flags.override));
  const caseC = !caseA && proxyInstalled;
  const notes: string[] = [];
  const lines: ProvLine[] = [];
  const name = entryName(server);
  const ms = (...edits: AttributeEdit[]): void => {
    if (edits.length > 0) lines.push({ server: name, edits });
  };

  if (flags.fullReset) {
    lines.push({ server: undefined, edits: FULL_RESET.map(([attr, value]) => set(attr, value)) });
  }

  if (flags.enable || flags.disable) {
    if (!caseA && !caseB && !caseC) {
      throw new ProxyConfigUsageError(
        `Error: the mailbox service is installed on ${host} but not enabled (zimbraServiceEnabled); give -o to configure it anyway.`,
      );
    }
    if (!caseA && storeInstalled && !caseB) {
      notes.push(
        `the mailbox service is installed on ${host} but not enabled: its settings were left alone (give -o to change them too)`,
      );
    }
    const mailPorts = MAIL_PORT_ATTRIBUTES.map((attr, i) =>
      set(attr, (i < 4 ? I : P)[i % 4] as string),
    );
    const webPorts = WEB_PORT_ATTRIBUTES.map((attr, i) => set(attr, W[i] as string));
    const adminPorts = [
      set('zimbraAdminPort', N[0] as string),
      set('zimbraAdminProxyPort', N[1] as string),
    ];
    const adminLine = (on: boolean) => [
      set('zimbraReverseProxyAdminEnabled', bool(on)),
      ...adminPorts,
    ];
    const adminGiven = flags.adminOn || flags.adminOff;

    if (flags.enable) {
      // Mail modes (docs/zimbra-notes.md "zmproxyconfig").
      let storeMode: string;
      let proxyMode: string;
      if (sslToUpstream === 'TRUE') {
        const current = effective('zimbraMailMode')?.toLowerCase();
        storeMode = current === 'http' || current === 'both' ? 'both' : 'https';
        proxyMode = flags.mode ?? 'https';
      } else {
        storeMode = 'http';
        proxyMode = flags.mode ?? 'http';
      }
      const ssl =
        sslToUpstream === undefined
          ? []
          : [set('zimbraReverseProxySSLToUpstreamEnabled', sslToUpstream)];
      const addProxyService = proxyEnabled ? [] : [add('zimbraServiceEnabled', 'proxy')];
      if (caseA) {
        if (flags.mail) {
          ms(
            ...mailPorts,
            set('zimbraImapCleartextLoginEnabled', 'TRUE'),
            set('zimbraPop3CleartextLoginEnabled', 'TRUE'),
            set('zimbraReverseProxyLookupTarget', 'TRUE'),
            set('zimbraReverseProxyMailEnabled', 'TRUE'),
          );
        }
        if (flags.web) {
          ms(
            set('zimbraMailReferMode', 'reverse-proxied'),
            ...webPorts,
            set('zimbraMailMode', storeMode),
            set('zimbraReverseProxyMailMode', proxyMode),
            set('zimbraReverseProxyLookupTarget', 'TRUE'),
            set('zimbraReverseProxyHttpEnabled', 'TRUE'),
          );
          if (adminGiven) ms(...adminLine(flags.adminOn));
        }
        ms(...ssl, ...addProxyService);
      }
      if (caseB) {
        if (flags.mail) {
          ms(
            ...mailPorts,
            set('zimbraImapCleartextLoginEnabled', 'TRUE'),
            set('zimbraPop3CleartextLoginEnabled', 'TRUE'),
            set('zimbraReverseProxyLookupTarget', 'TRUE'),
          );
        }
        if (flags.web) {
          ms(
            set('zimbraMailReferMode', 'reverse-proxied'),
            ...webPorts,
            set('zimbraReverseProxyLookupTarget', 'TRUE'),
            set('zimbraMailMode', storeMode),
          );
          // Fixed (docs/zimbra-notes.md quirk 17): -c writes zimbraAdminPort n1 like -C; the
          // script wrote n2.
          if (adminGiven) ms(...adminLine(flags.adminOn));
        }
        ms(...ssl);
      }
      if (caseC) {
        if (flags.mail) ms(...mailPorts, set('zimbraReverseProxyMailEnabled', 'TRUE'));
        if (flags.web) {
          ms(
            ...webPorts,
            set('zimbraReverseProxyMailMode', proxyMode),
            set('zimbraReverseProxyHttpEnabled', 'TRUE'),
          );
          if (adminGiven) ms(...adminLine(flags.adminOn));
        }
        ms(...ssl, ...addProxyService);
      }
    } else {
      const storeMode = flags.mode ?? 'http';
      const proxyMode = flags.mode ?? 'http';
      const cleartextOff = flags.cleartextOff
        ? [
            set('zimbraImapCleartextLoginEnabled', 'FALSE'),
            set('zimbraPop3CleartextLoginEnabled', 'FALSE'),
          ]
        : [];
      // Fixed (docs/zimbra-notes.md quirk 18): decide from what this run writes, else the
      // directory.
      const after = (attr: string): string | undefined =>
        pendingValue(lines, attr) ?? effective(attr);
      const proxyFullyOff = () =>
        after('zimbraReverseProxyHttpEnabled') === 'FALSE' &&
        after('zimbraReverseProxyMailEnabled') === 'FALSE';
      if (caseA) {
        if (flags.mail)
          ms(...mailPorts, set('zimbraReverseProxyMailEnabled', 'FALSE'), ...cleartextOff);
        if (flags.web) {
          ms(
            set('zimbraMailReferMode', 'wronghost'),
            ...webPorts,
            set('zimbraMailMode', storeMode),
            set('zimbraReverseProxyMailMode', proxyMode),
            set('zimbraReverseProxyHttpEnabled', 'FALSE'),
          );
          ms(...adminLine(false));
        }
        if (proxyFullyOff()) {
          ms(
            ...(proxyEnabled ? [remove('zimbraServiceEnabled', 'proxy')] : []),
            set('zimbraReverseProxyLookupTarget', 'FALSE'),
          );
        }
      }
      if (caseB) {
        if (flags.mail) ms(...mailPorts, ...cleartextOff);
        if (flags.web) {
          ms(
            set('zimbraMailReferMode', 'wronghost'),
            ...webPorts,
            set('zimbraMailMode', storeMode),
          );
          ms(...adminLine(false));
        }
        if (flags.lookupTargetOff) ms(set('zimbraReverseProxyLookupTarget', 'FALSE'));
      }
      if (caseC) {
        if (flags.mail) ms(...mailPorts, set('zimbraReverseProxyMailEnabled', 'FALSE'));
        if (flags.web) {
          ms(
            ...webPorts,
            set('zimbraReverseProxyMailMode', proxyMode),
            set('zimbraReverseProxyHttpEnabled', 'FALSE'),
          );
          ms(...adminLine(false));
        }
        if (proxyFullyOff() && proxyEnabled) {
          ms(remove('zimbraServiceEnabled', 'proxy'));
        }
      }
    }
  }

  const problems = validateLines(lines, snapshot, server);
  if (problems.length > 0) throw new ProblemsError(problems);
  return { lines, modifications: foldLines(lines, snapshot, server), notes };
}

/** The zmprov command lines of a plan, as `--dry-run` prints them. */
export function formatProvLines(lines: readonly ProvLine[]): string {
  return lines
    .map((line) => {
      const head =
        line.server === undefined ? 'zmprov -l mcf' : `zmprov -l ms ${shellQuote(line.server)}`;
      const args = line.edits.map((edit) => {
        const prefix = edit.op === 'add' ? '+' : edit.op === 'remove' ? '-' : '';
        return `${prefix}${edit.attribute} ${shellQuote(edit.value)}`;
      });
      return `${head} ${args.join(' ')}\n`;
    })
    .join('');
}

function set(attribute: string, value: string): AttributeEdit {
  return { op: 'set', attribute, value };
}
function add(attribute: string, value: string): AttributeEdit {
  return { op: 'add', attribute, value };
}
function remove(attribute: string, value: string): AttributeEdit {
  return { op: 'remove', attribute, value };
}
function bool(on: boolean): string {
  return on ? 'TRUE' : 'FALSE';
}

/** `a:b:c:d` → exactly `count` parts; anything else is a usage error naming the flag. */
function splitPorts(text: string, count: number, flag: string, shape: string): string[] {
  const parts = text.split(':');
  if (parts.length !== count || parts.some((part) => part === '')) {
    throw new ProxyConfigUsageError(
      `Error: ${flag} needs ${count} ports as ${shape} (got "${text}").`,
    );
  }
  return parts;
}

/** The value `gs` shows: the server's own, else the global config's for a serverInherited attribute. */
function effectiveValue(
  snapshot: DirectorySnapshot,
  server: DirectoryEntry,
  name: string,
): string | undefined {
  const own = valuesOf(server, name)?.[0];
  if (own !== undefined) return own;
  return findAttribute(name)?.serverInherited === true
    ? valuesOf(snapshot.globalConfig, name)?.[0]
    : undefined;
}

/** The last value this plan sets for a server attribute, if any. */
function pendingValue(lines: readonly ProvLine[], attribute: string): string | undefined {
  let value: string | undefined;
  for (const line of lines) {
    if (line.server === undefined) continue;
    for (const edit of line.edits) {
      if (edit.op === 'set' && edit.attribute === attribute) value = edit.value;
    }
  }
  return value;
}

/** Every value checked against the catalog, for the entry it goes to; all problems at once. */
function validateLines(
  lines: readonly ProvLine[],
  snapshot: DirectorySnapshot,
  server: DirectoryEntry,
): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const entry = line.server === undefined ? snapshot.globalConfig : server;
    const scope = line.server === undefined ? 'globalConfig' : 'server';
    for (const edit of line.edits) {
      const key = `${scope}\u0000${edit.attribute}\u0000${edit.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const spec = findAttribute(edit.attribute);
      if (spec === undefined || !spec.optionalIn.includes(scope)) {
        throw new Error(
          `zmproxyconfig writes ${edit.attribute}, which the catalog does not allow on ${scope}`,
        );
      }
      const checked = checkAttributeValue(spec, edit.value);
      if (!checked.ok) {
        problems.push({
          subject: spec.name,
          entry: entryLabel(entry),
          message: checked.message,
          value: edit.value,
          hint: valueFlagHint(spec.name),
        });
      }
    }
  }
  return problems;
}

/** Which zmproxyconfig flag gave the value of an attribute, for hints. */
function valueFlagHint(attribute: string): string {
  if (attribute === 'zimbraMailMode' || attribute === 'zimbraReverseProxyMailMode') {
    return 'give -x one of http, https, both, mixed, redirect';
  }
  if ((MAIL_PORT_ATTRIBUTES as readonly string[]).includes(attribute)) {
    return 'give -i and -p four port numbers (0 to 65535) each';
  }
  if ((WEB_PORT_ATTRIBUTES as readonly string[]).includes(attribute)) {
    return 'give -a four port numbers (0 to 65535)';
  }
  if (attribute === 'zimbraAdminPort' || attribute === 'zimbraAdminProxyPort') {
    return 'give -n two port numbers (0 to 65535)';
  }
  return 'check the value given on the command line';
}

/**
 * The lines as one modification per entry, in the order the script would leave the directory:
 * an attribute set twice keeps the last value, at the place it was first written.
 */
function foldLines(
  lines: readonly ProvLine[],
  snapshot: DirectorySnapshot,
  server: DirectoryEntry,
): EntryModification[] {
  const byDn = new Map<string, Map<string, AttributeChange>>();
  for (const line of lines) {
    const dn = line.server === undefined ? snapshot.globalConfig.dn : server.dn;
    const changes = byDn.get(dn) ?? new Map<string, AttributeChange>();
    byDn.set(dn, changes);
    for (const edit of line.edits) {
      const spec = findAttribute(edit.attribute);
      const attribute = spec?.name ?? edit.attribute;
      const value = spec === undefined ? edit.value : checkStored(spec, edit.value);
      switch (edit.op) {
        case 'set':
          changes.set(`=${attribute}`, { operation: 'replace', attribute, values: [value] });
          break;
        case 'add':
          changes.set(`+${attribute}`, { operation: 'add', attribute, values: [value] });
          break;
        case 'remove':
          changes.set(`-${attribute}`, { operation: 'delete', attribute, values: [value] });
          break;
      }
    }
  }
  return [...byDn].map(([dn, changes]) => ({ dn, changes: [...changes.values()] }));
}

function checkStored(spec: NonNullable<ReturnType<typeof findAttribute>>, value: string): string {
  const checked = checkAttributeValue(spec, value);
  return checked.ok ? checked.value : value;
}

function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, "'\\''")}'`;
}
