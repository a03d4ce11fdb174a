/**
 * The directory reads of a route lookup over the {@link LookupDirectory} port, with
 * the short in-process caches the NLE kept (domains by VIP, name and virtual host; server
 * ports), 15 minutes by default. The filters are Zimbra's queries from the global config.
 */
import type { AttributeMap } from '../model/snapshot.js';
import type { Clock, DirectoryRecord, LookupDirectory } from './ports.js';
import type { LookupSettings, RouteProtocol } from './settings.js';

/** RFC 4515 escaping of a value placed into an LDAP filter. */
export function escapeLdapFilterValue(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex -- RFC 4515 escapes NUL
    /[\\*()\u0000]/g,
    (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** First value of an attribute, case-insensitively. */
export function attrOf(attrs: AttributeMap, name: string): string | undefined {
  const direct = attrs[name];
  if (direct !== undefined) return direct[0];
  const lower = name.toLowerCase();
  for (const [key, values] of Object.entries(attrs))
    if (key.toLowerCase() === lower) return values[0];
  return undefined;
}

/** All values of an attribute, case-insensitively. */
export function attrValues(attrs: AttributeMap, name: string): readonly string[] {
  const lower = name.toLowerCase();
  for (const [key, values] of Object.entries(attrs)) if (key.toLowerCase() === lower) return values;
  return [];
}

const EXTERNAL = {
  imap: ['zimbraExternalImapHostname', 'zimbraExternalImapPort'],
  imapssl: ['zimbraExternalImapSSLHostname', 'zimbraExternalImapSSLPort'],
  pop3: ['zimbraExternalPop3Hostname', 'zimbraExternalPop3Port'],
  pop3ssl: ['zimbraExternalPop3SSLHostname', 'zimbraExternalPop3SSLPort'],
} as const;

const EXTERNAL_ATTRIBUTES = Object.values(EXTERNAL).flat();

const ACCOUNT_ATTRIBUTES = [
  'zimbraMailDeliveryAddress',
  'zimbraId',
  'zimbraIsAdminAccount',
  'zimbraIsDelegatedAdminAccount',
  'zimbraReverseProxyUseExternalRoute',
  // For --verify-password (password-check.ts).
  'zimbraAccountStatus',
  'zimbraAuthLdapExternalDn',
  ...EXTERNAL_ATTRIBUTES,
];

const DOMAIN_ATTRIBUTES = [
  'zimbraDomainName',
  'zimbraId',
  'zimbraDomainType',
  'zimbraDomainAliasTargetId',
  'zimbraDomainAllowedIPs',
  'zimbraReverseProxyUseExternalRoute',
  'zimbraReverseProxyUseExternalRouteIfAccountNotExist',
  // For --verify-password (password-check.ts).
  'zimbraAuthMech',
  'zimbraAuthLdapURL',
  'zimbraAuthLdapBindDn',
  'zimbraAuthLdapSearchFilter',
  'zimbraAuthLdapSearchBase',
  'zimbraAuthLdapSearchBindDn',
  'zimbraAuthLdapSearchBindPassword',
  'zimbraAuthLdapStartTlsEnabled',
  ...EXTERNAL_ATTRIBUTES,
];

/** An external route (host, port) of a mail protocol, when the entry has both. */
export function externalRoute(
  attrs: AttributeMap,
  protocol: RouteProtocol,
): { host: string; port: number } | undefined {
  if (protocol === 'http' || protocol === 'httpssl') return undefined;
  const [hostAttr, portAttr] = EXTERNAL[protocol];
  const host = attrOf(attrs, hostAttr);
  const port = Number(attrOf(attrs, portAttr));
  if (host === undefined || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    return undefined;
  }
  return { host, port };
}

/** An account found by the mail-host query. */
export interface AccountRecord {
  dn: string;
  /** zimbraMailDeliveryAddress, else the name it was found by. */
  name: string;
  attrs: AttributeMap;
  mailHost: string | undefined;
  /** The value of zimbraReverseProxyUserNameAttribute, when configured and set. */
  userName: string | undefined;
}

/** Entries remembered in process for a while. */
class TtlMemo<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly maxSize: number;
  constructor(clock: Clock, ttlMs: number, maxSize: number) {
    this.clock = clock;
    this.ttlMs = ttlMs;
    this.maxSize = maxSize;
  }
  async get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.until > now) return hit.value;
    const value = await load();
    if (this.entries.size >= this.maxSize) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }
  clear(): void {
    this.entries.clear();
  }
}

/** Options of {@link createDirectoryQueries}. */
export interface DirectoryQueryOptions {
  /** How long domains and server ports stay in process. @default 900000 (15 minutes, as the NLE) */
  memoTtlMs?: number;
  /** Entries per in-process cache. @default 10000 */
  memoSize?: number;
}

