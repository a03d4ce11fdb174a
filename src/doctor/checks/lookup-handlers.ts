/**
 * Check `lookup-handlers` (README "zmproxy doctor"): servers marked as lookup targets that do not
 * run the mailbox service (set on the server, or inherited from the global config), an empty
 * handler list, and what `zmprov garpu` prints against what the generator puts into
 * `zm_lookup_handlers`.
 */
import type { DirectoryEntry } from '../../model/snapshot.js';
import { entryName } from '../../model/snapshot.js';
import { listReverseProxyUrls } from '../../prov/proxy-lists.js';
import { computeLookupHandlers, resolveServerAddress } from '../../vars/lookup.js';
import { hasService } from '../../vars/server-lists.js';
import type { VarContext } from '../../vars/types.js';
import { readLookupTopology } from '../../model/lookup-topology.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

const ATTR = 'zimbraReverseProxyLookupTarget';

const TRAP_EXPLANATION =
  'nginx sends route lookups (and, through zmprov garpu/garpb, Zimbra proxies send logins) to every lookup target; a server without mailboxd does not answer on the extension port, so each login that picks it waits for the lookup timeout first: the classic "slow proxy logins". zmproxy leaves such servers out, Zimbra\'s own generator does not.';

/** The findings of the lookup handler check. */
export function checkLookupHandlers(ctx: VarContext): Finding[] {
  const findings: Finding[] = [];
  const targets = ctx.snapshot.servers.filter((server) =>
    ctx.readers.readerFor(server).boolean(ATTR, false),
  );
  const noMailbox = targets.filter((server) => !hasService(server, 'mailbox'));
  const ownValue = noMailbox.filter(
    (server) => ctx.readers.readerFor(server).find(ATTR)?.from === server,
  );
  const inherited = noMailbox.filter((server) => !ownValue.includes(server));

  for (const server of ownValue) {
    const name = entryName(server);
    findings.push({
      check: 'lookup-handlers',
      severity: 'warn',
      subject: `server ${name}`,
      evidence: `${ATTR} is TRUE on ${name}, whose zimbraServiceEnabled (${services(server)}) has no mailbox`,
      explanation: TRAP_EXPLANATION,
      fix: `zmprov ms ${name} ${ATTR} FALSE`,
    });
  }
  if (inherited.length > 0) {
    // Turning the global value off would also drop the mailbox servers that inherit it: pin them
    // to TRUE first.
    const keep = ctx.snapshot.servers.filter(
      (server) =>
        hasService(server, 'mailbox') && ctx.readers.readerFor(server).find(ATTR)?.from !== server,
    );
    const names = inherited.map(entryName);
    findings.push({
      check: 'lookup-handlers',
      severity: 'warn',
      subject: 'global config',
      evidence: `${ATTR} is TRUE in the global config and inherited by ${names.join(', ')}, which ${names.length === 1 ? 'does' : 'do'} not run the mailbox service`,
      explanation: TRAP_EXPLANATION,
      fix: [
        ...keep.map((server) => `zmprov ms ${entryName(server)} ${ATTR} TRUE`),
        `zmprov mcf ${ATTR} FALSE`,
      ].join(' && '),
    });
  }

  const handlers = computeLookupHandlers(ctx);
  if (handlers.length === 0) {
    const mailbox = ctx.snapshot.servers.find((server) => hasService(server, 'mailbox'));
    const unresolved = ctx.servers.lookupTargets
      .map((server) => resolveServerAddress(ctx, server))
      .filter((answer) => !answer.ok);
    findings.push({
      check: 'lookup-handlers',
      severity: 'fail',
      subject: `server ${entryName(ctx.serverSource)}`,
      evidence:
        unresolved.length > 0
          ? `no lookup handler: ${unresolved.map((answer) => (answer.ok ? '' : answer.reason)).join('; ')}`
          : `no server is a lookup target with the mailbox service (lookup targets: ${targets.map(entryName).join(', ') || 'none'})`,
      explanation:
        "without a lookup handler nginx cannot route any login: the generator comments out zm_lookup and the whole mail block, and web requests are spread by client address instead of going to the user's mailbox server",
      fix:
        mailbox === undefined
          ? 'zmprov ms <mailbox server> zimbraReverseProxyLookupTarget TRUE'
          : `zmprov ms ${entryName(mailbox)} ${ATTR} TRUE`,
    });
  } else {
    findings.push(
      okFinding(
        'lookup-handlers',
        `server ${entryName(ctx.serverSource)}`,
        `${handlers.length} lookup handler${handlers.length === 1 ? '' : 's'}: ${handlers.join(' ')}${
          readLookupTopology((key) => ctx.lc.text(key)).topology.kind === 'nle'
            ? ''
            : " (Zimbra's lookup extension; they enable mail, nginx asks the lookup service of zmproxy_lookup_servers)"
        }`,
      ),
    );
  }
  findings.push(compareWithGarpu(ctx));
  return findings;
}

