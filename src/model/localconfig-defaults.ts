/**
 * Zimbra's localconfig defaults for every key zmproxy reads (ref §5, LC.java). A key absent from
 * localconfig.xml, or present with an empty value, reads as this default.
 */
export const LOCALCONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  zimbra_home: '/opt/zimbra',
  zimbra_server_hostname: 'localhost',
  zimbra_log_directory: '/opt/zimbra/log',
  ldap_url: 'ldap://localhost:389',
  ldap_master_url: 'ldap://localhost:389',
  zimbra_ldap_userdn: 'uid=zimbra,cn=admins,cn=zimbra',
  zimbra_ldap_password: 'zimbra',
  ldap_nginx_password: 'zmnginx',
  krb5_keytab: '/opt/zimbra/conf/krb5.keytab',
  krb5_service_principal_from_interface_address: 'false',
  imap_max_idle_time: '60',
  imap_authenticated_max_idle_time: '1800',
  pop3_max_idle_time: '60',
  proxy_server_names_hash_max_size: '512',
  proxy_server_names_hash_bucket_size: '64',
  zimbra_noop_max_timeout: '1200',
  zimbra_waitset_max_request_timeout: '1200',
  zimbra_require_interprocess_security: '1',
  zmconfigd_listen_port: '7171',
  zimbra_zmprov_default_to_ldap: 'false',
};

/** A parsed localconfig: key to value, as written in localconfig.xml (no defaults applied). */
export type LocalConfig = ReadonlyMap<string, string>;
