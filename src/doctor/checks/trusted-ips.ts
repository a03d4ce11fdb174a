/**
 * Check `trusted-ips` (README "zmproxy doctor"): every proxy server's address must be in the
 * mailbox servers' zimbraMailTrustedIP, or mailboxd ignores the X-Forwarded-For the proxy sends and
 * takes the proxy for the client (logs, X-Originating-IP, and lockouts by address then name the
 * proxy). And the web templates must send X-Forwarded-For at all.
 */
import { matchesAnyAddress } from '../../lookup/address-match.js';
import type { DirectoryEntry } from '../../model/snapshot.js';
import { entryLabel, entryName } from '../../model/snapshot.js';
import type { TemplateSource } from '../../render/types.js';
import { resolveServerAddress } from '../../vars/lookup.js';
import { hasService } from '../../vars/server-lists.js';
import type { VarContext } from '../../vars/types.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

const TRUSTED = 'zimbraMailTrustedIP';

/** The templates the web proxy is rendered from, or why they could not be read. */
export type TemplateFacts =
  | {
      ok: true;
      dir: string;
      /** `stock`: a zmproxy template set (it has a zmproxy-template-set file); else Zimbra's. */
      set: 'stock' | 'zimbra';
      templates: readonly TemplateSource[];
    }
  | { ok: false; dir: string; error: string };

/** The findings of the trusted-IP check. */
export function checkTrustedIps(ctx: VarContext, templates: TemplateFacts): Finding[] {
  const findings: Finding[] = [];
  const proxies = ctx.snapshot.servers.filter((server) => hasService(server, 'proxy'));
  const addresses: { server: string; address: string }[] = [];
  for (const proxy of proxies) {
    const resolved = resolveServerAddress(ctx, proxy);
    if (resolved.ok)
      addresses.push({ server: entryName(proxy), address: resolved.address.address });
    else {
      findings.push({
        check: 'trusted-ips',
        severity: 'warn',
        subject: `server ${entryName(proxy)}`,
        evidence: `proxy ${entryName(proxy)}: ${resolved.reason}`,
        explanation: `the doctor cannot tell whether the mailbox servers trust this proxy without its address`,
        fix: resolved.hint,
      });
    }
  }
  const mailboxes = ctx.snapshot.servers.filter((server) => hasService(server, 'mailbox'));
  if (proxies.length === 0) {
    findings.push(okFinding('trusted-ips', TRUSTED, 'no server runs the proxy service'));
  } else {
    // One finding per entry that holds the list (the global config, or a server's own value).
    const bySource = new Map<
      DirectoryEntry,
      { servers: string[]; missing: Set<string>; values: readonly string[] }
    >();
    for (const mailbox of mailboxes) {
      const found = ctx.readers.readerFor(mailbox).find(TRUSTED);
      const source = found?.from ?? ctx.snapshot.globalConfig;
      const values = found?.values ?? [];
      const missing = addresses.filter((a) => !matchesAnyAddress(a.address, values));
      let group = bySource.get(source);
      if (group === undefined) {
        group = { servers: [], missing: new Set(), values };
        bySource.set(source, group);
      }
      group.servers.push(entryName(mailbox));
      for (const a of missing) group.missing.add(`${a.address} (${a.server})`);
    }
    for (const [source, group] of bySource) {
      const subject = source.kind === 'globalConfig' ? 'global config' : entryLabel(source);
      const has = `${TRUSTED} is ${group.values.length === 0 ? 'empty' : group.values.join(' ')}`;
      if (group.missing.size === 0) {
        findings.push(
          okFinding(
            'trusted-ips',
            subject,
            `${has}: every proxy is trusted by ${group.servers.join(', ')}`,
          ),
        );
        continue;
      }
      const missing = [...group.missing];
      const adds = missing.map((text) => `+${TRUSTED} ${text.split(' ')[0] ?? ''}`).join(' ');
      findings.push({
        check: 'trusted-ips',
        severity: 'warn',
        subject,
        evidence: `${has}; proxy address${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} missing (read by ${group.servers.join(', ')})`,
        explanation:
          'mailboxd believes X-Forwarded-For only from trusted addresses: from any other proxy it logs the proxy as the client, puts the proxy address into X-Originating-IP, and counts failed logins (and lockouts by address) against the proxy, so one bad client can lock everybody out',
        fix: `${source.kind === 'globalConfig' ? 'zmprov mcf' : `zmprov ms ${entryName(source)}`} ${adds} && zmmailboxdctl restart`,
      });
    }
  }
  if (ctx.server.boolean('zimbraReverseProxyHttpEnabled', false))
    findings.push(checkForwardedFor(templates));
  return findings;
}

function checkForwardedFor(templates: TemplateFacts): Finding {
  if (!templates.ok) {
    return {
      check: 'trusted-ips',
      severity: 'warn',
      subject: 'X-Forwarded-For',
      evidence: `templates in ${templates.dir}: ${templates.error}`,
      explanation: 'the doctor cannot tell whether the web proxy sends X-Forwarded-For',
      fix: `ls ${templates.dir}`,
    };
  }
  const web = templates.templates.filter((t) => t.name.includes('.web'));
  const sending = web.filter((t) => /proxy_set_header\s+X-Forwarded-For\b/i.test(t.text));
  if (sending.length > 0) {
    return okFinding(
      'trusted-ips',
      'X-Forwarded-For',
      `the web templates send X-Forwarded-For (${sending.map((t) => t.name).join(', ')})`,
    );
  }
  return {
    check: 'trusted-ips',
    severity: 'warn',
    subject: 'X-Forwarded-For',
    evidence: `none of the ${web.length} web templates in ${templates.dir} has "proxy_set_header X-Forwarded-For"`,
    explanation:
      'without X-Forwarded-For every web request reaches mailboxd with the proxy as its client address, whatever zimbraMailTrustedIP says',
    fix: `add "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" to the proxied locations in ${templates.dir}/nginx.conf.web*.template && zmproxyconfgen && zmproxyctl reload`,
  };
}

/** The `trusted-ips` check. */
export const trustedIpsCheck = defineCheck({
  id: 'trusted-ips',
  title: 'Trusted IPs',
  needs: ['directory', 'templates'],
  run: ({ directory, templates }) => checkTrustedIps(directory, templates),
});
