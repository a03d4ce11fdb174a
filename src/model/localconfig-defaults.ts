/**
 * Zimbra's localconfig defaults for every key zmproxy reads (docs/zimbra-notes.md "Variables by
 * area", LC.java). A key absent from localconfig.xml, or present with an empty value, reads as
 * this default.
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
  /** The header mailboxd reads the client address from (the doctor compares it with what nginx sends). */
  zimbra_http_originating_ip_header: 'X-Forwarded-For',
  // zmproxy's own keys, read by the stock template set (src/vars/stock.ts).
  /** Dynamic nginx mail module loaded by the stock nginx.conf (Debian's libnginx-mod-mail). */
  zmproxy_nginx_mail_module: '/usr/lib/nginx/modules/ngx_mail_module.so',
  /** Dynamic nginx stream module, loaded for TLS to the mailbox servers and IMAPS/POP3S SNI. */
  zmproxy_nginx_stream_module: '/usr/lib/nginx/modules/ngx_stream_module.so',
  /** CA bundle (PEM) that signs the mailbox servers' IMAPS/POP3S certificates; empty: no verification. */
  zmproxy_mail_upstream_ca_file: '',
  /**
   * The one address this proxy's listen lines bind to; empty: every address. A loopback address
   * also moves the internal listeners (marker, auth_http, local lookup) to it (src/vars/bind-address.ts).
   */
  zmproxy_bind_address: '',
  /** Server name of the canary proxy `--canary-wait` waits for (src/engine/canary.ts); empty: none. */
  zmproxy_canary_server: '',
  /** Loopback address:port of nginx's own auth_http server, which proxies to the lookup handlers. */
  zmproxy_auth_http_listen: '127.0.0.1:7079',
  /**
   * Where nginx's lookups go: `local` (the service on this host), `host:port …` (remote
   * services), or `nle` (Zimbra's lookup extension in mailboxd). model/lookup-topology.ts.
   */
  zmproxy_lookup_servers: 'local',
  /** Address and port the local lookup service listens on (7077: clear of Zimbra's ports). */
  zmproxy_lookup_bind_address: '127.0.0.1',
  zmproxy_lookup_port: '7077',
  /** Scheme between nginx and the lookup services: http (loopback only) or https. */
  zmproxy_lookup_scheme: 'http',
  /** Certificate and key (PEM) of the local lookup service when it speaks https. */
  zmproxy_lookup_tls_cert: '',
  zmproxy_lookup_tls_key: '',
  /** Shared key nginx sends to the lookup service as X-Zmproxy-Key; empty sends none. */
  zmproxy_lookup_shared_key: '',
  /** CA bundle (PEM) that signs the lookup services' certificates; empty: no verification. */
  zmproxy_lookup_ca_file: '',
  /** Name the lookup services' certificates carry (nginx proxy_ssl_name). */
  zmproxy_lookup_tls_name: 'zmlookup',
  /** CA bundle (PEM) that signs the LDAP server certificate (ldaps:// and StartTLS); empty: Node's CAs. */
  zmproxy_ldap_ca_file: '',
  /** nginx worker_shutdown_timeout: old workers close their connections after this long. */
  zmproxy_worker_shutdown_timeout: '5m',
  /**
   * How the stock set gives virtual hosts their certificates: `static` (a server block each),
   * `map` (one server, certificate chosen at the handshake), or `auto` (map above the threshold).
   */
  zmproxy_certificate_selection: 'auto',
  /** Virtual host names above which `auto` selects the map (docs/certificates.md). */
  zmproxy_certificate_map_threshold: '100',
  /** Group nginx's workers run as (Debian's nginx without a user directive: nobody/nogroup). */
  zmproxy_nginx_group: 'nogroup',
};

/** A parsed localconfig: key to value, as written in localconfig.xml (no defaults applied). */
export type LocalConfig = ReadonlyMap<string, string>;
