/**
 * The one error class of zmproxy. Every failure a user can act on is a ProxyConfError with a
 * code (which decides the exit code at the CLI) and, where we know it, a hint naming the next step.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_INPUT'
  | 'E_LDIF'
  | 'E_LOCALCONFIG'
  | 'E_LDAP_CONNECT'
  | 'E_LDAP_AUTH'
  | 'E_ATTR_INVALID'
  | 'E_TEMPLATE'
  | 'E_DNS'
  | 'E_NGINX_TEST'
  | 'E_WRITE'
  | 'E_INTERNAL';

/** Options of {@link ProxyConfError}. */
export interface ProxyConfErrorOptions {
  /** What the user should do next, printed as `hint: …`. */
  hint?: string;
  /** The foreign error this one translates. */
  cause?: unknown;
}

/** A failure with a code and a hint; never shown with a stack trace unless `--debug`. */
export class ProxyConfError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ProxyConfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyConfError';
    this.code = code;
    this.hint = options.hint;
  }
}

/**
 * One problem found while validating input. Problems are collected, never thrown one by one, so
 * that the user sees every problem of a run at once.
 */
export interface Problem {
  /** The attribute, localconfig key or template that is wrong. */
  subject: string;
  /** Where it was found: `server mail1.example.com`, `global config`, `domain example.com`, `file:line`. */
  entry: string;
  /** What is wrong, stated as a fact. */
  message: string;
  /** The offending value, when there is one. */
  value?: string | undefined;
  /** The command or setting that fixes it. */
  hint?: string | undefined;
}

/**
 * Every warning code, with what it means. The codes are stable: scripts, the `--apply` state
 * and de-duplication match them, never the message text. docs/warnings.md lists them (a test
 * keeps the two in step).
 */
