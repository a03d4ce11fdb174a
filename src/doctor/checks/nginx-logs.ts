/**
 * Check `nginx-logs` (README "zmproxy doctor"): counts, in nginx's error log (`nginx.log`) and
 * access log (`nginx.access.log`) since nginx last started or reloaded its configuration, of "No route to host", upstream timeouts, refused connections
 * and each of the 500, 502, 503 and 504 answers, with what each means for a Zimbra proxy, what to
 * check, and the upstreams that fail most. Pure: file texts in, findings out.
 */
import type { FileRead } from '../probes/files.js';
import type { Finding } from '../finding.js';
import { okFinding } from '../finding.js';
import { defineCheck } from '../check.js';

/** The upstream failures the logs can show. */
export type LogEvent =
  | 'no-route'
  | 'timeout'
  | 'refused'
  | 'tls'
  | 'upstream-certificate'
  | 'login-unavailable'
  | 'reset'
  | '500'
  | '502'
  | '503'
  | '504';

/** What the logs held: per event its count, the upstreams it named, and the last line. */
export interface LogSummary {
  lines: number;
  /** When nginx last (re)loaded its configuration (its local time, `2026/12/05 23:11:59`). */
  since: string | undefined;
  /** True when `since` is nginx's own (re)load notice, false when it is the fallback given. */
  sinceReload: boolean;
  events: Map<LogEvent, { count: number; upstreams: Map<string, number>; last: string }>;
}

/** A log file the doctor reads, and whether the user named it (a missing default is no news). */
export interface LogInput {
  read: FileRead;
  given: boolean;
}

/** One parsed line: the event it shows, and the upstream it names (host:port), if any. */
export function parseLogLine(
  line: string,
): { event: LogEvent; upstream: string | undefined } | undefined {
  const access = /^\S+ \S+ \S+ \[[^\]]*\]\s+"(?:[^"\\]|\\.)*" (\d{3}) /.exec(line);
  if (access !== null) {
    const status = access[1] ?? '';
    if (status !== '500' && status !== '502' && status !== '503' && status !== '504')
      return undefined;
    // Zimbra's `upstream` log_format: … "$http_referer" "$http_user_agent" "$upstream_addr" …
    const quoted = line.slice(access[0].length).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    const upstream = quoted[2]?.slice(1, -1);
    return {
      event: status,
      upstream: upstream === undefined || upstream === '-' ? undefined : upstream,
    };
  }
  // nginx 1.22's mail module logs a refused login ("client login failed: …") at level info.
  if (
    /\[info\]/.test(line) &&
    /client login failed: "Login service temporarily unavailable"/.test(line)
  )
    return { event: 'login-unavailable', upstream: undefined };
  if (!/\[(error|crit|alert|emerg|warn)\]/.test(line)) return undefined;
  let event: LogEvent | undefined;
  if (/upstream SSL certificate (does not match|verify error)/.test(line))
    event = 'upstream-certificate';
  else if (/SSL_do_handshake\(\) failed/.test(line)) event = 'tls';
  else if (/Login service temporarily unavailable/i.test(line)) event = 'login-unavailable';
  else if (/recv\(\) failed \(104\b/.test(line)) event = 'reset';
  else if (/No route to host/i.test(line)) event = 'no-route';
  else if (/timed out/i.test(line) && /upstream/i.test(line)) event = 'timeout';
  else if (/Connection refused/i.test(line)) event = 'refused';
  if (event === undefined) return undefined;
  return { event, upstream: errorLogUpstream(line) };
}

/** `upstream: "http://10.0.0.5:8080/x"` or `upstream: 10.0.0.5:7143` → `10.0.0.5:8080`. */
function errorLogUpstream(line: string): string | undefined {
  const match = /upstream: "?([^",\s]+)"?/.exec(line);
  const raw = match?.[1];
  if (raw === undefined) return undefined;
  return raw.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/**
 * nginx's master logs this (level notice, so at Zimbra's default error_log level `info`) each time
 * it starts, and again after a SIGHUP once the new configuration is loaded; a reload that fails
 * keeps the old workers and does not log it. Lines as Debian 12's nginx 1.22.1 writes them are in the unit test.
 */
