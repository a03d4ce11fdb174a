/**
 * Variables of the sso area (docs/zimbra-notes.md "Variables by area"): client-certificate login
 * (certauth) servers.
 */
import { attrVar, customVar, enabler } from './define.js';
import { computeDomainItems, verifiesClientCert } from './domains.js';
import type { VarContext, VariableDefinition } from './types.js';

/**
 * True when serverSource's zimbraReverseProxyClientCertMode is `on` or `optional`. Zimbra compares
 * case-sensitively; our enum reader has already matched the value case-insensitively.
 */
function serverVerifiesClientCert(ctx: VarContext): boolean {
  return verifiesClientCert(ctx.server.enumValue('zimbraReverseProxyClientCertMode', 'off'));
}

export const SSO_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'web.sso.default.enabled',
    area: 'sso',
    description:
      'Includes the certauth servers when server-level client-certificate mode is on or optional',
    attribute: 'zimbraReverseProxyClientCertMode',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(serverVerifiesClientCert(ctx)),
  }),
  attrVar({
    name: 'web.sso.certauth.port',
    area: 'sso',
    description: 'Port of the client-certificate login (certauth) servers',
    attribute: 'zimbraMailSSLProxyClientCertPort',
    type: 'port',
    source: 'server',
    defaultValue: 0,
  }),
  customVar({
    name: 'web.sso.certauth.default.enabled',
    area: 'sso',
    description: 'Enables the certauth redirect of the default certauth server',
    attribute: 'zimbraReverseProxyClientCertMode',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(serverVerifiesClientCert(ctx)),
  }),
  customVar({
    name: 'web.sso.enabled',
    area: 'sso',
    description: 'True when any exploded domain has client-certificate mode on or optional',
    attribute: 'zimbraReverseProxyClientCertMode',
    type: 'enabler',
    source: 'custom',
    defaultText: '#',
    unused: true,
    compute: (ctx) =>
      enabler(computeDomainItems(ctx).some((item) => verifiesClientCert(item.clientCertMode))),
  }),
];
