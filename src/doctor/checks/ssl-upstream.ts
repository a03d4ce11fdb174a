/**
 * Check `ssl-upstream` (README "zmproxy doctor"): zimbraReverseProxySSLToUpstreamEnabled against
 * the mail modes, as zmproxyconfig enforces it (docs/zimbra-notes.md "zmproxyconfig"): with TLS to
 * the upstream the proxy's zimbraReverseProxyMailMode must not be http, both or mixed, and a
 * mailbox server in `http` mode has no HTTPS port to talk to; without it a mailbox server in
 * `https` or `redirect` mode has no plain HTTP port. Plus what stock nginx cannot do for mail
 * (stock-limits.ts).
 */
import { entryName } from '../../model/snapshot.js';
import { computeStockWarnings } from '../../vars/stock-limits.js';
import { isSslToUpstream } from '../../vars/stock.js';
import type { VarContext } from '../../vars/types.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

const SSL = 'zimbraReverseProxySSLToUpstreamEnabled';

/** The findings of the SSL-to-upstream check. */
export function checkSslUpstream(ctx: VarContext): Finding[] {
  const findings: Finding[] = [];
  const proxy = entryName(ctx.serverSource);
  const ssl = isSslToUpstream(ctx);
  const sslFrom = ctx.server.find(SSL)?.from;
  const sslText = `${SSL} is ${ssl ? 'TRUE' : 'FALSE'}${sslFrom === undefined ? ' (default)' : sslFrom === ctx.serverSource ? '' : ' (global config)'}`;
  const proxyMode = ctx.server.enumValue('zimbraReverseProxyMailMode', 'both');
  // Unset, the generator uses `both` (docs/zimbra-notes.md "Attributes and inheritance");
  // zmproxyconfig checks only a mode someone chose.
  const modeSet = ctx.server.has('zimbraReverseProxyMailMode');
  if (ssl && modeSet && ['http', 'both', 'mixed'].includes(proxyMode)) {
    findings.push({
      check: 'ssl-upstream',
      severity: 'fail',
      subject: `server ${proxy}`,
      evidence: `${sslText} and zimbraReverseProxyMailMode is ${proxyMode}`,
      explanation: `zmproxyconfig refuses this combination ("proxy mail mode ${proxyMode} is invalid when SSL to upstream is enabled"): the proxy would serve plain HTTP to clients while talking TLS upstream, which the web templates do not support`,
      fix: `zmprov ms ${proxy} zimbraReverseProxyMailMode https`,
    });
  }
  let bad = 0;
  for (const server of ctx.snapshot.servers.filter((entry) => ctx.servers.isValidUpstream(entry))) {
    const name = entryName(server);
    const mode = ctx.readers.readerFor(server).enumValue('zimbraMailMode', 'https');
    if (ssl && mode === 'http') {
      bad += 1;
      findings.push({
        check: 'ssl-upstream',
        severity: 'fail',
        subject: `server ${name}`,
        evidence: `${sslText}, but zimbraMailMode of upstream ${name} is http`,
        explanation: `the proxy talks HTTPS to ${name}'s zimbraMailSSLPort, where a mailbox server in http mode does not listen: every web request routed there fails with 502`,
        fix: `zmprov ms ${name} zimbraMailMode both && zmmailboxdctl restart`,
      });
    } else if (!ssl && (mode === 'https' || mode === 'redirect')) {
      bad += 1;
      findings.push({
        check: 'ssl-upstream',
        severity: 'fail',
        subject: `server ${name}`,
        evidence: `${sslText}, but zimbraMailMode of upstream ${name} is ${mode}`,
        explanation: `the proxy talks plain HTTP to ${name}'s zimbraMailPort, which in ${mode} mode only redirects to HTTPS (or is closed): browsers loop or get 502`,
        fix: `zmprov ms ${proxy} ${SSL} TRUE && zmproxyconfgen && zmproxyctl reload`,
      });
    }
  }
  if (findings.length === 0) {
    findings.push(
      okFinding(
        'ssl-upstream',
        `server ${proxy}`,
        `${sslText}; zimbraReverseProxyMailMode ${proxyMode}; ${bad === 0 ? "every upstream's zimbraMailMode fits" : ''}`.replace(
          /; $/,
          '',
        ),
      ),
    );
  }
  // What the stock templates cannot do for mail; each already names its attribute and fix.
  for (const warning of computeStockWarnings(ctx)) {
    findings.push({
      check: 'ssl-upstream',
      severity: 'warn',
      subject: 'stock nginx',
      evidence: warning.message,
      explanation:
        "zmproxy renders templates for stock nginx, which lacks some of Zimbra's nginx patches; the directory asks for something it cannot do",
      fix: warning.hint ?? null,
    });
  }
  return findings;
}

/** The `ssl-upstream` check. */
export const sslUpstreamCheck = defineCheck({
  id: 'ssl-upstream',
  title: 'SSL to upstream',
  needs: ['directory'],
  run: ({ directory }) => checkSslUpstream(directory),
});