export const WARNING_CODES = {
  W_UPSTREAM_SERVERS_INVALID:
    'none of the servers an upstream list names (zimbraReverseProxyUpstreamEwsServers / …LoginServers) is a valid upstream; that upstream is left out',
  W_FAIR_SHM_SIZE_RAISED:
    'zimbraReverseProxyUpstreamFairShmSize is below the minimum; the minimum is used',
  W_UPSTREAM_NO_PORT: 'an upstream server has no port attribute; it is listed with port 0',
  W_NO_LOOKUP_HANDLERS: 'no server qualifies as an nginx lookup handler',
  W_LOOKUP_HANDLER_LEFT_OUT:
    'a lookup handler is left out: no zimbraServiceHostname, or no address of the family zimbraIPMode asks for',
  W_LOOKUP_HANDLER_UNRESOLVED:
    'a lookup handler is left out: its zimbraServiceHostname does not resolve (-f makes it an error)',
  W_MEMCACHED_LEFT_OUT:
    'a memcached server is left out: no zimbraServiceHostname, or no address of the family zimbraIPMode asks for',
  W_MEMCACHED_UNRESOLVED:
    'a memcached server is left out: its zimbraServiceHostname does not resolve (-f makes it an error)',
  W_DOMAIN_CERT_INCOMPLETE:
    'a domain has a certificate without its key or a key without its certificate; it uses the default pair',
  W_VHOST_UNRESOLVED:
    'a virtual host name does not resolve; its servers listen on the wildcard address (-f makes it an error)',
  W_OVERRIDE_UNKNOWN: '-c names no known variable; the override is ignored',
  W_LOOKUP_TARGET_NOT_MAILBOX:
    'a server with zimbraReverseProxyLookupTarget TRUE does not run the mailbox service; it is left out',
  W_UPSTREAM_MAIL_MODE: 'an upstream server has no usable zimbraMailMode; it is left out',
  W_LOOKUP_TARGET_UNKNOWN:
    'zimbraReverseProxyAvailableLookupTargets names a server that does not exist',
  W_TEMPLATE_VARIABLE_UNKNOWN: '--lenient: a template names an unknown variable; it expands to ""',
  W_INVALID_VALUE: 'an invalid attribute value is skipped (zmprov garpu and friends)',
  W_MTA_AUTH_TARGET_NOT_MAILBOX:
    'a server with zimbraMtaAuthTarget TRUE does not run the mailbox service; it is left out',
  W_CERT_EXPIRING: 'a certificate about to be published expires soon',
  W_CERT_NAME_MISMATCH: "a domain's certificate does not name every one of its virtual host names",
  W_CERT_FORCED: 'a certificate that would be refused was published anyway (--force)',
  W_APPLY_STATE_UNWRITABLE: 'the --apply state file could not be written',
  W_PURGE_DOMAIN_EMPTY: 'zmproxypurge: a domain given has no account; nothing to purge for it',
  W_PURGE_MEMCACHED_UNANSWERED:
    'zmproxypurge: some memcached servers did not answer; their entries expire with the TTL',
  W_MAILBOX_TLS_SERVER_OFF:
    'TLS to the mailbox servers: a mailbox server has zimbraImapSSLServerEnabled or zimbraPop3SSLServerEnabled FALSE, so nothing listens where the proxy sends its logins',
  W_STOCK_LOOKUP_SCHEME_MIXED:
    'lookup handlers speak http and https; the older ones are left out of the lookup upstream',
  W_STOCK_LOOKUP_TLS_UNVERIFIED:
    'nginx reaches the lookup handlers over TLS without checking their certificates',
  W_STOCK_SHARED_KEY_EMPTY:
    'no lookup shared key: the lookup service cannot tell nginx from other clients',
  W_STOCK_UPSTREAM_TLS_UNVERIFIED:
    "nginx reaches the mailbox servers' IMAPS/POP3S ports without checking their certificates",
  W_STOCK_IMAP_ID: 'zimbraReverseProxySendImapId is TRUE; stock nginx cannot send IMAP ID',
  W_STOCK_POP3_XOIP: 'zimbraReverseProxySendPop3Xoip is TRUE; stock nginx cannot send POP3 XOIP',
  W_STOCK_GSSAPI: 'GSSAPI is enabled; stock nginx has no GSSAPI authentication',
  W_STOCK_SASL_PLAIN_ALWAYS_ON:
    'SASL PLAIN is disabled; stock nginx always accepts plain-text logins',
  W_STOCK_BANNER_VERSION: "the banner should name the version; stock nginx's greeting is fixed",
  W_STOCK_IMAP_ID_CAPABILITY:
    'zimbraReverseProxyImapEnabledCapability lists ID; stock nginx does not announce it before login',
  W_STOCK_STARTTLS_DEFAULT_CERT:
    "with SNI, STARTTLS clients on IMAP/POP3 get the default certificate, not their domain's",
  W_STOCK_VIP_SHARED:
    "two domains share a virtual IP address; its IMAP/POP3 servers use the first one's certificate",
  W_STOCK_LOGIN_UPSTREAM:
    'zimbraReverseProxyUpstreamLoginServers is set; the stock templates have no login upstream',
  W_STOCK_XMPP_BOSH: 'XMPP BOSH is enabled; the stock templates do not proxy it',
  W_STOCK_CERTAUTH: "client certificate login (/certauth) needs Zimbra's nginx; it is not proxied",
  W_STOCK_DOCS:
    'servers run the docs or onlyoffice service, which the stock templates do not proxy',
  W_STATUS_FILE_UNWRITABLE:
    'the run status file (conf/nginx/zmproxy-status.json, read by the marker endpoint and `zmproxy fleet status`) could not be written',
  W_SETUP_NO_LDAP_URL: 'zmproxyctl setup: localconfig has no ldap_url yet',
  W_SETUP_SELF_SIGNED_CERT:
    'zmproxyctl setup: the default certificate is a self-signed one it created',
} as const;

/** A warning's stable identity (see {@link WARNING_CODES}). */
export type WarningCode = keyof typeof WARNING_CODES;

/** A warning: generation continues, but the admin should know. */
export interface Warning {
  /** Stable across releases and wording changes (docs/warnings.md); what scripts and de-duplication match. */
  code: WarningCode;
  message: string;
  hint?: string | undefined;
}

/** The line a command prints for a warning: `warning[W_CODE]: message`. */
export function formatWarning(warning: Warning): string {
  return `warning[${warning.code}]: ${warning.message}`;
}

/** Formats a problem as `<subject> on <entry>: <message> (got "<value>")`. */
export function formatProblem(problem: Problem): string {
  const got = problem.value === undefined ? '' : ` (got ${JSON.stringify(problem.value)})`;
  return `${problem.subject} on ${problem.entry}: ${problem.message}${got}`;
}

/** Raised when validation collected problems; carries all of them, each with its own hint. */
export class ProblemsError extends ProxyConfError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], code: ErrorCode = 'E_ATTR_INVALID') {
    super(code, `${problems.length} problem${problems.length === 1 ? '' : 's'} found`, {
      hint: 'fix every value listed, then run again; no file was written',
    });
    this.problems = problems;
  }
}
