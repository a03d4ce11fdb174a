/**
 * Check `imap-id`: stock nginx's mail module has no IMAP `ID` command, so a client that sends
 * `ID` before logging in gets `BAD` (Zimbra's patched nginx answers it with the proxy's name and
 * version). The stock set already leaves ID out of the capabilities it announces; this check
 * says so when the directory asks for ID (zimbraReverseProxyImapEnabledCapability lists it, or
 * zimbraReverseProxyImapExposeVersionOnBanner is TRUE), which suggests clients expect an answer
 * (docs/stock-nginx.md "What the stock mail proxy cannot do").
 */
import { entryName } from '../../model/snapshot.js';
import { computeLookupHandlers } from '../../vars/lookup.js';
import type { VarContext } from '../../vars/types.js';
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { modifyCommand, okFinding } from '../finding.js';

const ID = 'imap-id';
const CAPABILITY = 'zimbraReverseProxyImapEnabledCapability';
const BANNER = 'zimbraReverseProxyImapExposeVersionOnBanner';

/** The findings of the IMAP ID check; `set` is the template set nginx's configuration comes from. */
export function checkImapId(ctx: VarContext, set: 'stock' | 'zimbra'): Finding[] {
  if (set === 'zimbra') {
    return [okFinding(ID, 'IMAP ID', "Zimbra's template set: Zimbra's nginx answers ID itself")];
  }
  const imap =
    computeLookupHandlers(ctx).length > 0 &&
    ctx.server.boolean('zimbraReverseProxyMailEnabled', true) &&
    (ctx.server.boolean('zimbraReverseProxyMailImapEnabled', true) ||
      ctx.server.boolean('zimbraReverseProxyMailImapsEnabled', true));
  if (!imap) return [okFinding(ID, 'IMAP ID', 'this proxy serves no IMAP')];
  const capability = ctx.server.find(CAPABILITY);
  const asksId = capability?.values.some((value) => value.toUpperCase() === 'ID') === true;
  const banner = ctx.server.boolean(BANNER, false);
  if (!asksId && !banner) {
    return [
      okFinding(
        ID,
        'IMAP ID',
        'stock nginx answers ID before login with BAD and does not announce it; the directory does not ask for ID',
      ),
    ];
  }
  const proxy = entryName(ctx.serverSource);
  const reasons = [
    ...(asksId ? [`${CAPABILITY} lists ID`] : []),
    ...(banner ? [`${BANNER} is TRUE`] : []),
  ];
  const fixes = [
    ...(asksId
      ? [
          modifyCommand(
            capability?.from === ctx.serverSource ? { kind: 'server' } : undefined,
            proxy,
            `-${CAPABILITY} ID`,
          ),
        ]
      : []),
    ...(banner
      ? [
          modifyCommand(
            ctx.server.find(BANNER)?.from === ctx.serverSource ? { kind: 'server' } : undefined,
            proxy,
            `${BANNER} FALSE`,
          ),
        ]
      : []),
  ];
  return [
    {
      check: ID,
      severity: 'warn',
      subject: 'IMAP ID',
      evidence: `${reasons.join(' and ')}, but the stock template set runs on stock nginx, which answers "a ID …" before login with "a BAD"`,
      explanation:
        "stock nginx's mail module has no ID command (Zimbra's nginx answers it with the proxy's name and version); the stock set leaves ID out of the announced capabilities, and most clients log in anyway, but a client that insists on an ID answer, or an admin who reads the version from it, gets none. Zimbra's template set on Zimbra's nginx answers it; to acknowledge, stop asking for it",
      fix: fixes.join(' && '),
    },
  ];
}

/** The `imap-id` check. */
export const imapIdCheck = defineCheck({
  id: ID,
  title: 'IMAP ID before login',
  needs: ['directory', 'templates'],
  run: ({ directory, templates }) =>
    checkImapId(directory, templates.ok ? templates.set : 'zimbra'),
});
