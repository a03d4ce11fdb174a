/**
 * Check `external-routes` (README "zmproxy doctor"): with zimbraReverseProxyUseExternalRoute TRUE
 * on a domain or account, nginx logs such users in to a server outside Zimbra; when it also sends
 * POP3 XOIP (zimbraReverseProxySendPop3Xoip) or IMAP ID (zimbraReverseProxySendImapId), which
 * only Zimbra's mailbox understands, that server may answer with an error and the login fails.
 * Only Zimbra's template set (on Zimbra's nginx) sends them; the stock set never does.
 */
import type { DirectoryEntry } from '../../model/snapshot.js';
import { entryLabel } from '../../model/snapshot.js';
import type { VarContext } from '../../vars/types.js';
import type { TemplateFacts } from './trusted-ips.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

const USE_EXTERNAL = 'zimbraReverseProxyUseExternalRoute';

/** The findings of the external-route check. */
export function checkExternalRoutes(ctx: VarContext, templates?: TemplateFacts): Finding[] {
  const external: DirectoryEntry[] = [...ctx.snapshot.domains, ...ctx.snapshot.accounts].filter(
    (entry) => ctx.readers.readerFor(entry).boolean(USE_EXTERNAL, false),
  );
  if (external.length === 0) {
    return [
      okFinding(
        'external-routes',
        'external routes',
        `no domain or account has ${USE_EXTERNAL} TRUE`,
      ),
    ];
  }
  const shown = external.slice(0, 5).map(entryLabel).join(', ');
  const routed = `${shown}${external.length > 5 ? ` and ${external.length - 5} more` : ''} route${external.length === 1 ? 's' : ''} to an external server (${USE_EXTERNAL} TRUE)`;
  if (templates?.ok === true && templates.set === 'stock') {
    // Stock nginx's mail module has no XOIP or ID to send (docs/stock-nginx.md).
    return [
      okFinding(
        'external-routes',
        'external routes',
        `${routed}; the stock template set (${templates.dir}) never sends POP3 XOIP or IMAP ID, so the external server gets the plain login`,
      ),
    ];
  }
  const findings: Finding[] = [];
  for (const [attribute, command, protocol] of [
    ['zimbraReverseProxySendPop3Xoip', 'XOIP', 'POP3'],
    ['zimbraReverseProxySendImapId', 'ID', 'IMAP'],
  ] as const) {
    if (!ctx.config.boolean(attribute, true)) {
      findings.push(
        okFinding(
          'external-routes',
          attribute,
          `${routed}; ${attribute} is FALSE, so nginx sends no ${command}`,
        ),
      );
      continue;
    }
    findings.push({
      check: 'external-routes',
      severity: 'warn',
      subject: attribute,
      evidence: `${routed}, and ${attribute} is TRUE (${ctx.config.has(attribute) ? 'set in the global config' : 'the default'})`,
      explanation: `before the login nginx sends the ${protocol} command ${command} with the client's address; Zimbra's mailbox understands it, but an external ${protocol} server may reject it and the login fails for every user routed there`,
      fix: `zmprov mcf ${attribute} FALSE && zmproxyconfgen && zmproxyctl reload`,
    });
  }
  return findings;
}

/** The `external-routes` check. */
export const externalRoutesCheck = defineCheck({
  id: 'external-routes',
  title: 'External POP/IMAP servers',
  needs: ['directory', 'templates'],
  run: ({ directory, templates }) => checkExternalRoutes(directory, templates),
});