const RELOAD_MARKER =
  /^(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d) \[notice\] \d+#\d+: start worker processes\s*$/;

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/** A line's time as nginx wrote it in its local time, in the error log's `YYYY/MM/DD HH:MM:SS`. */
function lineTime(line: string): string | undefined {
  const error = /^(\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d) \[/.exec(line);
  if (error !== null) return error[1];
  // Access log $time_local: [10/Mar/2025:10:00:01 +0000], the same local clock as the error log.
  const access = /^\S+ \S+ \S+ \[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d:\d\d:\d\d) /.exec(line);
  if (access === null) return undefined;
  const month = MONTHS.indexOf(access[2] ?? '') / 3 + 1;
  if (month < 1) return undefined;
  return `${access[3] ?? ''}/${String(month).padStart(2, '0')}/${access[1] ?? ''} ${access[4] ?? ''}`;
}

/**
 * The lines written since nginx last (re)loaded its configuration: in a file that holds the
 * reload marker, the lines after its last one; in the others (the access log), the lines not
 * older than that second. Without a marker (error_log level above notice, or a log rotated since)
 * every line counts, and `since` is undefined.
 */
export function linesSinceReload(
  texts: readonly string[],
  fallback?: string,
): {
  files: string[][];
  since: string | undefined;
  sinceReload: boolean;
} {
  const files = texts.map((text) => text.split('\n').filter((line) => line.trim() !== ''));
  let since: string | undefined;
  const markerAt = files.map((lines) => {
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const time = RELOAD_MARKER.exec(lines[i] ?? '')?.[1];
      if (time === undefined) continue;
      if (since === undefined || time > since) since = time;
      return i;
    }
    return -1;
  });
  const sinceReload = since !== undefined;
  since ??= fallback;
  if (since === undefined) return { files, since, sinceReload };
  const cutoff = since;
  return {
    since,
    sinceReload,
    files: files.map((lines, index) => {
      const at = markerAt[index] ?? -1;
      if (at >= 0) return lines.slice(at + 1);
      return lines.filter((line) => {
        const time = lineTime(line);
        return time === undefined || time >= cutoff;
      });
    }),
  };
}

/**
 * Counts the events of the lines written since nginx last (re)loaded its configuration, or, when
 * the error log shows no (re)load, since `fallback` (the served generation's switch time).
 */
export function summarizeLogs(texts: readonly string[], fallback?: string): LogSummary {
  const { files, since, sinceReload } = linesSinceReload(texts, fallback);
  const summary: LogSummary = { lines: 0, since, sinceReload, events: new Map() };
  for (const lines of files) {
    for (const line of lines) {
      if (line.trim() === '') continue;
      summary.lines += 1;
      const parsed = parseLogLine(line);
      if (parsed === undefined) continue;
      let entry = summary.events.get(parsed.event);
      if (entry === undefined) {
        entry = { count: 0, upstreams: new Map(), last: '' };
        summary.events.set(parsed.event, entry);
      }
      entry.count += 1;
      entry.last = line.length > 300 ? `${line.slice(0, 300)}…` : line;
      if (parsed.upstream !== undefined) {
        entry.upstreams.set(parsed.upstream, (entry.upstreams.get(parsed.upstream) ?? 0) + 1);
      }
    }
  }
  return summary;
}

/** True when the logs show upstream failures (what the timeout advice is about). */
export function hasUpstreamFailures(summary: LogSummary): boolean {
  return summary.events.size > 0 && [...summary.events.keys()].some((event) => event !== '500');
}

