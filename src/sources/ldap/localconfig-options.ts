/** LDAP source options from Zimbra's localconfig, with flags taking precedence. */
import { LOCALCONFIG_DEFAULTS } from '../../model/localconfig-defaults.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';
import type { LdapSourceOptions } from './options.js';

/** What flags may set instead of localconfig (`--source ldap://…`, `--bind-dn`, a password file). */
export type LdapOptionOverrides = Partial<LdapSourceOptions>;

/**
 * Maps localconfig `ldap_url` (space-separated, tried in order), `zimbra_ldap_userdn`,
 * `zimbra_ldap_password`, `ldap_starttls_supported` (`1`/`true`: StartTLS on ldap:// URLs) and
 * zmproxy's own `zmproxy_ldap_ca_file` (PEM CA bundle for ldaps:// and StartTLS; Zimbra keeps
 * its trust in a Java keystore, which Node cannot read) to options; a key that is absent or empty reads as Zimbra's default. Each override that is
 * not undefined wins over localconfig.
 * @see Zimbra/zm-mailbox common/src/java/com/zimbra/common/localconfig/LC.java
 */
export function ldapOptionsFromLocalConfig(
  lc: LocalConfig,
  overrides: LdapOptionOverrides = {},
): LdapSourceOptions {
  const read = (key: string): string => {
    const value = lc.get(key)?.trim();
    return value === undefined || value === '' ? (LOCALCONFIG_DEFAULTS[key] ?? '') : value;
  };
  const startTls = /^(1|true|yes)$/i.test(lc.get('ldap_starttls_supported')?.trim() ?? '');
  const options: LdapSourceOptions = {
    urls: read('ldap_url')
      .split(/\s+/)
      .filter((url) => url !== ''),
    bindDn: read('zimbra_ldap_userdn'),
    bindPassword: read('zimbra_ldap_password'),
    startTls,
  };
  const caFile = lc.get('zmproxy_ldap_ca_file')?.trim() ?? '';
  if (caFile !== '') options.caFile = caFile;
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) Object.assign(options, { [key]: value });
  }
  return options;
}
