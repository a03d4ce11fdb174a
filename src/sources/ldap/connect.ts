/**
 * Connecting to LDAP with failover: the one place that builds an ldapts Client, sets up TLS,
 * binds, and translates connect and bind errors into ProxyConfError.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
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
/** What to tell the user when the server's certificate was refused. */
export const LDAP_TLS_HINT =
  'the LDAP server certificate must name the host written in ldap_url (DNS name or IP address) and be signed by a CA in the PEM file of localconfig zmproxy_ldap_ca_file; see docs/security.md';
/** What to tell the user when the server refused the StartTLS request. */
export const LDAP_STARTTLS_HINT =
  'configure TLS in slapd (olcTLSCertificateFile), or use an ldaps:// URL, or turn StartTLS off with localconfig ldap_starttls_supported=0';

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
 * `options.urls` that answers within the connect timeout. The server certificate (ldaps:// and
 * StartTLS alike) must name the host written in the URL. A server that refuses StartTLS stops at
 * once (E_LDAP_CONNECT, saying so); a refused bind stops at once with E_LDAP_AUTH (the
 * credentials are the same for every URL); when every URL fails to answer or shows a refused
 * certificate it throws E_LDAP_CONNECT listing each failure. An unreadable CA file is E_INPUT.
 */
export async function connectLdap(
  options: ResolvedLdapSourceOptions,
  connect: ConnectLdapOptions = {},
): Promise<Client> {
  const { bind, autoRebind = false } = connect;
  const failures: string[] = [];
  const baseTls = readTlsOptions(options);
  let refusedCertificate = false;
  for (const url of options.urls) {
    const tlsOptions = tlsOptionsFor(url, baseTls);
    const client = new Client({
      url,
      connectTimeout: options.connectTimeoutMs,
      timeout: options.operationTimeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set: only for ldaps://.
      ...(/^ldaps:/i.test(url) ? { tlsOptions } : {}),
      autoRebind,
    });
    // Set inside the closure below; an object, so that the catch block reads the current step.
    const progress: { step: 'connect' | 'StartTLS' | 'bind' } = { step: 'connect' };
    try {
      await withTimeout(
        (async () => {
          if (options.startTls && /^ldap:/i.test(url)) {
            progress.step = 'StartTLS';
            await client.startTLS(tlsOptions);
          }
          progress.step = 'bind';
          if (bind !== undefined) await client.bind(bind.dn, bind.password);
        })(),
        options.connectTimeoutMs,
        `no answer within ${options.connectTimeoutMs} ms`,
      );
      return client;
    } catch (error) {
      // After a failed bind ldapts keeps the socket open, which would keep Node alive.
      await client.unbind().catch(() => undefined);
      if (error instanceof ResultCodeError && progress.step === 'StartTLS') {
        throw new ProxyConfError(
          'E_LDAP_CONNECT',
          `the LDAP server at ${url} refused StartTLS: ${describeLdapResultError(error)}`,
          { hint: LDAP_STARTTLS_HINT, cause: error },
        );
      }
      if (error instanceof ResultCodeError) {
        const what = bind === undefined ? 'operation' : `bind as "${bind.dn}"`;
        throw new ProxyConfError(
          'E_LDAP_AUTH',
          `LDAP ${what} at ${url} failed: ${describeLdapResultError(error)}`,
          { hint: LDAP_AUTH_HINT, cause: error },
        );
      }
      if (isCertificateError(error)) refusedCertificate = true;
      failures.push(`${url}: ${describeLdapError(error, hostOfLdapUrl(url))}`);
    }
  }
  throw new ProxyConfError(
    'E_LDAP_CONNECT',
    `cannot reach LDAP; tried ${failures.length} URL${failures.length === 1 ? '' : 's'}:\n  ${failures.join('\n  ')}`,
    { hint: refusedCertificate ? LDAP_TLS_HINT : LDAP_CONNECT_HINT },
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

/**
 * The TLS options for one URL. Node checks the certificate against `servername`, else `host`,
 * else "localhost": for StartTLS (a socket handed over, no host) it must be told the URL's host.
 * SNI takes DNS names only, so an IP address goes in `host`.
 */
export function tlsOptionsFor(url: string, base: ConnectionOptions): ConnectionOptions {
  const host = hostOfLdapUrl(url);
  return { ...base, host, ...(isIP(host) === 0 ? { servername: host } : {}) };
}

/** The host of an LDAP URL as ldapts reads it (brackets of an IPv6 address removed). */
export function hostOfLdapUrl(url: string): string {
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    // resolveLdapSourceOptions refused such URLs already.
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host === '' ? 'localhost' : host;
}

const CERTIFICATE_ERROR_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
]);

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
}

/** Whether TLS refused the server's certificate (name, chain, validity). */
export function isCertificateError(error: unknown): boolean {
  return CERTIFICATE_ERROR_CODES.has(errorCode(error));
}

/** `Invalid credentials (LDAP result code 49)`. */
export function describeLdapResultError(error: ResultCodeError): string {
  return `${error.message.trim() || error.name} (LDAP result code ${error.code})`;
}

/**
 * `connect ECONNREFUSED 127.0.0.1:1` → `connection refused (ECONNREFUSED)`; a refused
 * certificate says so and names the host it was checked against.
 */
export function describeLdapError(error: unknown, host?: string): string {
  const code = errorCode(error);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS refused the server certificate: it does not name ${host ?? 'the host'} (${code})`;
  }
  if (isCertificateError(error)) {
    const message = error instanceof Error ? error.message : code;
    return `TLS refused the server certificate: ${message} (${code})`;
  }
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