const MEANING: Readonly<Record<LogEvent, { title: string; explanation: string; fix: string }>> = {
  'no-route': {
    title: '"No route to host"',
    explanation:
      'the proxy could not even send a packet to the upstream: the server is down or unplugged, its address in DNS is wrong, or a firewall answers with host-unreachable. nginx marks the upstream failed and tries the next one, so logins get slow before they fail.',
    fix: 'from this proxy: ping -c 3 <upstream> && nc -vz <upstream> <port>; then zmprov gs <server> zimbraServiceHostname',
  },
  timeout: {
    title: 'upstream timeouts',
    explanation:
      "the upstream accepted no connection, or sent no answer, within nginx's timeout: a busy or hung mailbox server (look at its load and mailboxd GC), or a firewall that drops instead of rejecting.",
    fix: 'zmprov gcf zimbraReverseProxyUpstreamConnectTimeout zimbraReverseProxyUpstreamReadTimeout; on the upstream: zmmailboxdctl status && uptime',
  },
  refused: {
    title: 'refused connections',
    explanation:
      'the upstream host answered but nothing listened on the port: mailboxd (or the lookup extension, port zimbraExtensionBindPort) is stopped or restarting, or the port in the directory is not the one it listens on.',
    fix: 'on the upstream: zmmailboxdctl status; ss -ltn | grep -E ":(7072|7143|7110|8080|8443) "',
  },
  tls: {
    title: 'TLS handshakes with upstreams failed',
    explanation:
      'nginx could not complete "SSL_do_handshake()" with an upstream or a lookup service. "wrong version number" means it spoke TLS to a plain-HTTP port: the lookup scheme (localconfig zmproxy_lookup_scheme, or the https rule for Zimbra 8.7+ lookup handlers with zmproxy_lookup_servers=nle) does not match what listens there. Every IMAP/POP3 login then fails.',
    fix: 'zmlocalconfig zmproxy_lookup_servers zmproxy_lookup_scheme zmproxy_lookup_port; zmproxy doctor names the lookup service nginx should reach (docs/deployment.md)',
  },
  'upstream-certificate': {
    title: 'upstream certificates nginx refused',
    explanation:
      'nginx verifies the certificate of a mailbox server (localconfig zmproxy_mail_upstream_ca_file) or lookup service (zmproxy_lookup_ca_file) and refused it: "does not match" means the certificate does not name the host nginx expects (the server\'s zimbraServiceHostname, or zmproxy_lookup_tls_name), "verify error" that the CA file does not sign it. Every login routed there fails.',
    fix: 'openssl s_client -connect <upstream> -CAfile <CA file> -verify_hostname <server name> </dev/null; install a certificate that names the server and is signed by that CA, or point the localconfig key at the CA that signs it (docs/mail-tls.md)',
  },
  'login-unavailable': {
    title: '"Login service temporarily unavailable"',
    explanation:
      'IMAP and POP3 clients were told to come back later: nginx reached no lookup service (stopped, listening elsewhere than the generated configuration says, or a TLS mismatch).',
    fix: 'zmproxyctl status && zmproxyctl start-lookup',
  },
  reset: {
    title: 'connections reset by upstreams',
    explanation:
      '"recv() failed (104: Connection reset by peer)": an upstream or lookup service closed the connection mid-request: it restarted, crashed, or refused the protocol nginx spoke (TLS to a plain port, or the reverse).',
    fix: 'on the upstream named in the line: zmmailboxdctl status; for a lookup service: zmproxyctl status',
  },
  '500': {
    title: 'HTTP 500 Internal Server Error',
    explanation:
      'an error inside nginx or, far more often for a Zimbra proxy, inside mailboxd, passed on to the browser: look at mailbox.log on the upstream at the same time.',
    fix: 'on the upstream: grep -i -B2 -A20 exception /opt/zimbra/log/mailbox.log | tail -100',
  },
  '502': {
    title: 'HTTP 502 Bad Gateway',
    explanation:
      'nginx got no valid answer from the mailbox server: mailboxd is down or restarting (connection refused or reset), or the proxy speaks the wrong protocol to the port, e.g. plain HTTP to the HTTPS port because zimbraReverseProxySSLToUpstreamEnabled does not match the mailbox server\'s zimbraMailMode. When every server of the upstream group is marked failed (zimbraMailProxyMaxFails failures within zimbraMailProxyReconnectTimeout), stock nginx logs "no live upstreams" and answers 502 as well, not 503.',
    fix: 'on the upstream: zmmailboxdctl status; zmprov gs <server> zimbraMailMode zimbraMailPort zimbraMailSSLPort zimbraReverseProxySSLToUpstreamEnabled',
  },
  '503': {
    title: 'HTTP 503 Service Unavailable',
    explanation:
      'the mailbox server answered 503 and nginx passed it on: mailboxd is starting, or refused the load. nginx itself answers no 503 with these templates: an upstream group with every server down gives 502, and the web login throttle answers 429.',
    fix: 'on the upstream: zmmailboxdctl status && tail -200 /opt/zimbra/log/mailbox.log',
  },
  '504': {
    title: 'HTTP 504 Gateway Timeout',
    explanation:
      "the mailbox server took longer than the proxy's timeout to answer (zimbraReverseProxyUpstreamReadTimeout; zimbraReverseProxyUpstreamPollingTimeout for long polls): a busy server or a slow request such as a large search or attachment.",
    fix: 'zmprov gcf zimbraReverseProxyUpstreamReadTimeout zimbraReverseProxyUpstreamPollingTimeout; on the upstream: uptime && zmmailboxdctl status',
  },
};

