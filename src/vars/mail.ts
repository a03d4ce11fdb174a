/**
 * Variables of the mail area (docs/zimbra-notes.md "Variables by area"): the `mail{}` block and
 * the IMAP/POP3 servers — which protocols are on, their ports, STARTTLS modes, SASL mechanisms,
 * banners and capabilities. Throttling and timeouts live in throttle.ts and timeouts.ts, TLS
 * settings in ssl.ts.
 */
import { attribute } from '../model/attribute-catalog.js';
import { entryName } from '../model/snapshot.js';
import { controlCharacterReason, escapeNginxString } from '../model/value-types.js';
import type { EntryReader, FoundValues } from '../resolve/attribute-reader.js';
import { attrVar, constVar, customVar, lcVar } from './define.js';
import type { VarArea, VarContext, VariableDefinition } from './types.js';

/** Options of {@link quotedAttrVar}. */
export interface QuotedAttrVarOptions {
  name: string;
  area: VarArea;
  description: string;
  attribute: string;
  source: 'server' | 'config';
  defaultValue: string;
}

/**
 * A text attribute the template wraps in double quotes: spaces and `;` are fine there, so the
 * value is escaped for the inside of an nginx string rather than rejected; a line break or a
 * control character, which no quoting makes safe, is reported by the reader.
 */
export function quotedAttrVar(options: QuotedAttrVarOptions): VariableDefinition {
  return customVar({
    name: options.name,
    area: options.area,
    description: options.description,
    attribute: options.attribute,
    type: 'string',
    source: options.source,
    defaultText: escapeNginxString(options.defaultValue),
    compute: (ctx) =>
      escapeNginxString(
        (options.source === 'server' ? ctx.server : ctx.config).text(
          options.attribute,
          options.defaultValue,
        ),
      ),
  });
}

/** The zmprov command that removes one value of a multi-valued attribute where it was found. */
export function removeValueHint(
  found: FoundValues | undefined,
  name: string,
  value: string,
): string {
  const target =
    found === undefined || found.from.kind === 'globalConfig'
      ? 'mcf'
      : `ms ${entryName(found.from)}`;
  return `zmprov ${target} -${name} '${value}'`;
}

/**
 * ProxyConfGen's capabilities when the attribute has no value: the catalog's code default
 * (docs/zimbra-notes.md "Code defaults that differ from LDAP defaults").
 */
const DEFAULT_IMAP_CAPABILITIES =
  attribute('zimbraReverseProxyImapEnabledCapability').codeDefault ?? [];
const DEFAULT_POP3_CAPABILITIES =
  attribute('zimbraReverseProxyPop3EnabledCapability').codeDefault ?? [];

