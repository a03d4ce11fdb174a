/** Builders of in-memory inputs for core tests. */
import type { ApplyResult } from '../../src/engine/apply.js';
import { createHash } from 'node:crypto';
import type { DnsTable, ResolvedAddress } from '../../src/model/dns.js';
import { resolvePaths } from '../../src/model/paths.js';
import type { DirectoryEntry, DirectorySnapshot } from '../../src/model/snapshot.js';
import { EMPTY_GLOBAL_CONFIG } from '../../src/model/snapshot.js';
import type { VarContextHandle } from '../../src/vars/context.js';
import type { VarContext } from '../../src/vars/types.js';
import { createVarContext } from '../../src/vars/context.js';

/** Attribute values as tests write them: one string or a list. */
export type Attrs = Record<string, string | readonly string[]>;

function toAttrMap(attrs: Attrs): Record<string, readonly string[]> {
  return Object.fromEntries(
    Object.entries(attrs).map(([name, value]) => [
      name,
      typeof value === 'string' ? [value] : value,
    ]),
  );
}

/** The global config entry. */
export function globalConfig(attrs: Attrs = {}): DirectoryEntry {
  return { ...EMPTY_GLOBAL_CONFIG, attrs: toAttrMap(attrs) };
}

/** A zimbraId (a UUID, as Zimbra's) derived from a name, the same on every run. */
export function idFor(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A server entry named `name` (cn and, unless given, zimbraServiceHostname and zimbraId). */
export function server(name: string, attrs: Attrs = {}): DirectoryEntry {
  return {
    dn: `cn=${name},cn=servers,cn=zimbra`,
    kind: 'server',
    attrs: toAttrMap({ cn: name, zimbraServiceHostname: name, zimbraId: idFor(name), ...attrs }),
  };
}

/** A mailbox server as Zimbra 10 installs it: mailbox + web services, lookup target, https mode. */
export function mailboxServer(name: string, attrs: Attrs = {}): DirectoryEntry {
  return server(name, {
    zimbraServiceEnabled: ['mailbox', 'service', 'zimbra', 'zimbraAdmin'],
    zimbraReverseProxyLookupTarget: 'TRUE',
    zimbraMailMode: 'https',
    zimbraServerVersion: '10.1.0_GA_4633',
    zimbraServerVersionMajor: '10',
    zimbraServerVersionMinor: '1',
    ...attrs,
  });
}

/** A domain entry. */
export function domain(name: string, attrs: Attrs = {}): DirectoryEntry {
  return {
    dn: `dc=${name.split('.').join(',dc=')}`,
    kind: 'domain',
    attrs: toAttrMap({ zimbraDomainName: name, ...attrs }),
  };
}

/** A snapshot from parts; servers and domains are sorted as the sources sort them. */
export function snapshot(parts: {
  globalConfig?: DirectoryEntry;
  servers?: DirectoryEntry[];
  domains?: DirectoryEntry[];
}): DirectorySnapshot {
  return {
    globalConfig: parts.globalConfig ?? globalConfig(),
    servers: parts.servers ?? [],
    domains: parts.domains ?? [],
    accounts: [],
    aliases: [],
    cos: [],
  };
}

/** A DNS table from `host -> addresses`; an empty list means "does not resolve". */
export function dnsTable(hosts: Record<string, readonly string[]>): DnsTable {
  return new Map(
    Object.entries(hosts).map(([host, addresses]) => [
      host.toLowerCase(),
      addresses.length === 0
        ? { ok: false as const, error: 'not found' }
        : {
            ok: true as const,
            addresses: addresses.map((address): ResolvedAddress => ({
              address,
              family: address.includes(':') ? 6 : 4,
            })),
          },
    ]),
  );
}

/** A variable context over a snapshot; serverSource is the server named `serverName` (default: the first). */
export function context(options: {
  snapshot: DirectorySnapshot;
  serverName?: string;
  localConfig?: Record<string, string>;
  dns?: DnsTable;
  workdir?: string;
  dhparamExists?: boolean;
}): VarContextHandle {
  const servers = options.snapshot.servers;
  const serverSource =
    servers.find((s) => s.attrs['cn']?.[0] === options.serverName) ??
    servers[0] ??
    server('localhost');
  return createVarContext({
    snapshot: options.snapshot,
    serverSource,
    localConfig: new Map(Object.entries(options.localConfig ?? {})),
    paths: resolvePaths({ workdir: options.workdir ?? '/opt/zimbra' }),
    dns: options.dns ?? new Map(),
    facts: { dhparamExists: options.dhparamExists ?? false },
  });
}

/** The directory around a proxy-only server that generates for mailbox servers. */
export interface ProxySetup {
  config?: Attrs;
  /** The servers besides the proxy (default: the caller's). */
  servers?: DirectoryEntry[];
  domains?: DirectoryEntry[];
  localConfig?: Record<string, string>;
  /** Names resolved besides the caller's defaults. */
  dns?: Record<string, readonly string[]>;
}

/**
 * The context of `aaproxy.example.com` (proxy and memcached, first in name order) generating for
 * `options.servers`, else `defaults.servers`; DNS answers `defaults.dns` then `options.dns`.
 */
export function proxyContext(
  options: ProxySetup,
  defaults: { servers: DirectoryEntry[]; dns: Record<string, readonly string[]> },
): VarContextHandle {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig(options.config ?? {}),
      servers: [
        server('aaproxy.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'] }),
        ...(options.servers ?? defaults.servers),
      ],
      domains: options.domains ?? [],
    }),
    serverName: 'aaproxy.example.com',
    localConfig: options.localConfig,
    dns: dnsTable({ ...defaults.dns, ...(options.dns ?? {}) }),
  });
}

/** The value of variable `name` among `definitions`, computed on `ctx`. */
export function variableValue(
  definitions: readonly { name: string; compute: (ctx: VarContext) => string }[],
  ctx: VarContext,
  name: string,
): string {
  const found = definitions.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found.compute(ctx);
}

/** An --apply result with `outcome` and nothing else to say (tests of the loop and the status). */
export function applyResult(
  outcome: ApplyResult['outcome'],
  extra: Partial<ApplyResult> = {},
): ApplyResult {
  return {
    outcome,
    changed: [],
    message: outcome,
    details: [],
    durations: {},
    warnings: [],
    ...extra,
  };
}
