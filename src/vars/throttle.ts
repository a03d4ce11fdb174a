/**
 * Variables of the throttle area (docs/zimbra-notes.md "Variables by area", "Throttle"): login
 * limits per client IP (overall and per protocol) and per user, their time windows, reject
 * messages, and the IP whitelist.
 */
import { parseIpOrCidr } from '../model/value-types.js';
import { attrVar, customVar } from './define.js';
import { quotedAttrVar, removeValueHint } from './mail.js';
import type { VarContext, VariableDefinition } from './types.js';

const WHITELIST = 'zimbraReverseProxyIPThrottleWhitelist';

/**
 * One `mail_whitelist_ip` directive per address or CIDR block (docs/zimbra-notes.md "Multi-line
 * values"): the first line bare, the following ones indented by four spaces, every line ending in
 * a newline; "" when the list is empty. A value that is not an IP address or CIDR block is
 * reported and left out.
 */
export function computeWhitelist(ctx: VarContext): string {
  const found = ctx.server.find(WHITELIST);
  const lines: string[] = [];
  for (const value of found?.values ?? []) {
    const parsed = parseIpOrCidr(value);
    if (!parsed.ok) {
      ctx.server.report(
        WHITELIST,
        found,
        value,
        parsed.message,
        removeValueHint(found, WHITELIST, value),
      );
      continue;
    }
    lines.push(`${lines.length === 0 ? '' : '    '}mail_whitelist_ip    ${parsed.value};\n`);
  }
  return lines.join('');
}

export const THROTTLE_VARIABLES: readonly VariableDefinition[] = [
  attrVar({
    name: 'mail.ipmax',
    area: 'throttle',
    description: 'Logins allowed from one client IP per time window, any protocol (0: no limit)',
    attribute: 'zimbraReverseProxyIPLoginLimit',
    type: 'integer',
    source: 'config',
    defaultValue: 0,
  }),
  attrVar({
    name: 'mail.ipttl',
    area: 'throttle',
    description: 'Time window of the per-IP login limit',
    attribute: 'zimbraReverseProxyIPLoginLimitTime',
    type: 'time',
    source: 'config',
    defaultValue: 3_600_000,
  }),
  attrVar({
    name: 'mail.imapmax',
    area: 'throttle',
    description: 'IMAP logins allowed from one client IP per time window (0: use mail.ipmax)',
    attribute: 'zimbraReverseProxyIPLoginImapLimit',
    type: 'integer',
    source: 'config',
    defaultValue: 0,
  }),
  attrVar({
    name: 'mail.imapttl',
    area: 'throttle',
    description: 'Time window of the per-IP IMAP login limit',
    attribute: 'zimbraReverseProxyIPLoginImapLimitTime',
    type: 'time',
    source: 'config',
    defaultValue: 3_600_000,
  }),
  attrVar({
    name: 'mail.pop3max',
    area: 'throttle',
    description: 'POP3 logins allowed from one client IP per time window (0: use mail.ipmax)',
    attribute: 'zimbraReverseProxyIPLoginPop3Limit',
    type: 'integer',
    source: 'config',
    defaultValue: 0,
  }),
  attrVar({
    name: 'mail.pop3ttl',
    area: 'throttle',
    description: 'Time window of the per-IP POP3 login limit',
    attribute: 'zimbraReverseProxyIPLoginPop3LimitTime',
    type: 'time',
    source: 'config',
    defaultValue: 3_600_000,
  }),
  quotedAttrVar({
    name: 'mail.iprej',
    area: 'throttle',
    description: 'Message sent to a client IP that exceeded its login limit',
    attribute: 'zimbraReverseProxyIpThrottleMsg',
    source: 'config',
    defaultValue: 'Login rejected from this IP',
  }),
  attrVar({
    name: 'mail.usermax',
    area: 'throttle',
    description: 'Logins allowed for one user per time window (0: no limit)',
    attribute: 'zimbraReverseProxyUserLoginLimit',
    type: 'integer',
    source: 'config',
    defaultValue: 0,
  }),
  attrVar({
    name: 'mail.userttl',
    area: 'throttle',
    description: 'Time window of the per-user login limit',
    attribute: 'zimbraReverseProxyUserLoginLimitTime',
    type: 'time',
    source: 'config',
    defaultValue: 3_600_000,
  }),
  quotedAttrVar({
    name: 'mail.userrej',
    area: 'throttle',
    description: 'Message sent to a user who exceeded the login limit',
    attribute: 'zimbraReverseProxyUserThrottleMsg',
    source: 'config',
    defaultValue: 'Login rejected for this user',
  }),
  customVar({
    name: 'mail.whitelistip.:servers',
    area: 'throttle',
    description: 'Client IP addresses and CIDR blocks exempt from the per-IP login limits',
    attribute: WHITELIST,
    source: 'server',
    defaultText: '',
    compute: computeWhitelist,
  }),
  attrVar({
    name: 'mail.whitelist.ttl',
    area: 'throttle',
    description: 'Seconds nginx caches whether a client IP is whitelisted (global config only)',
    attribute: 'zimbraReverseProxyIPThrottleWhitelistTime',
    type: 'time-seconds',
    source: 'config',
    defaultValue: 300,
  }),
];
