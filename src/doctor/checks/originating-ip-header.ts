/**
 * Check `originating-ip-header`: mailboxd takes the client's address from the header named by
 * localconfig `zimbra_http_originating_ip_header` (default X-Forwarded-For, Zimbra's LC.java)
 * when the request comes from a trusted proxy. Both template sets send X-Forwarded-For; another
 * name here makes mailboxd log, throttle and lock out by the proxy's address
 * (docs/zimbra-notes.md "The originating IP header").
 */
import { defineCheck } from '../check.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';

const ID = 'originating-ip-header';
const KEY = 'zimbra_http_originating_ip_header';
/** The header our web templates (and Zimbra's) set with the client's address. */
export const FORWARDED_HEADER = 'X-Forwarded-For';

/** The findings of the originating-IP-header check; `localConfig` reads a key or its default. */
export function checkOriginatingIpHeader(localConfig: (key: string) => string): Finding[] {
  const value = localConfig(KEY).trim();
  // HTTP header names are case-insensitive.
  if (value.toLowerCase() === FORWARDED_HEADER.toLowerCase()) {
    return [okFinding(ID, `localconfig ${KEY}`, `${value}: the header nginx sets`)];
  }
  return [
    {
      check: ID,
      severity: 'warn',
      subject: `localconfig ${KEY}`,
      evidence: `${KEY} is ${value === '' ? 'empty' : value}; nginx sends the client address in ${FORWARDED_HEADER}`,
      explanation: `mailboxd reads the client's address from the header this key names; nginx never sends ${value === '' ? 'an empty name' : value}, so mailboxd takes the proxy for the client (logs, X-Originating-IP, lockouts by address). The mailbox servers read their own localconfig: set it there too, and restart mailboxd`,
      fix: `zmlocalconfig -e ${KEY}=${FORWARDED_HEADER} && zmmailboxdctl restart`,
    },
  ];
}

/** The `originating-ip-header` check. */
export const originatingIpHeaderCheck = defineCheck({
  id: ID,
  title: 'Originating IP header',
  needs: ['localConfig'],
  run: ({ localConfig }) => checkOriginatingIpHeader(localConfig),
});
