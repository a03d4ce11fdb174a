/**
 * Check `mail-refer-mode`: behind a proxy, a mailbox server must not send clients a referral to
 * another server: zimbraMailReferMode `always` or `wronghost` makes mailboxd answer a login for
 * an account on another server with that server's name, which the client then tries to reach
 * directly, around the proxy. `reverse-proxied` (the global config's LDAP default) never refers
 * (docs/zimbra-notes.md "zimbraMailReferMode").
 */
import { entryName } from '../../model/snapshot.js';
import { hasService } from '../../vars/server-lists.js';
import type { VarContext } from '../../vars/types.js';
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';

const ID = 'mail-refer-mode';
const ATTR = 'zimbraMailReferMode';

/** The findings of the refer-mode check. */
export function checkMailReferMode(ctx: VarContext): Finding[] {
  const mailboxes = ctx.snapshot.servers.filter((server) => hasService(server, 'mailbox'));
  const findings: Finding[] = [];
  // Servers that inherit the value (or find none) share one finding: one mcf fixes them all.
  const inherited: string[] = [];
  let inheritedMode = '';
  for (const server of mailboxes) {
    const found = ctx.readers.readerFor(server).find(ATTR);
    // Unset everywhere, mailboxd falls back to wronghost in code (the LDAP default an install
    // writes into the global config is reverse-proxied).
    const mode = (found?.values[0] ?? 'wronghost').toLowerCase();
    if (mode === 'reverse-proxied') continue;
    const name = entryName(server);
    if (found?.from !== server) {
      inherited.push(name);
      inheritedMode = found === undefined ? '' : mode;
      continue;
    }
    findings.push(
      referFinding(
        `server ${name}`,
        `${ATTR} is ${mode} on ${name}`,
        mode,
        `zmprov ms ${name} ${ATTR} reverse-proxied`,
      ),
    );
  }
  if (inherited.length > 0) {
    const servers = `mailbox server${inherited.length === 1 ? '' : 's'} ${inherited.join(', ')}`;
    findings.unshift(
      referFinding(
        'global config',
        inheritedMode === ''
          ? `${ATTR} is set neither on ${servers} nor in the global config, so mailboxd uses its code default wronghost`
          : `${ATTR} is ${inheritedMode} in the global config, inherited by ${servers}`,
        inheritedMode === '' ? 'wronghost' : inheritedMode,
        `zmprov mcf ${ATTR} reverse-proxied`,
      ),
    );
  }
  if (findings.length === 0) {
    findings.push(
      okFinding(
        ID,
        'mailbox servers',
        mailboxes.length === 0
          ? 'no mailbox server in the directory'
          : `${ATTR} is reverse-proxied on all ${mailboxes.length} mailbox server${mailboxes.length === 1 ? '' : 's'}`,
      ),
    );
  }
  return findings;
}

function referFinding(subject: string, evidence: string, mode: string, fix: string): Finding {
  return {
    check: ID,
    severity: 'warn',
    subject,
    evidence,
    explanation: `with ${mode}, mailboxd answers a login for an account ${mode === 'always' ? '' : 'that lives on another server '}with a referral to that server's own name, and web and mobile clients then connect there directly, around the proxy (often to a name users cannot reach); with a proxy in front it should be reverse-proxied, which zmproxyconfig sets when it enables the proxy`,
    fix,
  };
}

/** The `mail-refer-mode` check. */
export const mailReferModeCheck = defineCheck({
  id: ID,
  title: 'Mail refer mode',
  needs: ['directory'],
  run: ({ directory }) => checkMailReferMode(directory),
});
