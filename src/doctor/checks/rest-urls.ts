/**
 * Check `rest-urls` (README "zmproxy doctor"): a domain users reach through a virtual host name but
 * without a public service host name gets URLs (REST, share links, calendar and briefcase links,
 * invitations) that name its mailbox server, which users outside usually cannot reach.
 */
import { entryName } from '../../model/snapshot.js';
import type { VarContext } from '../../vars/types.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

/** The findings of the REST URL check. */
export function checkRestUrls(ctx: VarContext): Finding[] {
  const findings: Finding[] = [];
  // The HTTPS port a user types when none is set: a URL's standard port, not ProxyConfGen's 0.
  const port = ctx.server.port('zimbraMailSSLProxyPort', 443);
  let withVhost = 0;
  for (const domain of ctx.snapshot.domains) {
    const reader = ctx.readers.readerFor(domain);
    const vhosts = reader.list('zimbraVirtualHostname');
    if (vhosts.length === 0) continue;
    withVhost += 1;
    const name = entryName(domain);
    const found = reader.find('zimbraPublicServiceHostname');
    if (found !== undefined) continue;
    findings.push({
      check: 'rest-urls',
      severity: 'warn',
      subject: `domain ${name}`,
      evidence: `zimbraVirtualHostname ${vhosts.join(' ')}, but no zimbraPublicServiceHostname (not on the domain, not in the global config)`,
      explanation:
        'users reach this domain through the proxy, but the URLs the mailbox hands out (REST, shared folders, calendar invitations) name the home mailbox server and its port, which users outside usually cannot reach; zmproxy rest-url <account> shows the URL an account gets',
      fix: `zmprov md ${name} zimbraPublicServiceHostname ${vhosts[0] ?? ''} zimbraPublicServiceProtocol https${port === 443 ? '' : ` zimbraPublicServicePort ${port}`}`,
    });
  }
  if (findings.length === 0) {
    findings.push(
      okFinding(
        'rest-urls',
        'domains',
        withVhost === 0
          ? 'no domain has a virtual host name'
          : `every domain with a virtual host name has a public service host name (${withVhost})`,
      ),
    );
  }
  return findings;
}

/** The `rest-urls` check. */
export const restUrlsCheck = defineCheck({
  id: 'rest-urls',
  title: 'REST URLs',
  needs: ['directory'],
  run: ({ directory }) => checkRestUrls(directory),
});
