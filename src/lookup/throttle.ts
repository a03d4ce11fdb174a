/**
 * Login throttling as pure arithmetic: which counter a login increments, with which
 * TTL, and whether the new count is over the limit. Counters live in memcached (a fixed window
 * from the first hit: the TTL is set when the counter is created and never extended).
 */
import { matchesAnyAddress } from './address-match.js';
import { throttleIpKey, throttleUserKey } from './cache-keys.js';
import type { RouteProtocol, ThrottleSettings } from './settings.js';

/** One counter to increment and the limit it is held to. */
export interface ThrottleCheck {
  kind: 'ip' | 'user';
  key: string;
  max: number;
  ttlSeconds: number;
  /** The reject message (zimbraReverseProxyIpThrottleMsg / …UserThrottleMsg). */
  message: string;
}

/** The mail protocol family of a route protocol, or undefined for web protocols. */
export function mailFamily(protocol: RouteProtocol): 'imap' | 'pop3' | undefined {
  if (protocol === 'imap' || protocol === 'imapssl') return 'imap';
  if (protocol === 'pop3' || protocol === 'pop3ssl') return 'pop3';
  return undefined;
}

/**
 * The IP counter of a mail login, or undefined when the IP throttle is off (max 0), the client
 * is whitelisted, or its address is unknown. The protocol's own limit applies when it is above 0,
 * else the general one; the same rule picks the TTL.
 */
export function planIpThrottle(
  settings: ThrottleSettings,
  protocol: RouteProtocol,
  clientIp: string | undefined,
): ThrottleCheck | undefined {
  const family = mailFamily(protocol);
  if (family === undefined || clientIp === undefined) return undefined;
  const own = family === 'imap' ? settings.ipImap : settings.ipPop3;
  const limit = own.max > 0 ? own : settings.ip;
  if (limit.max <= 0) return undefined;
  if (matchesAnyAddress(clientIp, settings.whitelist)) return undefined;
  return {
    kind: 'ip',
    key: throttleIpKey(family, clientIp),
    max: limit.max,
    ttlSeconds: Math.max(1, limit.ttlSeconds),
    message: settings.ipMessage,
  };
}

/** The user counter of a login (one counter per user across protocols), or undefined when off. */
export function planUserThrottle(
  settings: ThrottleSettings,
  protocol: RouteProtocol,
  user: string,
): ThrottleCheck | undefined {
  if (mailFamily(protocol) === undefined || settings.user.max <= 0) return undefined;
  return {
    kind: 'user',
    key: throttleUserKey(user.toLowerCase()),
    max: settings.user.max,
    ttlSeconds: Math.max(1, settings.user.ttlSeconds),
    message: settings.userMessage,
  };
}

/** Allowed while the count (this login included) is at most the limit. */
export function isOverLimit(check: ThrottleCheck, count: number): boolean {
  return count > check.max;
}
