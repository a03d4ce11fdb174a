/**
 * Which user a web request belongs to, in the order of Zimbra's nginx zmauth module: REST paths,
 * ActiveSync, CalDAV, then the auth token cookie; admin routes read only the admin token. Pure
 * string work: the token's HMAC is not checked (the mailbox server does that); the answer only
 * picks a backend.
 *
 * nginx caches route answers under a key (protocol.ts, ROUTE_KEYED_URIS): the classifier reads
 * the URI only as that key holds it, so a request whose URI is not in the key cannot teach the
 * cache a route that other requests with the same key would then get.
 */
import type { WebRouteRequest } from './parse-request.js';
import { routeKeyedUri } from './protocol.js';

/** Who the request names: a user name, an account id, or nobody. */
export type WebIdentity =
  | { kind: 'user'; name: string; source: 'rest' | 'activesync' | 'dav' }
  | { kind: 'id'; id: string; source: 'token' | 'admin-token' }
  | { kind: 'none' };

const REST = /^\/(?:service\/)?home\/~?([^/?#]+)(?:[/?#]|$)/i;
const DAV = /^\/(?:dav|principals\/users)\/([^/?#]+)(?:[/?#]|$)/i;
const ACTIVESYNC = /^\/Microsoft-Server-ActiveSync(?:[/?#]|$)/i;

/** Classifies a web request. */
export function classifyWebRequest(request: WebRouteRequest): WebIdentity {
  if (request.admin) {
    const id = tokenAccountId(cookieValue(request.cookie, 'ZM_ADMIN_AUTH_TOKEN'));
    return id === undefined ? { kind: 'none' } : { kind: 'id', id, source: 'admin-token' };
  }
  const [path = '/', query = ''] = (routeKeyedUri(request.uri) || '/').split('?', 2);
  const rest = REST.exec(path)?.[1];
  // `/home/~/…` names the authenticated user: fall through to the token.
  if (rest !== undefined && rest !== '~') {
    return { kind: 'user', name: safeDecode(rest), source: 'rest' };
  }
  if (ACTIVESYNC.test(path)) {
    const user = basicUser(request.authorization) ?? queryArgument(query, 'User');
    if (user !== undefined && user !== '')
      return { kind: 'user', name: user, source: 'activesync' };
  }
  const dav = DAV.exec(path)?.[1];
  if (dav !== undefined) return { kind: 'user', name: safeDecode(dav), source: 'dav' };
  const token = cookieValue(request.cookie, 'ZM_AUTH_TOKEN') ?? queryArgument(query, 'zauthtoken');
  const id = tokenAccountId(token);
  if (id !== undefined) return { kind: 'id', id, source: 'token' };
  return { kind: 'none' };
}

/**
 * The value of one cookie of a Cookie header: the first whose name matches case-insensitively,
 * as nginx's `$cookie_NAME` (the route cache key) picks it.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const wanted = name.toLowerCase();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === wanted)
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

function queryArgument(query: string, name: string): string | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return safeDecode((eq < 0 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '));
  }
  return undefined;
}

/** The user of `Authorization: Basic …`; `domain\user` becomes `user@domain`. */
function basicUser(header: string | undefined): string | undefined {
  const match = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = decodeBase64(match[1]);
  if (decoded === undefined) return undefined;
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const slash = user.indexOf('\\');
  if (slash > 0) return `${user.slice(slash + 1)}@${user.slice(0, slash)}`;
  return user === '' ? undefined : user;
}

/**
 * The account id in a Zimbra auth token `<key version>_<hmac>_<hex data>`: the data is hex of
 * `name=len:value;…` fields, and `id` is the account's zimbraId.
 */
export function tokenAccountId(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  const parts = token.split('_');
  const hex = parts.length >= 3 ? parts.slice(2).join('_') : undefined;
  if (hex === undefined || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined;
  const data = decodeHex(hex);
  let at = 0;
  while (at < data.length) {
    const eq = data.indexOf('=', at);
    const colon = data.indexOf(':', eq);
    if (eq < 0 || colon < 0) return undefined;
    const name = data.slice(at, eq);
    const length = Number(data.slice(eq + 1, colon));
    if (!Number.isInteger(length) || length < 0) return undefined;
    const value = data.slice(colon + 1, colon + 1 + length);
    if (name === 'id') return value === '' ? undefined : value;
    at = colon + 1 + length;
    if (data[at] === ';') at += 1;
  }
  return undefined;
}

const DECODER = new TextDecoder('utf-8', { fatal: false });

function decodeHex(hex: string): string {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return DECODER.decode(bytes);
}

function decodeBase64(text: string): string | undefined {
  try {
    const binary = atob(text);
    return DECODER.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
