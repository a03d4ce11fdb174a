/**
 * Connecting to LDAP with failover: the one place that builds an ldapts Client, sets up TLS,
 * binds, and translates connect and bind errors into ProxyConfError.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { ProxyConfError } from '../../errors.js';
import type { ResolvedLdapSourceOptions } from './ldap-directory.js';

/** What to tell the user when LDAP refuses the bind credentials. */
export const LDAP_AUTH_HINT =
  'check localconfig zimbra_ldap_userdn and zimbra_ldap_password (zmlocalconfig -s), or give --bind-dn and --bind-password-file';
/** What to tell the user when no LDAP URL answers. */
export const LDAP_CONNECT_HINT =
  'check localconfig ldap_url (space-separated URLs, tried in order) or --source ldap://host:port, and that slapd is running and reachable';

/** Options of {@link connectLdap} beyond the source options. */
export interface ConnectLdapOptions {
  /**
   * Bind as this identity once connected. Without it the client stays anonymous, and ldapts opens
   * the socket on the first operation.
   */
  bind?: { dn: string; password: string };
  /**
   * Replay the bind when ldapts reconnects after the server closed an idle connection (not
   * applied to StartTLS sessions: the replay would precede the upgrade). Leave it off for
   * clients that later bind as other users: ldapts would keep their credentials.
   * @default false
   */
  autoRebind?: boolean;
}

/**
 * Connects (StartTLS when asked, then binds when `bind` is given) to the first URL of
 * `options.urls` that answers within the connect timeout. A refused StartTLS or bind stops at once
 * with E_LDAP_AUTH (the credentials are the same for every URL); when every URL fails to answer it
 * throws E_LDAP_CONNECT listing each failure. An unreadable CA file is E_INPUT.
 */
export async function connectLdap(
  options: ResolvedLdapSourceOptions,
  connect: ConnectLdapOptions = {},
): Promise<Client> {
  const { bind, autoRebind = false } = connect;
  const failures: string[] = [];
  const tlsOptions = readTlsOptions(options);
  for (const url of options.urls) {
    const client = new Client({
      url,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set: only for ldaps://.
      ...(/^ldaps:/i.test(url) ? { tlsOptions } : {}),
      autoRebind,
    });
    try {
      await withTimeout(
        (async () => {
          if (options.startTls && /^ldap:/i.test(url)) await client.startTLS(tlsOptions);
          if (bind !== undefined) await client.bind(bind.dn, bind.password);
        })(),
        options.connectTimeoutMs,
        `no answer within ${options.connectTimeoutMs} ms`,
      );
      return client;
    } catch (error) {
      // After a failed bind ldapts keeps the socket open, which would keep Node alive.
      await client.unbind().catch(() => undefined);
      if (error instanceof ResultCodeError) {
        const step = bind === undefined ? 'StartTLS' : `bind as "${bind.dn}"`;
        throw new ProxyConfError(
          'E_LDAP_AUTH',
          `LDAP ${step} at ${url} failed: ${describeLdapResultError(error)}`,
          { hint: LDAP_AUTH_HINT, cause: error },
        );
      }
      failures.push(`${url}: ${describeLdapError(error)}`);
    }
  }
  throw new ProxyConfError(
    'E_LDAP_CONNECT',
    `cannot reach LDAP; tried ${failures.length} URL${failures.length === 1 ? '' : 's'}:\n  ${failures.join('\n  ')}`,
    { hint: LDAP_CONNECT_HINT },
  );
}

function readTlsOptions(options: ResolvedLdapSourceOptions): ConnectionOptions {
  const tls: ConnectionOptions = { rejectUnauthorized: options.verifyCertificate };
  if (options.caFile !== undefined) {
    try {
      tls.ca = readFileSync(options.caFile, 'utf8');
    } catch (error) {
      throw new ProxyConfError('E_INPUT', `cannot read the LDAP CA file ${options.caFile}`, {
        hint: 'give a readable PEM file of the CA that signed the LDAP server certificate',
        cause: error,
      });
    }
  }
  return tls;
}

/** `Invalid credentials (LDAP result code 49)`. */
export function describeLdapResultError(error: ResultCodeError): string {
  return `${error.message.trim() || error.name} (LDAP result code ${error.code})`;
}

/** `connect ECONNREFUSED 127.0.0.1:1` → `connection refused (ECONNREFUSED)`, and so on. */
export function describeLdapError(error: unknown): string {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    ETIMEDOUT: 'connection timed out',
  };
  const text = known[code];
  if (text !== undefined) return `${text} (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // The losing promise must not become an unhandled rejection.
    work.catch(() => undefined);
  }
}
