/**
 * What stock nginx (Debian's 1.22 with the dynamic mail module) cannot do of what the directory
 * asks for (docs/stock-nginx.md "What the stock mail proxy cannot do"): each becomes a Warning
 * naming the attribute and its value, so nothing is dropped silently. Only meaningful when our
 * stock templates are rendered; Zimbra's own templates run on Zimbra's nginx fork, which does all
 * of this.
 */
import type { Warning } from '../errors.js';
import { entryName } from '../model/snapshot.js';
import { computeLookupHandlers } from './lookup.js';
import { hasService } from './server-lists.js';
import {
  STOCK_LC,
  computeLookupTlsVerify,
  computeStockLookupUpstream,
  computeStockMailVips,
} from './stock.js';
import { MAIL_TLS_LC, computeStockMailTls } from './stock-mail-tls.js';
import { computeDomainData, verifiesClientCert } from './domains.js';
import type { VarContext } from './types.js';

/**
 * The warnings of a generation with the stock templates. Pure: reads only the context.
 * Mail warnings appear only when mail is proxied (zimbraReverseProxyMailEnabled and a lookup
 * handler), web warnings only when the web proxy is on.
 */
export function computeStockWarnings(ctx: VarContext): Warning[] {
  const warnings: Warning[] = [];
  const server = entryName(ctx.serverSource);
  const ms = (attribute: string, value: string) => `zmprov ms ${server} ${attribute} ${value}`;
  const lookupAvailable = computeLookupHandlers(ctx).length > 0;
  const mail = lookupAvailable && ctx.server.boolean('zimbraReverseProxyMailEnabled', true);
  const imap =
    ctx.server.boolean('zimbraReverseProxyMailImapEnabled', true) ||
    ctx.server.boolean('zimbraReverseProxyMailImapsEnabled', true);
  const pop3 =
    ctx.server.boolean('zimbraReverseProxyMailPop3Enabled', true) ||
    ctx.server.boolean('zimbraReverseProxyMailPop3sEnabled', true);
  const web = ctx.server.boolean('zimbraReverseProxyHttpEnabled', false);

  if (lookupAvailable) {
    const upstream = computeStockLookupUpstream(ctx);
    if (upstream.leftOut.length > 0) {
      warnings.push({
        code: 'W_STOCK_LOOKUP_SCHEME_MIXED',
        message: `lookup handlers ${upstream.leftOut.map((h) => h.address).join(', ')} speak ${upstream.leftOut[0]?.scheme ?? 'http'}:// (zimbraServerVersion before 8.7) while the others speak ${upstream.scheme}://; one nginx upstream has one scheme, so they are left out of the lookup upstream`,
        hint: 'upgrade those servers, or zmprov ms <server> zimbraReverseProxyLookupTarget FALSE',
      });
    }
    if (upstream.scheme === 'https' && !computeLookupTlsVerify(ctx)) {
      warnings.push({
        code: 'W_STOCK_LOOKUP_TLS_UNVERIFIED',
        message: `localconfig ${STOCK_LC.lookupCaFile} is empty: nginx reaches the lookup handlers over TLS without checking their certificates, and stock nginx sends users' real passwords there`,
        hint: `zmlocalconfig -e ${STOCK_LC.lookupCaFile}=/opt/zimbra/conf/ca/ca.pem (the CA that signs the lookup services' certificates, which carry the name in ${STOCK_LC.lookupTlsName})`,
      });
    }
    if (ctx.lc.text(STOCK_LC.sharedKey) === '') {
      warnings.push({
        code: 'W_STOCK_SHARED_KEY_EMPTY',
        message: `localconfig ${STOCK_LC.sharedKey} is empty: nginx sends no X-Zmproxy-Key, so the lookup service cannot tell nginx from any other client that reaches it`,
        hint: `zmlocalconfig -e ${STOCK_LC.sharedKey}=$(openssl rand -hex 32), and give the lookup service the same key`,
      });
    }
  }

  if (mail) {
    const chain = computeStockMailTls(ctx);
    if (chain.upstream.enabled && chain.upstream.listeners.length > 0 && !chain.upstream.verify) {
      warnings.push({
        code: 'W_STOCK_UPSTREAM_TLS_UNVERIFIED',
        message: `localconfig ${MAIL_TLS_LC.upstreamCaFile} is empty: nginx reaches the mailbox servers' IMAPS/POP3S ports over TLS without checking their certificates, and logs in there with users' real passwords`,
        hint: `zmlocalconfig -e ${MAIL_TLS_LC.upstreamCaFile}=/opt/zimbra/conf/ca/ca.pem (the CA that signs the mailbox servers' certificates, which carry their zimbraServiceHostname)`,
      });
    }
    if (imap && ctx.config.boolean('zimbraReverseProxySendImapId', true)) {
      warnings.push({
        code: 'W_STOCK_IMAP_ID',
        message:
          'zimbraReverseProxySendImapId is TRUE, but stock nginx cannot send IMAP ID with X-ORIGINATING-IP: mailbox servers see the proxy address as the IMAP client address',
        hint: 'zmprov mcf zimbraReverseProxySendImapId FALSE to acknowledge',
      });
    }
    if (pop3 && ctx.config.boolean('zimbraReverseProxySendPop3Xoip', true)) {
      warnings.push({
        code: 'W_STOCK_POP3_XOIP',
        message:
          'zimbraReverseProxySendPop3Xoip is TRUE, but stock nginx cannot send POP3 XOIP: mailbox servers see the proxy address as the POP3 client address',
        hint: 'zmprov mcf zimbraReverseProxySendPop3Xoip FALSE to acknowledge',
      });
    }
    for (const [attribute, on] of [
      ['zimbraReverseProxyImapSaslGssapiEnabled', imap],
      ['zimbraReverseProxyPop3SaslGssapiEnabled', pop3],
    ] as const) {
      if (on && ctx.server.boolean(attribute, false)) {
        warnings.push({
          code: 'W_STOCK_GSSAPI',
          message: `${attribute} is TRUE, but stock nginx has no GSSAPI (Kerberos) authentication: clients can log in with passwords only`,
          hint: ms(attribute, 'FALSE'),
        });
      }
    }
    for (const [attribute, on] of [
      ['zimbraReverseProxyImapSaslPlainEnabled', imap],
      ['zimbraReverseProxyPop3SaslPlainEnabled', pop3],
    ] as const) {
      if (on && !ctx.server.boolean(attribute, true)) {
        warnings.push({
          code: 'W_STOCK_SASL_PLAIN_ALWAYS_ON',
          message: `${attribute} is FALSE, but stock nginx always accepts plain-text logins (IMAP LOGIN, POP3 USER/PASS, AUTH PLAIN); the stock templates keep AUTH PLAIN`,
          hint: ms(attribute, 'TRUE'),
        });
      }
    }
    for (const [attribute, on, proto] of [
      ['zimbraReverseProxyImapExposeVersionOnBanner', imap, 'IMAP'],
      ['zimbraReverseProxyPop3ExposeVersionOnBanner', pop3, 'POP3'],
    ] as const) {
      if (on && ctx.server.boolean(attribute, false)) {
        warnings.push({
          code: 'W_STOCK_BANNER_VERSION',
          message: `${attribute} is TRUE, but stock nginx's ${proto} greeting is fixed and cannot name the Zimbra version`,
          hint: ms(attribute, 'FALSE'),
        });
      }
    }
    const capabilities = ctx.server.list('zimbraReverseProxyImapEnabledCapability');
    if (imap && capabilities.some((value) => value.toUpperCase() === 'ID')) {
      warnings.push({
        code: 'W_STOCK_IMAP_ID_CAPABILITY',
        message:
          'zimbraReverseProxyImapEnabledCapability lists ID, but stock nginx answers ID before login with BAD; the stock templates do not announce it before login (the mailbox server still does after login)',
        hint: 'zmprov mcf -zimbraReverseProxyImapEnabledCapability ID to acknowledge',
      });
    }
    const sni = ctx.server.boolean('zimbraReverseProxySNIEnabled', false);
    const ownCert = computeDomainData(ctx).items.find(
      (item) => item.vars['ssl.crt'] !== ctx.paths.sslCrtDefault,
    );
    const starttls =
      ctx.server.boolean('zimbraReverseProxyMailImapEnabled', true) ||
      ctx.server.boolean('zimbraReverseProxyMailPop3Enabled', true);
    if (sni && ownCert !== undefined && starttls) {
      warnings.push({
        code: 'W_STOCK_STARTTLS_DEFAULT_CERT',
        message: `zimbraReverseProxySNIEnabled is TRUE: IMAPS and POP3S clients get their domain's certificate, but STARTTLS on IMAP/POP3 starts after the connection is routed, so STARTTLS clients of ${ownCert.vhn} (and other domains with their own certificate) get the default certificate`,
        hint: 'point those clients at IMAPS/POP3S, or use a default certificate that names every mail host',
      });
    }
    if (!sni) {
      const taken = new Map(computeStockMailVips(ctx).map((vip) => [vip.vip, vip.domain]));
      for (const item of computeDomainData(ctx).items) {
        const owner = taken.get(item.vars['vip'] ?? '');
        if (owner !== undefined && owner !== item.domain) {
          warnings.push({
            code: 'W_STOCK_VIP_SHARED',
            message: `virtual IP address ${item.vars['vip']?.slice(0, -1) ?? ''} belongs to domains ${owner} and ${item.domain}: its IMAP/POP3 servers use the certificate of ${owner}`,
            hint: `give domain ${item.domain} an address of its own (zimbraVirtualIPAddress)`,
          });
        }
      }
    }
  }

  if (web) {
    if (ctx.server.has('zimbraReverseProxyUpstreamLoginServers')) {
      warnings.push({
        code: 'W_STOCK_LOGIN_UPSTREAM',
        message: `zimbraReverseProxyUpstreamLoginServers is ${ctx.server.list('zimbraReverseProxyUpstreamLoginServers').join(', ')}, but the stock templates have no separate login upstream: the login page is served by the web client servers`,
        hint: 'zmprov mcf zimbraReverseProxyUpstreamLoginServers ""',
      });
    }
    if (
      ctx.server.boolean('zimbraReverseProxyXmppBoshEnabled') &&
      ctx.server.has('zimbraReverseProxyXmppBoshHostname')
    ) {
      warnings.push({
        code: 'W_STOCK_XMPP_BOSH',
        message: `zimbraReverseProxyXmppBoshHostname is ${ctx.server.text('zimbraReverseProxyXmppBoshHostname', '')}, but the stock templates do not proxy XMPP BOSH`,
        hint: ms('zimbraReverseProxyXmppBoshEnabled', 'FALSE'),
      });
    }
    const certMode = ctx.server.enumValue('zimbraReverseProxyClientCertMode', 'off');
    if (verifiesClientCert(certMode)) {
      warnings.push({
        code: 'W_STOCK_CERTAUTH',
        message: `zimbraReverseProxyClientCertMode is ${certMode}: nginx verifies client certificates on HTTPS, but certificate login (/certauth on zimbraMailSSLProxyClientCertPort) needs Zimbra's nginx and is not proxied`,
        hint: ms('zimbraReverseProxyClientCertMode', 'off'),
      });
    }
    const docs = ctx.servers.all.filter(
      (entry) => hasService(entry, 'docs') || hasService(entry, 'onlyoffice'),
    );
    if (docs.length > 0) {
      warnings.push({
        code: 'W_STOCK_DOCS',
        message: `servers ${docs.map(entryName).join(', ')} run the docs or onlyoffice service, which the stock templates do not proxy`,
        hint: 'proxy /docs/ and /zdocument/ with templates of your own (-t DIR)',
      });
    }
  }
  return warnings;
}
