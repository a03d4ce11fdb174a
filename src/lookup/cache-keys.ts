/**
 * memcached key formats, exactly as Zimbra's nginx wrote them, so that `zmproxy
 * purge` and a mixed fleet agree on names. Values: a route is `<ip>:<port>` or
 * `[<ipv6>]:<port>`; an alias maps a login to the account name.
 */
import type { RouteProtocol } from './settings.js';

/**
 * nginx's escaping for memcached keys (and for auth_http headers): `%XX` for control characters,
 * space and `%`; other bytes, UTF-8 included, stay as they are. memcached's text protocol forbids
 * spaces and control characters in keys, which this removes.
 */
export function escapeKeyPart(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what gets escaped
    /[\u0000-\u0020%\u007f]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** `route:proto=<proto>;user=<account>` (unqualified names get `@<address>` appended). */
export function routeUserKey(protocol: RouteProtocol, user: string, address?: string): string {
  const qualified = isQualified(user) || address === undefined ? user : `${user}@${address}`;
  return `route:proto=${protocol};user=${escapeKeyPart(qualified)}`;
}

/** `route:proto=<proto>;id=<zimbraId>`, `…;admin=1;id=…` for admin routes. */
export function routeIdKey(protocol: RouteProtocol, id: string, admin = false): string {
  return `route:proto=${protocol};${admin ? 'admin=1;' : ''}id=${escapeKeyPart(id)}`;
}

/**
 * zmproxy's own key beside a route key: the account's DN, so that a cached route still allows
 * the password check (a bind as the account) without a search. Shared by every protocol:
 * `zmproxy:dn=user=<account>` or `zmproxy:dn=id=<zimbraId>`.
 */
export function dnKeyOf(routeKey: string): string {
  return `zmproxy:dn=${routeKey.slice(routeKey.indexOf(';') + 1)}`;
}

/**
 * zmproxy's own key beside a route key: the account's domain and its zimbraDomainAllowedIPs, as
 * JSON, so that a cached route is still refused to a client outside the domain's allowed IPs
 * while LDAP is down (route keys do not carry the client IP). Shared by every protocol, like
 * {@link dnKeyOf}: `zmproxy:allowedips=user=<account>` or `zmproxy:allowedips=id=<zimbraId>`.
 */
export function allowedIpsKeyOf(routeKey: string): string {
  return `zmproxy:allowedips=${routeKey.slice(routeKey.indexOf(';') + 1)}`;
}

/** `alias:user=<login>;ip=<proxy interface IP>` (mail). */
export function aliasIpKey(login: string, proxyIp: string): string {
  return `alias:user=${escapeKeyPart(login)};ip=${escapeKeyPart(proxyIp)}`;
}

/** `alias:user=<login>;vhost=<Host header>` (web). */
export function aliasVhostKey(login: string, vhost: string): string {
  return `alias:user=${escapeKeyPart(login)};vhost=${escapeKeyPart(vhost)}`;
}

/** `throttle:proto=<i|p>,ip=<client IP>` (the newer module's per-protocol IP counter). */
export function throttleIpKey(protocol: 'imap' | 'pop3', clientIp: string): string {
  return `throttle:proto=${protocol === 'imap' ? 'i' : 'p'},ip=${escapeKeyPart(clientIp)}`;
}

/** `throttle:user=<qualified user>` (one counter per user across protocols). */
export function throttleUserKey(user: string): string {
  return `throttle:user=${escapeKeyPart(user)}`;
}

/** nginx's rule: qualified when an `@` stands before the last character. */
function isQualified(user: string): boolean {
  const at = user.indexOf('@');
  return at >= 0 && at < user.length - 1;
}

/** What `zmproxy purge` removes for one account. */
export interface PurgeTarget {
  /** The account name, `u@d`. */
  account: string;
  /** zimbraId of the account, when known. */
  id?: string | undefined;
  /** Other names of the account: its aliases and the same name in alias domains. */
  otherNames?: readonly string[];
  /** The domain's virtual IP addresses (zimbraVirtualIPAddress). */
  vips?: readonly string[];
  /** The domain's virtual host names (zimbraVirtualHostname). */
  virtualHosts?: readonly string[];
}

/** Every key `zmproxypurge` would delete for `target`, without duplicates. */
export function computePurgeKeys(target: PurgeTarget): string[] {
  const keys = new Set<string>();
  for (const name of [target.account, ...(target.otherNames ?? [])]) {
    const at = name.lastIndexOf('@');
    const local = at >= 0 ? name.slice(0, at) : name;
    const domain = at >= 0 ? name.slice(at + 1) : '';
    for (const protocol of ['imap', 'imapssl', 'pop3', 'pop3ssl', 'http', 'httpssl'] as const) {
      keys.add(routeUserKey(protocol, name));
      keys.add(routeUserKey(protocol, local));
      for (const vip of target.vips ?? []) keys.add(routeUserKey(protocol, `${local}@${vip}`));
    }
    for (const user of [name, local]) {
      keys.add(dnKeyOf(routeUserKey('imap', user)));
      keys.add(allowedIpsKeyOf(routeUserKey('imap', user)));
    }
    for (const login of [name, local]) {
      if (domain !== '') keys.add(aliasIpKey(login, domain));
      keys.add(aliasIpKey(login, ''));
      for (const vip of target.vips ?? []) keys.add(aliasIpKey(login, vip));
      for (const vhost of target.virtualHosts ?? []) keys.add(aliasVhostKey(login, vhost));
    }
  }
  if (target.id !== undefined) {
    keys.add(routeIdKey('http', target.id));
    keys.add(routeIdKey('httpssl', target.id));
    keys.add(routeIdKey('httpssl', target.id, true));
    keys.add(dnKeyOf(routeIdKey('imap', target.id)));
    keys.add(allowedIpsKeyOf(routeIdKey('imap', target.id)));
  }
  return [...keys];
}
