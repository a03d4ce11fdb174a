/**
 * The global-config settings the lookup service works with, read from the raw
 * global config entry with Zimbra's installed values (the catalog's globalConfigValue) for what
 * the entry lacks. A value that does not parse falls back to that default and is reported.
 */
import { attribute } from '../model/attribute-catalog.js';
import type { AttributeMap } from '../model/snapshot.js';
import { parseDuration, parseInteger, parseIpOrCidr } from '../model/value-types.js';

/** The route protocols of Zimbra's NLE. */
export const ROUTE_PROTOCOLS = ['imap', 'imapssl', 'pop3', 'pop3ssl', 'http', 'httpssl'] as const;
export type RouteProtocol = (typeof ROUTE_PROTOCOLS)[number];

/** Per-protocol IP login limit: `max` logins per `ttlSeconds`, 0 = off. */
export interface LoginLimit {
  max: number;
  ttlSeconds: number;
}

/** Everything the lookup core reads from the global config. */
export interface LookupSettings {
  /** zimbraReverseProxyAuthWaitInterval in whole seconds (at least 1). */
  authWaitSeconds: number;
  /** zimbraReverseProxyCacheEntryTTL in whole seconds, rounded up. */
  cacheTtlSeconds: number;
  defaultDomain: string | undefined;
  mailHostQuery: string;
  mailHostSearchBase: string;
  mailHostAttribute: string;
  userNameAttribute: string | undefined;
  portQuery: string;
  portSearchBase: string;
  /** The server attribute holding the port of each protocol (…PortAttribute), plus admin. */
  portAttributes: Readonly<Record<RouteProtocol | 'admin', string>>;
  /** The global config's value of each port attribute, the fallback of a server without one. */
  globalPorts: Readonly<Record<string, string>>;
  domainNameQuery: string;
  domainNameSearchBase: string;
  domainNameAttribute: string;
  throttle: ThrottleSettings;
}

/** Login throttle settings. */
export interface ThrottleSettings {
  ip: LoginLimit;
  ipImap: LoginLimit;
  ipPop3: LoginLimit;
  ipMessage: string;
  user: LoginLimit;
  userMessage: string;
  /** zimbraReverseProxyIPThrottleWhitelist: IPs and CIDR blocks exempt from the IP throttle. */
  whitelist: readonly string[];
}

const PORT_ATTRIBUTE_OF: Readonly<Record<RouteProtocol | 'admin', string>> = {
  imap: 'zimbraReverseProxyImapPortAttribute',
  imapssl: 'zimbraReverseProxyImapSSLPortAttribute',
  pop3: 'zimbraReverseProxyPop3PortAttribute',
  pop3ssl: 'zimbraReverseProxyPop3SSLPortAttribute',
  http: 'zimbraReverseProxyHttpPortAttribute',
  httpssl: 'zimbraReverseProxyHttpSSLPortAttribute',
  admin: 'zimbraReverseProxyAdminPortAttribute',
};

