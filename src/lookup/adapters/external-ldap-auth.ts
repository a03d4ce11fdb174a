/**
 * Password checks on a domain's external directory (zimbraAuthMech ldap/ad) over ldapts: one
 * short connection per check (these binds change the connection's identity, and the directories
 * differ per domain), StartTLS when the domain asks for it, URLs tried in order.
 */
import { ResultCodeError } from 'ldapts';
import { ProxyConfError } from '../../errors.js';
import { connectLdap } from '../../sources/ldap/index.js';
import type { ResolvedLdapSourceOptions } from '../../sources/ldap/index.js';
import type { ExternalDirectory, ExternalDirectoryAuth } from '../ports.js';
import { WRONG_CREDENTIALS_CODES } from './ldap-lookup-directory.js';

/** Connection settings shared by every external directory. */
export interface ExternalLdapAuthOptions {
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** @default 10000 */
  operationTimeoutMs?: number;
  /** PEM file of the CA that signed the external directories' certificates. */
  caFile?: string | undefined;
}

/** True when `error` is a bind refused for its credentials (not a server or transport problem). */
function isWrongCredentials(error: unknown): boolean {
  const cause = error instanceof ProxyConfError ? error.cause : error;
  return cause instanceof ResultCodeError && WRONG_CREDENTIALS_CODES.has(cause.code);
}

/** Creates the external-directory checks. */
export function createExternalLdapAuth(
  options: ExternalLdapAuthOptions = {},
): ExternalDirectoryAuth {
  const settings = (directory: ExternalDirectory, bind?: { dn: string; password: string }) =>
    ({
      urls: directory.urls,
      bindDn: bind?.dn ?? '',
      bindPassword: bind?.password ?? '',
      startTls: directory.startTls,
      caFile: options.caFile,
      verifyCertificate: true,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      operationTimeoutMs: options.operationTimeoutMs ?? 10_000,
      pageSize: 100,
    }) satisfies ResolvedLdapSourceOptions;

  return {
    async bind(directory, dn, password) {
      // An empty DN or password would be an anonymous bind, which LDAP servers accept.
      if (dn === '' || password === '') return false;
      try {
        const client = await connectLdap(settings(directory), { bind: { dn, password } });
        await client.unbind().catch(() => undefined);
        return true;
      } catch (error) {
        if (isWrongCredentials(error)) return false;
        throw error;
      }
    },
    async findDns(directory, search) {
      const bind =
        search.bindDn === undefined || search.bindDn === ''
          ? undefined
          : { dn: search.bindDn, password: search.bindPassword ?? '' };
      const client = await connectLdap(
        settings(directory, bind),
        bind === undefined ? {} : { bind },
      );
      try {
        const { searchEntries } = await client.search(search.base, {
          scope: 'sub',
          filter: search.filter,
          attributes: ['1.1'],
          sizeLimit: 2,
        });
        return searchEntries.map((entry) => entry.dn);
      } catch (error) {
        // sizeLimitExceeded: more than one entry matched, an ambiguous login.
        if (error instanceof ResultCodeError && error.code === 4) return ['', ''];
        if (error instanceof ResultCodeError && error.code === 32) return [];
        throw error;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },
  };
}