/** The directory reads of a lookup. */
export interface DirectoryQueries {
  /** The domain name for a proxy (virtual) IP address, by zimbraReverseProxyDomainNameQuery. */
  domainByProxyIp(settings: LookupSettings, ip: string): Promise<string | undefined>;
  /** The domain name whose zimbraVirtualHostname is `host`. */
  domainByVirtualHost(host: string): Promise<string | undefined>;
  domainByName(name: string): Promise<DirectoryRecord | undefined>;
  domainById(id: string): Promise<DirectoryRecord | undefined>;
  /** The account by the mail-host query (`${USER}` = `name`). */
  accountByName(settings: LookupSettings, name: string): Promise<AccountRecord | undefined>;
  accountById(settings: LookupSettings, id: string): Promise<AccountRecord | undefined>;
  /** The port of `protocol` on mail host `host` (the port query, with the global fallback). */
  portOf(settings: LookupSettings, host: string, attribute: string): Promise<number | undefined>;
  /** Forgets the in-process caches. */
  clear(): void;
}

/** Creates the directory reads over `directory`. */
export function createDirectoryQueries(
  directory: LookupDirectory,
  clock: Clock,
  options: DirectoryQueryOptions = {},
): DirectoryQueries {
  const ttl = options.memoTtlMs ?? 900_000;
  const size = options.memoSize ?? 10_000;
  const byIp = new TtlMemo<string | undefined>(clock, ttl, size);
  const byVhost = new TtlMemo<string | undefined>(clock, ttl, size);
  const byName = new TtlMemo<DirectoryRecord | undefined>(clock, ttl, size);
  const byId = new TtlMemo<DirectoryRecord | undefined>(clock, ttl, size);
  const ports = new TtlMemo<AttributeMap | undefined>(clock, ttl, size);

  const first = async (
    base: string,
    filter: string,
    attributes: readonly string[],
  ): Promise<DirectoryRecord | undefined> =>
    (await directory.search({ base, filter, attributes, sizeLimit: 1 }))[0];

  const toAccount = (
    settings: LookupSettings,
    record: DirectoryRecord | undefined,
    name: string,
  ): AccountRecord | undefined =>
    record === undefined
      ? undefined
      : {
          dn: record.dn,
          name: attrOf(record.attrs, 'zimbraMailDeliveryAddress') ?? name,
          attrs: record.attrs,
          mailHost: attrOf(record.attrs, settings.mailHostAttribute),
          userName:
            settings.userNameAttribute === undefined
              ? undefined
              : attrOf(record.attrs, settings.userNameAttribute),
        };

  const accountAttributes = (settings: LookupSettings): string[] => [
    ...ACCOUNT_ATTRIBUTES,
    settings.mailHostAttribute,
    ...(settings.userNameAttribute === undefined ? [] : [settings.userNameAttribute]),
  ];

  return {
    domainByProxyIp: (settings, ip) =>
      byIp.get(ip, async () => {
        const filter = settings.domainNameQuery.replaceAll('${IPADDR}', () =>
          escapeLdapFilterValue(ip),
        );
        const record = await first(settings.domainNameSearchBase, filter, [
          settings.domainNameAttribute,
        ]);
        return record === undefined
          ? undefined
          : attrOf(record.attrs, settings.domainNameAttribute);
      }),
    domainByVirtualHost: (host) =>
      byVhost.get(host.toLowerCase(), async () => {
        const filter = `(&(zimbraVirtualHostname=${escapeLdapFilterValue(host)})(objectClass=zimbraDomain))`;
        const record = await first('', filter, ['zimbraDomainName']);
        return record === undefined ? undefined : attrOf(record.attrs, 'zimbraDomainName');
      }),
    domainByName: (name) =>
      byName.get(name.toLowerCase(), () =>
        first(
          '',
          `(&(zimbraDomainName=${escapeLdapFilterValue(name)})(objectClass=zimbraDomain))`,
          DOMAIN_ATTRIBUTES,
        ),
      ),
    domainById: (id) =>
      byId.get(id, () =>
        first(
          '',
          `(&(zimbraId=${escapeLdapFilterValue(id)})(objectClass=zimbraDomain))`,
          DOMAIN_ATTRIBUTES,
        ),
      ),
    async accountByName(settings, name) {
      const filter = settings.mailHostQuery.replaceAll('${USER}', () =>
        escapeLdapFilterValue(name),
      );
      return toAccount(
        settings,
        await first(settings.mailHostSearchBase, filter, accountAttributes(settings)),
        name,
      );
    },
    async accountById(settings, id) {
      const filter = `(&(zimbraId=${escapeLdapFilterValue(id)})(|(objectClass=zimbraAccount)(objectClass=zimbraCalendarResource)))`;
      return toAccount(
        settings,
        await first(settings.mailHostSearchBase, filter, accountAttributes(settings)),
        id,
      );
    },
    async portOf(settings, host, attribute) {
      const attrs = await ports.get(host.toLowerCase(), async () => {
        const filter = settings.portQuery.replaceAll('${MAILHOST}', () =>
          escapeLdapFilterValue(host),
        );
        const names = [...new Set(Object.values(settings.portAttributes))];
        return (await first(settings.portSearchBase, filter, names))?.attrs;
      });
      if (attrs === undefined) return undefined;
      const text = attrOf(attrs, attribute) ?? settings.globalPorts[attribute.toLowerCase()];
      const port = Number(text);
      return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
    },
    clear() {
      for (const memo of [byIp, byVhost, byName, byId, ports]) memo.clear();
    },
  };
}