const ORDER: readonly LogEvent[] = [
  'upstream-certificate',
  'tls',
  'login-unavailable',
  'reset',
  'no-route',
  'timeout',
  'refused',
  '500',
  '502',
  '503',
  '504',
];

/** `ms` as nginx writes its local time in the error log: `2026/12/05 23:11:59`. */
export function nginxLocalTime(ms: number): string {
  const date = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}/${two(date.getMonth() + 1)}/${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/**
 * The findings of the log check. `servedSince`: when the served generation was switched (ms),
 * the cut-off when the error log holds no start or reload notice.
 */
export function checkNginxLogs(inputs: readonly LogInput[], servedSince?: number): Finding[] {
  const findings: Finding[] = [];
  const readable = inputs.flatMap((input) => (input.read.ok ? [input.read] : []));
  for (const input of inputs) {
    if (input.read.ok || (!input.given && input.read.missing)) continue;
    findings.push({
      check: 'nginx-logs',
      severity: 'warn',
      subject: input.read.path,
      evidence: `${input.read.path}: ${input.read.error}`,
      explanation: 'the doctor cannot count upstream errors in a log it cannot read',
      fix: `ls -l ${input.read.path}`,
    });
  }
  if (readable.length === 0) {
    findings.push(
      okFinding(
        'nginx-logs',
        'nginx logs',
        `no log to read (looked for ${inputs.map((input) => input.read.path).join(', ')}); give --log FILE`,
      ),
    );
    return findings;
  }
  const summary = summarizeLogs(
    readable.map((read) => read.text),
    servedSince === undefined ? undefined : nginxLocalTime(servedSince),
  );
  const files = readable
    .map((read) => `${read.path}${read.truncated ? ' (last 16 MB)' : ''}`)
    .join(', ');
  const window =
    summary.since === undefined
      ? 'no start or reload of nginx in the error log (error_log level above notice?): every line counted'
      : summary.sinceReload
        ? `counted since nginx last (re)loaded its configuration at ${summary.since}`
        : `no start or reload of nginx in the error log (error_log level above notice?): counted since the served generation was switched at ${summary.since}`;
  for (const event of ORDER) {
    const entry = summary.events.get(event);
    if (entry === undefined) continue;
    const meaning = MEANING[event];
    const top = [...entry.upstreams.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 3)
      .map(([upstream, count]) => `${upstream} (${count})`);
    findings.push({
      check: 'nginx-logs',
      severity: 'warn',
      subject: meaning.title,
      evidence: `${entry.count} in ${files}${top.length > 0 ? `; upstreams failing most: ${top.join(', ')}` : ''}; ${window}; last: ${entry.last}`,
      explanation: meaning.explanation,
      fix: meaning.fix,
    });
  }
  if (summary.events.size === 0) {
    findings.push(
      okFinding(
        'nginx-logs',
        'nginx logs',
        `no upstream errors in ${summary.lines} lines of ${files}; ${window}`,
      ),
    );
  }
  return findings;
}

/** The `nginx-logs` check. */
export const nginxLogsCheck = defineCheck({
  id: 'nginx-logs',
  title: 'nginx logs',
  needs: ['logs'],
  run: ({ logs }) => checkNginxLogs(logs.inputs, logs.servedSince),
});