/**
 * `zmprov garpu` (what zmconfigd watches) lists mail client servers (service `service`) that are
 * lookup targets; the generator takes every lookup target, or
 * zimbraReverseProxyAvailableLookupTargets.
 */
function compareWithGarpu(ctx: VarContext): Finding {
  const garpu = new Set(
    ctx.servers.mailClient.filter(
      (server) =>
        ctx.readers.readerFor(server).boolean(ATTR, false) && hasService(server, 'mailbox'),
    ),
  );
  const used = new Set<DirectoryEntry>(
    ctx.servers.lookupTargets.filter((server) => resolveServerAddress(ctx, server).ok),
  );
  const onlyGarpu = [...garpu].filter((server) => !used.has(server)).map(entryName);
  const onlyGenerator = [...used].filter((server) => !garpu.has(server)).map(entryName);
  const printed = listReverseProxyUrls(ctx.snapshot).text.trim();
  const evidence = `zmprov garpu prints "${printed}"; zm_lookup_handlers is "${computeLookupHandlers(ctx).join(' ')}"`;
  if (onlyGarpu.length === 0 && onlyGenerator.length === 0) {
    return okFinding('lookup-handlers', 'zmprov garpu', `${evidence} (the same servers)`);
  }
  const parts: string[] = [];
  let fix: string | null = null;
  if (onlyGarpu.length > 0) {
    const reasons = [...garpu]
      .filter((server) => !used.has(server))
      .map((server) => {
        const answer = resolveServerAddress(ctx, server);
        if (!answer.ok) {
          fix ??= answer.hint;
          return `${entryName(server)} (${answer.reason})`;
        }
        return `${entryName(server)} (not in zimbraReverseProxyAvailableLookupTargets)`;
      });
    parts.push(`only garpu lists ${reasons.join(', ')}`);
  }
  if (onlyGenerator.length > 0) {
    parts.push(`only the generator uses ${onlyGenerator.join(', ')} (no "service" service)`);
    fix ??= `zmprov ms ${onlyGenerator[0] ?? ''} +zimbraServiceEnabled service`;
  }
  return {
    check: 'lookup-handlers',
    severity: 'warn',
    subject: 'zmprov garpu',
    evidence: `${evidence}: ${parts.join('; ')}`,
    explanation:
      'zmconfigd regenerates the proxy configuration when garpu changes, and admins read it as "the lookup handlers"; the generator uses every lookup target with the mailbox service (or those named in zimbraReverseProxyAvailableLookupTargets) that resolves. When the two differ, one of them is not what you think.',
    fix,
  };
}

function services(server: DirectoryEntry): string {
  return (server.attrs['zimbraServiceEnabled'] ?? []).join(', ') || 'none';
}

/** The `lookup-handlers` check. */
export const lookupHandlersCheck = defineCheck({
  id: 'lookup-handlers',
  title: 'Lookup handlers',
  needs: ['directory'],
  run: ({ directory }) => checkLookupHandlers(directory),
});
