/** How to reach the directory over LDAP (from `--source ldap://…`, flags and localconfig). */

/** Options of the LDAP source. */
export interface LdapSourceOptions {
  /** URLs tried in order, failing over on connect error or timeout (localconfig `ldap_url`). */
  urls: readonly string[];
  /** Bind DN (localconfig `zimbra_ldap_userdn`). */
  bindDn: string;
  /** Bind password (localconfig `zimbra_ldap_password`). */
  bindPassword: string;
  /** Upgrade `ldap://` connections with StartTLS. @default false */
  startTls?: boolean;
  /** PEM CA bundle that signs the server certificate, for ldaps:// and StartTLS. */
  caFile?: string;
  /** Verify the server certificate. @default true */
  verifyCertificate?: boolean;
  /** Connect timeout per URL, in milliseconds. @default 5000 */
  connectTimeoutMs?: number;
  /** Timeout of each operation, in milliseconds. @default 30000 */
  operationTimeoutMs?: number;
  /** Entries per page of a paged search. @default 500 */
  pageSize?: number;
}