/** Reads the settings; `problems` lists values that did not parse (their defaults are used). */
export function computeLookupSettings(config: AttributeMap): {
  settings: LookupSettings;
  problems: string[];
} {
  const problems: string[] = [];
  const lower = new Map(
    Object.entries(config).map(([name, values]) => [name.toLowerCase(), values]),
  );
  const raw = (name: string): string | undefined => lower.get(name.toLowerCase())?.[0];
  const text = (name: string): string => raw(name) ?? attribute(name).globalConfigValue?.[0] ?? '';
  const optional = (name: string): string | undefined => {
    const value = raw(name) ?? attribute(name).globalConfigValue?.[0];
    return value === undefined || value === '' ? undefined : value;
  };
  const seconds = (name: string, roundUp: boolean): number => {
    const parsed = parseDuration(text(name));
    if (parsed.ok)
      return roundUp ? Math.ceil(parsed.value / 1000) : Math.floor(parsed.value / 1000);
    problems.push(`${name} on global config: ${parsed.message} (got "${text(name)}")`);
    const fallback = parseDuration(attribute(name).globalConfigValue?.[0] ?? '0');
    return fallback.ok ? Math.ceil(fallback.value / 1000) : 0;
  };
  const integer = (name: string): number => {
    const parsed = parseInteger(text(name), 0);
    if (parsed.ok) return parsed.value;
    problems.push(`${name} on global config: ${parsed.message} (got "${text(name)}")`);
    return Number(attribute(name).globalConfigValue?.[0] ?? 0);
  };
  const limit = (max: string, ttl: string): LoginLimit => ({
    max: integer(max),
    ttlSeconds: integer(ttl),
  });

  const portAttributes = Object.fromEntries(
    Object.entries(PORT_ATTRIBUTE_OF).map(([protocol, name]) => [protocol, text(name)]),
  ) as Record<RouteProtocol | 'admin', string>;
  const globalPorts: Record<string, string> = {};
  for (const name of Object.values(portAttributes)) {
    const value = raw(name);
    if (value !== undefined) globalPorts[name.toLowerCase()] = value;
  }
  const whitelist: string[] = [];
  for (const entry of lower.get('zimbraReverseProxyIPThrottleWhitelist'.toLowerCase()) ?? []) {
    const parsed = parseIpOrCidr(entry.trim());
    if (parsed.ok) whitelist.push(parsed.value);
    else
      problems.push(
        `zimbraReverseProxyIPThrottleWhitelist on global config: ${parsed.message} (got "${entry}")`,
      );
  }

  return {
    settings: {
      authWaitSeconds: Math.max(1, seconds('zimbraReverseProxyAuthWaitInterval', false)),
      cacheTtlSeconds: Math.max(1, seconds('zimbraReverseProxyCacheEntryTTL', true)),
      defaultDomain: optional('zimbraDefaultDomainName'),
      mailHostQuery: text('zimbraReverseProxyMailHostQuery'),
      mailHostSearchBase: text('zimbraReverseProxyMailHostSearchBase'),
      mailHostAttribute: text('zimbraReverseProxyMailHostAttribute'),
      userNameAttribute: optional('zimbraReverseProxyUserNameAttribute'),
      portQuery: text('zimbraReverseProxyPortQuery'),
      portSearchBase: text('zimbraReverseProxyPortSearchBase'),
      portAttributes,
      globalPorts,
      domainNameQuery: text('zimbraReverseProxyDomainNameQuery'),
      domainNameSearchBase: text('zimbraReverseProxyDomainNameSearchBase'),
      domainNameAttribute: text('zimbraReverseProxyDomainNameAttribute'),
      throttle: {
        ip: limit('zimbraReverseProxyIPLoginLimit', 'zimbraReverseProxyIPLoginLimitTime'),
        ipImap: limit(
          'zimbraReverseProxyIPLoginImapLimit',
          'zimbraReverseProxyIPLoginImapLimitTime',
        ),
        ipPop3: limit(
          'zimbraReverseProxyIPLoginPop3Limit',
          'zimbraReverseProxyIPLoginPop3LimitTime',
        ),
        ipMessage: text('zimbraReverseProxyIpThrottleMsg'),
        user: limit('zimbraReverseProxyUserLoginLimit', 'zimbraReverseProxyUserLoginLimitTime'),
        userMessage: text('zimbraReverseProxyUserThrottleMsg'),
        whitelist,
      },
    },
    problems,
  };
}

/**
 * The names of the settings that differ between two readings (for the change log line); nested
 * groups name their member, e.g. `throttle.user`.
 */
export function listChangedSettings(before: LookupSettings, after: LookupSettings): string[] {
  const changed: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const nested =
      path === 'throttle' &&
      typeof a === 'object' &&
      typeof b === 'object' &&
      a !== null &&
      b !== null;
    if (!nested) {
      changed.push(path);
      return;
    }
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(left), ...Object.keys(right)]))
      walk(left[key], right[key], `${path}.${key}`);
  };
  for (const name of Object.keys(after) as (keyof LookupSettings)[])
    walk(before[name], after[name], name);
  return changed;
}
