/**
 * Request headers → a typed lookup request. nginx's mail module percent-encodes only control
 * characters, space and `%` in Auth-User and Auth-Pass and sends other bytes raw; Node.js hands
 * header bytes over as Latin-1 characters, so the value is turned back into bytes, unescaped and
 * decoded as UTF-8 (docs/stock-nginx.md "The `auth_http` request").
 */
import { UPSTREAM_TLS_HEADER, UPSTREAM_TLS_VALUE } from '../model/mail-tls-chain.js';
import type { RouteProtocol } from './settings.js';
import { ROUTE_PROTOCOLS } from './settings.js';

/** Request headers as node:http gives them: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One header value (the first when repeated), or undefined. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : value?.[0];
}

/** Auth-Method values: stock nginx (`plain`, `login`) and Zimbra's nginx (`username`, `zimbraId`). */
export type AuthMethod = 'plain' | 'login' | 'username' | 'zimbraId';

/** A mail route lookup (nginx `auth_http`, or Zimbra's `zm_lookup`). */
export interface MailLookupRequest {
  method: AuthMethod;
  /** The login name (or zimbraId), decoded. */
  user: string;
  /**
   * The password to verify: stock nginx sends the real one; undefined for Zimbra's methods,
   * whose nginx sends the placeholder `_password_` (the mailbox server authenticates then).
   */
  password: string | undefined;
  protocol: RouteProtocol;
  /** Auth-Login-Attempt: 1, 2, … within one client session (0 from Zimbra's web and Java callers). */
  attempt: number;
  clientIp: string | undefined;
  /** X-Proxy-IP: the virtual IP address the client connected to, when the listener has one. */
  proxyIp: string | undefined;
  /** Auth-SSL: on (the client connection is TLS). */
  ssl: boolean;
  /** Auth-Zimbra-Admin: True (an admin route). */
  admin: boolean;
  /**
   * X-Zmproxy-Upstream: tls (the stock templates' upstream-TLS chain, docs/mail-tls.md): answer
   * with the mailbox server's loopback chain listener instead of its plain port.
   */
  upstreamTls?: boolean;
}

/** The parse result: the request, or Zimbra's message for what is missing or wrong. */
export type ParsedMailRequest =
  { ok: true; request: MailLookupRequest } | { ok: false; message: string; attempt: number };

const METHODS: Readonly<Record<string, AuthMethod>> = {
  plain: 'plain',
  login: 'login',
  username: 'username',
  zimbraid: 'zimbraId',
};

/** Parses the headers of a mail lookup request. */
export function parseMailRequest(headers: RequestHeaders): ParsedMailRequest {
  const attemptText = headerOf(headers, 'auth-login-attempt');
  const attempt = attemptText !== undefined && /^\d+$/.test(attemptText) ? Number(attemptText) : 0;
  const fail = (message: string): ParsedMailRequest => ({ ok: false, message, attempt });
  const methodText = headerOf(headers, 'auth-method');
  if (methodText === undefined) return fail('missing header field Auth-Method');
  const method = METHODS[methodText.trim().toLowerCase()];
  if (method === undefined) return fail(`unsupported authentication method ${methodText}`);
  const userText = headerOf(headers, 'auth-user');
  if (userText === undefined || userText === '') return fail('missing header field Auth-User');
  const protocolText = headerOf(headers, 'auth-protocol')?.trim().toLowerCase();
  if (protocolText === undefined) return fail('missing header field Auth-Protocol');
  const protocol = ROUTE_PROTOCOLS.find((p) => p === protocolText);
  if (protocol === undefined) return fail(`unsupported protocol ${protocolText}`);
  const verifies = method === 'plain' || method === 'login';
  const passText = headerOf(headers, 'auth-pass');
  if (verifies && (passText === undefined || passText === '')) {
    return fail('missing header field Auth-Pass');
  }
  return {
    ok: true,
    request: {
      method,
      user: decodeAuthHeader(userText).trim(),
      password: verifies ? decodeAuthHeader(passText ?? '') : undefined,
      protocol,
      attempt,
      clientIp: headerOf(headers, 'client-ip')?.trim() || undefined,
      proxyIp: headerOf(headers, 'x-proxy-ip')?.trim() || undefined,
      ssl: headerOf(headers, 'auth-ssl')?.trim().toLowerCase() === 'on',
      // Admin routes (ZM_ADMIN_AUTH_TOKEN) need an endpoint of their own that only the admin
      // templates call; the shared route endpoint never grants one.
      admin: false,
      upstreamTls:
        (protocol === 'imap' || protocol === 'pop3') &&
        headerOf(headers, UPSTREAM_TLS_HEADER)?.trim().toLowerCase() === UPSTREAM_TLS_VALUE,
    },
  };
}

const DECODER = new TextDecoder('utf-8', { fatal: false });

/**
 * Unescapes `%XX` and decodes the bytes as UTF-8. `raw` holds one character per byte (Latin-1),
 * as node:http reads header values; a `%` not followed by two hex digits stays as it is.
 */
export function decodeAuthHeader(raw: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code === 0x25 && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(code & 0xff);
    }
  }
  return DECODER.decode(new Uint8Array(bytes));
}

/**
 * Escapes a login name for the `Auth-User` answer as nginx escapes it in requests: `%` first,
 * then space and control characters (Zimbra escaped space before `%`, which doubles the escape).
 */
export function encodeAuthHeader(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = '';
  for (const byte of bytes) {
    out +=
      byte <= 0x20 || byte === 0x25 || byte === 0x7f
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** A web route lookup (nginx `auth_request`). */
export interface WebRouteRequest {
  /** X-Original-URI: the client's request URI, query included. */
  uri: string;
  cookie: string | undefined;
  authorization: string | undefined;
  /** The client's Host header, without the port. */
  host: string | undefined;
  /** Client-IP: the address of the client nginx serves (for zimbraDomainAllowedIPs). */
  clientIp?: string | undefined;
  protocol: 'http' | 'httpssl';
  admin: boolean;
}

/** Parses the headers of a web route request. */
export function parseWebRequest(headers: RequestHeaders): WebRouteRequest {
  const protocol = headerOf(headers, 'auth-protocol')?.trim().toLowerCase();
  // Host only: our templates forward no client header but Cookie and Authorization, and a
  // client-chosen X-Proxy-Host or Auth-Zimbra-Admin must never steer a route.
  const host = headerOf(headers, 'host');
  return {
    uri: headerOf(headers, 'x-original-uri') ?? '/',
    cookie: headerOf(headers, 'cookie'),
    authorization: headerOf(headers, 'authorization'),
    host: host?.trim().replace(/:\d+$/, '').toLowerCase() || undefined,
    clientIp: headerOf(headers, 'client-ip')?.trim() || undefined,
    protocol: protocol === 'http' ? 'http' : 'httpssl',
    // Admin routes (ZM_ADMIN_AUTH_TOKEN) need an endpoint of their own that only the admin
    // templates call; the shared route endpoint never grants one.
    admin: false,
  };
}
