/**
 * Check `reachability` (README "zmproxy doctor"): DNS for every lookup handler, memcached and
 * upstream host, and a TCP connect to each port, with timings; one finding per server and outcome.
 * A failure names the four usual causes (DNS, a closed port between proxy and server, a busy
 * server, a server that should not be in the pool), the likeliest first.
 */
import type { TcpAnswer } from '../probes/tcp.js';
import type { ProbeTarget } from '../targets.js';
import type { Finding } from '../finding.js';
import { defineCheck } from '../check.js';

type Failed = Extract<TcpAnswer, { ok: false }>;

/** The findings of the reachability check. */
export function checkReachability(
  targets: readonly ProbeTarget[],
  answers: readonly TcpAnswer[],
): Finding[] {
  const findings: Finding[] = [];
  const servers = [...new Set(targets.map((t) => t.server))];
  for (const server of servers) {
    const own = targets.filter((t) => t.server === server);
    const first = own[0];
    if (first === undefined) continue;
    const roles = [...new Set(own.map((t) => t.role))].join(', ');
    if (first.address === undefined) {
      findings.push({
        check: 'reachability',
        severity: 'fail',
        subject: `server ${server}`,
        evidence: `DNS: ${first.dnsError?.reason ?? `${first.host} has no address`}`,
        explanation: `this proxy cannot turn ${first.host} into an address, so it cannot reach ${server} as ${roles}`,
        fix: first.dnsError?.hint ?? `make ${first.host} resolvable on this host`,
      });
      continue;
    }
    const answered = own.flatMap((target) => {
      const answer = answers.find((a) => a.address === target.address && a.port === target.port);
      return answer === undefined ? [] : [{ target, answer }];
    });
    const good = answered.filter((a) => a.answer.ok);
    const bad = answered.flatMap(({ target, answer }) => (answer.ok ? [] : [{ target, answer }]));
    const where = `${first.host} (${first.address})`;
    if (good.length > 0) {
      findings.push({
        check: 'reachability',
        severity: 'ok',
        subject: `server ${server}`,
        evidence: `${where}: ${good.map(({ target, answer }) => `${label(target)} connected in ${answer.ms} ms`).join(', ')}`,
        explanation: '',
        fix: null,
      });
    }
    if (bad.length === 0) continue;
    const onlyMemcached = bad.every(({ target }) => target.role === 'memcached');
    findings.push({
      check: 'reachability',
      // memcached down slows lookups but loses no login (nginx asks the handlers every time).
      severity: onlyMemcached ? 'warn' : 'fail',
      subject: `server ${server}`,
      evidence: `${where}: ${bad.map(({ target, answer }) => `${label(target)} ${describe(answer)}`).join(', ')}`,
      explanation: explainFailure(
        bad.map((b) => b.target),
        bad[0]?.answer as Failed,
      ),
      fix: fixOf(bad.map((b) => b.target)),
    });
  }
  return findings;
}

function label(target: ProbeTarget): string {
  return `${target.port} (${target.role})`;
}

function describe(answer: Failed): string {
  return answer.code === 'timeout'
    ? `no answer within ${answer.ms} ms`
    : `${answer.code} after ${answer.ms} ms`;
}

function explainFailure(targets: readonly ProbeTarget[], answer: Failed): string {
  const target = targets[0];
  if (target === undefined) return '';
  const name = target.server;
  const ports = targets.map((t) => t.port).join(', ');
  const memcachedOnly = targets.every((t) => t.role === 'memcached');
  const dns = `DNS: ${target.host} resolves to ${target.address ?? '?'} on this proxy; check that it is the server's address, not a stale or public one`;
  const closed = `a closed port: nothing listens on ${ports} on ${name}, or a firewall between proxy and server rejects or drops it`;
  const busy = `a busy server: an overloaded ${name} accepts connections late or not at all`;
  const pool = memcachedOnly
    ? `a server that should not be in the pool: if ${name} no longer runs memcached, remove the service from its entry`
    : target.mailbox
      ? `a server that should not be in the pool: if ${name} is retired or being moved, take it out: zmprov ms ${name} zimbraReverseProxyLookupTarget FALSE, then zmproxyconfgen --apply (that one attribute removes it from the lookup handlers and the web upstreams; IMAP and POP3 logins still go where its accounts live, so move them first)`
      : `a server that should not be in the pool: ${name} does not run the mailbox service, so nothing will ever listen there for the proxy`;
  let causes: string[];
  switch (answer.code) {
    case 'ECONNREFUSED':
      causes = [closed, pool, dns, busy];
      break;
    case 'timeout':
      causes = [busy, closed, dns, pool];
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      causes = [dns, closed, pool, busy];
      break;
    default:
      causes = [closed, dns, busy, pool];
  }
  if (!memcachedOnly && !target.mailbox) causes = [pool, ...causes.filter((c) => c !== pool)];
  const impact = memcachedOnly
    ? 'nginx cannot cache routes there, so every login asks a lookup handler'
    : targets.some((t) => t.role === 'lookup handler') &&
        targets.every((t) => t.role !== 'IMAP upstream')
      ? 'nginx tries this lookup handler for some logins and waits for the timeout before the next one'
      : `logins and requests routed to ${name} fail, and nginx waits for the timeout before giving up`;
  return `${impact}. Usual causes, likeliest first: ${causes.map((cause, i) => `(${i + 1}) ${cause}`).join('; ')}.`;
}

function fixOf(targets: readonly ProbeTarget[]): string {
  const target = targets[0];
  if (target === undefined) return '';
  const name = target.server;
  if (!target.mailbox && targets.some((t) => t.role === 'lookup handler')) {
    return `zmprov ms ${name} zimbraReverseProxyLookupTarget FALSE`;
  }
  const address = target.address ?? target.host;
  const ports = targets.map((t) => t.port);
  const check =
    ports.length === 1
      ? `nc -vz -w 3 ${address} ${ports[0] ?? ''}`
      : `for port in ${ports.join(' ')}; do nc -vz -w 3 ${address} $port; done`;
  if (targets.every((t) => t.role === 'memcached')) {
    return `on ${name}: zmmemcachedctl status || zmmemcachedctl start; then from this proxy: ${check}`;
  }
  return `on ${name}: zmmailboxdctl status || zmmailboxdctl start; then from this proxy: ${check}; or, when ${name} leaves the pool: ${leavePool(name)}`;
}

/** Takes a mailbox server out of the lookup handlers and the web upstreams. */
function leavePool(name: string): string {
  return `zmprov ms ${name} zimbraReverseProxyLookupTarget FALSE && zmproxyconfgen --apply`;
}

/** The `reachability` check. */
export const reachabilityCheck = defineCheck({
  id: 'reachability',
  title: 'Reachability from this proxy',
  needs: ['reachability'],
  run: ({ reachability }) => checkReachability(reachability.targets, reachability.answers),
});
