/**
 * Check `upstream-timeouts` (README "zmproxy doctor"): when upstream failures are seen (in the
 * logs, or by the reachability probe), nginx's passive health check makes things worse: after
 * zimbraMailProxyMaxFails failures it stops using the upstream for zimbraMailProxyReconnectTimeout
 * seconds, and with few mailbox servers that is every login. Zimbra's advice is to turn it off
 * (both 0) and reload. Both values are read per upstream server (docs/zimbra-notes.md "Upstream
 * `server` lines").
 */
import { entryName } from '../../model/snapshot.js';
import { hasService } from '../../vars/server-lists.js';
import type { VarContext } from '../../vars/types.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';
import { nginxLocalTime, summarizeLogs } from './nginx-logs.js';
import type { LogInput } from './nginx-logs.js';
import { checkReachability } from './reachability.js';
import type { TcpAnswer } from '../probes/tcp.js';
import type { ProbeTarget } from '../targets.js';

const RECONNECT = 'zimbraMailProxyReconnectTimeout';
const MAX_FAILS = 'zimbraMailProxyMaxFails';

/** What the other checks saw fail. */
export interface FailureEvidence {
  /** e.g. `nginx logs: 12 × HTTP 502`, `IMAP upstream mbox2 unreachable`. */
  seen: readonly string[];
}

/** The findings of the timeout check. */
export function checkUpstreamTimeouts(ctx: VarContext, evidence: FailureEvidence): Finding[] {
  const servers = ctx.snapshot.servers.filter((server) => hasService(server, 'mailbox'));
  // zmprov arguments per entry that holds a non-zero value: the global config or a server.
  const changes = new Map<string, string[]>();
  const values: string[] = [];
  for (const name of [RECONNECT, MAX_FAILS]) {
    const seenValues = new Map<string, string[]>();
    for (const server of servers) {
      const found = ctx.readers.readerFor(server).find(name);
      // Code defaults: fail_timeout 60 when absent, max_fails 1 (docs/zimbra-notes.md "Upstream
      // `server` lines").
      const value = found?.values[0] ?? (name === RECONNECT ? '60' : '1');
      const own = found?.from === server;
      const key = own ? `${value} on ${entryName(server)}` : `${value} (global)`;
      seenValues.set(key, [...(seenValues.get(key) ?? []), entryName(server)]);
      if (value.trim() === '0') continue;
      const command = own ? `zmprov ms ${entryName(server)}` : 'zmprov mcf';
      const args = changes.get(command) ?? [];
      if (!args.includes(name)) args.push(name);
      changes.set(command, args);
    }
    values.push(`${name} ${[...seenValues.keys()].join(', ')}`);
  }
  if (evidence.seen.length === 0) {
    return [
      okFinding(
        'upstream-timeouts',
        'upstream failures',
        'no upstream failure seen in the logs or by the probe',
      ),
    ];
  }
  if (changes.size === 0) {
    return [
      okFinding(
        'upstream-timeouts',
        'upstream failures',
        `upstream failures seen (${evidence.seen.join('; ')}), and the passive health check is already off (${RECONNECT} and ${MAX_FAILS} are 0)`,
      ),
    ];
  }
  return [
    {
      check: 'upstream-timeouts',
      severity: 'warn',
      subject: 'upstream failures',
      evidence: `${evidence.seen.join('; ')}; ${values.join(', ')}`,
      explanation: `after ${MAX_FAILS} failed connects nginx stops sending anything to that mailbox server for ${RECONNECT} seconds (fail_timeout), even when the failure was one slow answer; with few mailbox servers every login then fails at once. Setting both to 0 turns this off, so one bad moment costs one request, not a whole window; the generator writes the change on its next run, and nginx needs a reload.`,
      fix: [
        ...[...changes].map(
          ([command, names]) => `${command} ${names.map((n) => `${n} 0`).join(' ')}`,
        ),
        'zmproxyconfgen',
        'zmproxyctl reload',
      ].join(' && '),
    },
  ];
}

/** How a log event reads in the advice. */
const LOG_EVENT_TEXT: Partial<Record<string, string>> = {
  'no-route': 'No route to host',
  timeout: 'upstream timed out',
  refused: 'connection refused',
  tls: 'TLS handshake failed',
  'login-unavailable': 'Login service temporarily unavailable',
  reset: 'connection reset by peer',
};

/** What the logs and the reachability probe saw fail, one line each. */
export function collectFailureEvidence(
  logs: { inputs: readonly LogInput[]; servedSince: number | undefined },
  reachability: { targets: readonly ProbeTarget[]; answers: readonly TcpAnswer[] },
): FailureEvidence {
  const seen: string[] = [];
  const summary = summarizeLogs(
    logs.inputs.flatMap((input) => (input.read.ok ? [input.read.text] : [])),
    logs.servedSince === undefined ? undefined : nginxLocalTime(logs.servedSince),
  );
  for (const [event, entry] of summary.events) {
    if (event !== '500')
      seen.push(`${entry.count} × ${LOG_EVENT_TEXT[event] ?? `HTTP ${event}`} in the logs`);
  }
  for (const finding of checkReachability(reachability.targets, reachability.answers)) {
    if (finding.severity === 'fail' && !finding.evidence.startsWith('DNS:')) {
      seen.push(`${finding.subject.replace(/^server /, '')} unreachable`);
    }
  }
  return { seen };
}

/** The `upstream-timeouts` check. */
export const upstreamTimeoutsCheck = defineCheck({
  id: 'upstream-timeouts',
  title: 'Upstream timeouts',
  needs: ['directory', 'logs', 'reachability'],
  run: ({ directory, logs, reachability }) =>
    checkUpstreamTimeouts(directory, collectFailureEvidence(logs, reachability)),
});