function capabilityReason(value: string): string | undefined {
  const control = controlCharacterReason(value);
  if (control !== undefined) return control;
  if (value.trim() === '') return 'is empty';
  if (/["\\]/.test(value))
    return 'contains a quote or backslash, which would end the quoted capability';
  if (/[;{}]/.test(value)) return 'contains ; { or }, which no IMAP or POP3 capability has';
  return undefined;
}

/**
 * Each capability as ` "<cap>"` (a leading space, double quotes), concatenated
 * (docs/zimbra-notes.md "Variables by area"). The code default applies only when neither
 * serverSource nor the global config has values; a value that would break the quoted string is
 * reported and left out.
 */
function formatCapabilities(
  reader: EntryReader,
  name: string,
  defaults: readonly string[],
): string {
  const found = reader.find(name);
  const values = found?.values ?? defaults;
  return values
    .filter((value) => {
      const why = capabilityReason(value);
      if (why !== undefined)
        reader.report(name, found, value, why, removeValueHint(found, name, value));
      return why === undefined;
    })
    .map((value) => ` "${value}"`)
    .join('');
}

/** Shown for the version and release when serverSource carries no usable version. */
const UNKNOWN_VERSION = 'unknown';

/** Letters, digits, `.`, `_`, `+`, `-`: what Zimbra build versions are made of. */
const VERSION_TEXT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * The version and release shown in banners and the IMAP ID answer.
 *
 * ProxyConfGen prints the build info of its own JVM; we have no build of our own, so we use
 * serverSource's zimbraServerVersion, which mailboxd writes at start-up (e.g.
 * `10.1.0_GA_4633`). The version is that text whole, which is what Zimbra itself prints in its
 * banners; the release is the part after the first `_` (`GA_4633`), the build's class and number.
 * A server without the attribute (a proxy-only host never runs mailboxd) shows `unknown`.
 */
function computeVersion(ctx: VarContext): { version: string; release: string } {
  const name = 'zimbraServerVersion';
  const found = ctx.server.find(name);
  const text = found?.values[0];
  if (text === undefined) return { version: UNKNOWN_VERSION, release: UNKNOWN_VERSION };
  if (!VERSION_TEXT.test(text)) {
    ctx.server.report(
      name,
      found,
      text,
      'not a Zimbra version (expected text such as 10.1.0_GA_4633)',
    );
    return { version: UNKNOWN_VERSION, release: UNKNOWN_VERSION };
  }
  const underscore = text.indexOf('_');
  const release = underscore > 0 ? text.slice(underscore + 1) : '';
  return { version: text, release: release === '' ? UNKNOWN_VERSION : release };
}

/** A banner naming the version when the expose attribute is TRUE, else "" (nginx's default). */
function greeting(
  ctx: VarContext,
  exposeAttribute: string,
  banner: (version: string) => string,
): string {
  if (!ctx.server.boolean(exposeAttribute, false)) return '';
  // The template wraps the greeting in double quotes.
  return escapeNginxString(banner(computeVersion(ctx).version));
}

export const MAIL_VARIABLES: readonly VariableDefinition[] = [
  attrVar({
    name: 'mail.enabled',
    area: 'mail',
    description: 'Enables the mail proxy (the mail include of nginx.conf)',
    attribute: 'zimbraReverseProxyMailEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.imap.enabled',
    area: 'mail',
    description: 'Enables the plain IMAP proxy server',
    attribute: 'zimbraReverseProxyMailImapEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.imaps.enabled',
    area: 'mail',
    description: 'Enables the IMAP over TLS proxy server',
    attribute: 'zimbraReverseProxyMailImapsEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.pop3.enabled',
    area: 'mail',
    description: 'Enables the plain POP3 proxy server',
    attribute: 'zimbraReverseProxyMailPop3Enabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.pop3s.enabled',
    area: 'mail',
    description: 'Enables the POP3 over TLS proxy server',
    attribute: 'zimbraReverseProxyMailPop3sEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.passerrors',
    area: 'mail',
    description: 'Whether the mail proxy passes upstream error messages on to the client',
    attribute: 'zimbraReverseProxyPassErrors',
    type: 'boolean',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.proxy.ssl',
    area: 'mail',
    description: 'Whether the mail proxy talks TLS to the upstream mail servers',
    attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
    type: 'boolean',
    source: 'server',
    defaultValue: true,
  }),
  customVar({
    name: 'mail.imap.greeting',
    area: 'mail',
    description: 'IMAP banner naming the Zimbra version, or empty for the default banner',
    attribute: 'zimbraReverseProxyImapExposeVersionOnBanner',
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) =>
      greeting(
        ctx,
        'zimbraReverseProxyImapExposeVersionOnBanner',
        (version) => `* OK Zimbra ${version} IMAP4 ready`,
      ),
  }),
  customVar({
    name: 'mail.pop3.greeting',
    area: 'mail',
    description: 'POP3 banner naming the Zimbra version, or empty for the default banner',
    attribute: 'zimbraReverseProxyPop3ExposeVersionOnBanner',
    type: 'string',
    source: 'server',
    defaultText: '',
    compute: (ctx) =>
      greeting(
        ctx,
        'zimbraReverseProxyPop3ExposeVersionOnBanner',
        (version) => `+OK Zimbra ${version} POP3 ready`,
      ),
  }),
  customVar({
    name: 'mail.imapcapa',
    area: 'mail',
    description: 'IMAP capabilities the proxy announces before login, each quoted',
    attribute: 'zimbraReverseProxyImapEnabledCapability',
    type: 'custom',
    source: 'server',
    defaultText: DEFAULT_IMAP_CAPABILITIES.map((cap) => ` "${cap}"`).join(''),
    compute: (ctx) =>
      formatCapabilities(
        ctx.server,
        'zimbraReverseProxyImapEnabledCapability',
        DEFAULT_IMAP_CAPABILITIES,
      ),
  }),
  customVar({
    name: 'mail.pop3capa',
    area: 'mail',
    description: 'POP3 capabilities the proxy announces before login, each quoted',
    attribute: 'zimbraReverseProxyPop3EnabledCapability',
    type: 'custom',
    source: 'server',
    defaultText: DEFAULT_POP3_CAPABILITIES.map((cap) => ` "${cap}"`).join(''),
    compute: (ctx) =>
      formatCapabilities(
        ctx.server,
        'zimbraReverseProxyPop3EnabledCapability',
        DEFAULT_POP3_CAPABILITIES,
      ),
  }),
  customVar({
    name: 'mail.imapid',
    area: 'mail',
    description: 'Name, version and release the proxy gives in its answer to IMAP ID',
    attribute: 'zimbraServerVersion',
    type: 'string',
    source: 'server',
    defaultText: `"NAME" "Zimbra" "VERSION" "${UNKNOWN_VERSION}" "RELEASE" "${UNKNOWN_VERSION}"`,
    compute(ctx) {
      // Both parts are restricted to version characters, so they need no escaping.
      const { version, release } = computeVersion(ctx);
      return `"NAME" "Zimbra" "VERSION" "${version}" "RELEASE" "${release}"`;
    },
  }),
  quotedAttrVar({
    name: 'mail.defaultrealm',
    area: 'mail',
    description: 'Kerberos realm appended to GSSAPI logins without one',
    attribute: 'zimbraReverseProxyDefaultRealm',
    source: 'server',
    defaultValue: '',
  }),
  {
    ...lcVar({
      name: 'mail.sasl_host_from_ip',
      area: 'mail',
      description:
        'Whether the Kerberos service principal is derived from the address a client connected to',
      key: 'krb5_service_principal_from_interface_address',
      type: 'boolean',
    }),
    defaultText: 'off',
  },
  constVar('mail.saslapp', 'mail', 'Application name the proxy uses for SASL', 'nginx'),
  attrVar({
    name: 'mail.upstream.pop3xoip',
    area: 'mail',
    description: 'Whether the proxy tells upstream POP3 servers the client address (XOIP)',
    attribute: 'zimbraReverseProxySendPop3Xoip',
    type: 'boolean',
    source: 'config',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.upstream.imapid',
    area: 'mail',
    description: 'Whether the proxy sends IMAP ID with the client address to upstream servers',
    attribute: 'zimbraReverseProxySendImapId',
    type: 'boolean',
    source: 'config',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.imap.authplain.enabled',
    area: 'mail',
    description: 'Enables SASL PLAIN logins on the IMAP proxy',
    attribute: 'zimbraReverseProxyImapSaslPlainEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.imap.authgssapi.enabled',
    area: 'mail',
    description: 'Enables SASL GSSAPI (Kerberos) logins on the IMAP proxy',
    attribute: 'zimbraReverseProxyImapSaslGssapiEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: false,
  }),
  attrVar({
    name: 'mail.pop3.authplain.enabled',
    area: 'mail',
    description: 'Enables SASL PLAIN logins on the POP3 proxy',
    attribute: 'zimbraReverseProxyPop3SaslPlainEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: true,
  }),
  attrVar({
    name: 'mail.pop3.authgssapi.enabled',
    area: 'mail',
    description: 'Enables SASL GSSAPI (Kerberos) logins on the POP3 proxy',
    attribute: 'zimbraReverseProxyPop3SaslGssapiEnabled',
    type: 'enabler',
    source: 'server',
    defaultValue: false,
  }),
  constVar(
    'mail.imap.literalauth',
    'mail',
    'Whether the IMAP proxy accepts a login sent as literals',
    'on',
    { type: 'boolean' },
  ),
  attrVar({
    name: 'mail.imap.port',
    area: 'mail',
    description: 'Port of the plain IMAP proxy server',
    attribute: 'zimbraImapProxyBindPort',
    type: 'port',
    source: 'server',
    defaultValue: 143,
  }),
  attrVar({
    name: 'mail.imaps.port',
    area: 'mail',
    description: 'Port of the IMAP over TLS proxy server',
    attribute: 'zimbraImapSSLProxyBindPort',
    type: 'port',
    source: 'server',
    defaultValue: 993,
  }),
  attrVar({
    name: 'mail.pop3.port',
    area: 'mail',
    description: 'Port of the plain POP3 proxy server',
    attribute: 'zimbraPop3ProxyBindPort',
    type: 'port',
    source: 'server',
    defaultValue: 110,
  }),
  attrVar({
    name: 'mail.pop3s.port',
    area: 'mail',
    description: 'Port of the POP3 over TLS proxy server',
    attribute: 'zimbraPop3SSLProxyBindPort',
    type: 'port',
    source: 'server',
    defaultValue: 995,
  }),
  attrVar({
    name: 'mail.imap.tls',
    area: 'mail',
    description: 'STARTTLS on the plain IMAP port: on, off, or only (required before login)',
    attribute: 'zimbraReverseProxyImapStartTlsMode',
    type: 'enum',
    source: 'server',
    defaultValue: 'only',
  }),
  attrVar({
    name: 'mail.pop3.tls',
    area: 'mail',
    description: 'STARTTLS on the plain POP3 port: on, off, or only (required before login)',
    attribute: 'zimbraReverseProxyPop3StartTlsMode',
    type: 'enum',
    source: 'server',
    defaultValue: 'only',
  }),
];
