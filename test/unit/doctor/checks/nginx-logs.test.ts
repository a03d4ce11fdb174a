import { describe, expect, it } from 'vitest';
import {
  checkNginxLogs,
  nginxLocalTime,
  parseLogLine,
  summarizeLogs,
} from '../../../../src/doctor/checks/nginx-logs.js';
import type { FileRead } from '../../../../src/doctor/probes/files.js';

const ZIMBRA_502 =
  '203.0.113.9:51234 - - [10/Mar/2025:10:00:01 +0000]  "GET https://mail.example.com/ HTTP/1.1" 502 157 "-" "Mozilla/5.0" "10.0.0.12:8443" "10.0.0.1:443"';
const COMBINED_504 =
  '203.0.113.9 - - [10/Mar/2025:10:00:02 +0000] "POST /service/soap HTTP/1.1" 504 160 "-" "curl/7.88"';
const OK_LINE =
  '203.0.113.9 - - [10/Mar/2025:10:00:03 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/7.88"';
const NO_ROUTE =
  '2025/03/10 10:00:04 [error] 812#812: *31 connect() failed (113: No route to host) while connecting to upstream, client: 203.0.113.9, server: mail.example.com, request: "GET / HTTP/1.1", upstream: "https://10.0.0.12:8443/", host: "mail.example.com"';
const TIMEOUT =
  '2025/03/10 10:00:05 [error] 812#812: *32 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.9, upstream: "https://10.0.0.12:8443/service/soap"';
const MAIL_REFUSED =
  '2025/03/10 10:00:06 [error] 812#812: *33 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: 0.0.0.0:143, login: "user@example.com", upstream: 10.0.0.11:7143';

function file(path: string, text: string): FileRead {
  return { path, ok: true, text, truncated: false };
}

describe('parseLogLine', () => {
  it("reads the status and Zimbra's $upstream_addr from the upstream log format", () => {
    expect(parseLogLine(ZIMBRA_502)).toEqual({ event: '502', upstream: '10.0.0.12:8443' });
  });

  it('reads the status of a combined-format line, which names no upstream', () => {
    expect(parseLogLine(COMBINED_504)).toEqual({ event: '504', upstream: undefined });
    expect(parseLogLine(OK_LINE)).toBeUndefined();
  });

  it('recognises no route, upstream timeouts and refused mail upstreams in the error log', () => {
    expect(parseLogLine(NO_ROUTE)).toEqual({ event: 'no-route', upstream: '10.0.0.12:8443' });
    expect(parseLogLine(TIMEOUT)).toEqual({ event: 'timeout', upstream: '10.0.0.12:8443' });
    expect(parseLogLine(MAIL_REFUSED)).toEqual({ event: 'refused', upstream: '10.0.0.11:7143' });
  });
});

describe('checkNginxLogs', () => {
  it('passes when the logs show no upstream error', () => {
    const findings = checkNginxLogs([
      { read: file('/log/nginx.access.log', `${OK_LINE}\n`), given: true },
    ]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.severity).toBe('ok');
    expect(findings[0]?.evidence).toContain('no upstream errors in 1 lines');
  });

  it('explains 502s and names the upstream that fails most', () => {
    const text = [ZIMBRA_502, ZIMBRA_502, OK_LINE].join('\n');
    const findings = checkNginxLogs([
      { read: file('/log/nginx.access.log', text), given: false },
      { read: file('/log/nginx.log', `${NO_ROUTE}\n${TIMEOUT}\n`), given: false },
    ]);
    const bad = findings.find((f) => f.subject === 'HTTP 502 Bad Gateway');
    expect(bad?.severity).toBe('warn');
    expect(bad?.evidence).toMatch(/^2 in .*upstreams failing most: 10\.0\.0\.12:8443 \(2\)/);
    expect(bad?.explanation).toContain('zimbraReverseProxySSLToUpstreamEnabled');
    expect(findings.map((f) => f.subject)).toEqual([
      '"No route to host"',
      'upstream timeouts',
      'HTTP 502 Bad Gateway',
    ]);
  });

  it('says what 503 and 504 mean for a Zimbra proxy', () => {
    const findings = checkNginxLogs([
      {
        read: file('/a', `${COMBINED_504}\n${COMBINED_504.replace(' 504 ', ' 503 ')}`),
        given: true,
      },
    ]);
    expect(findings.find((f) => f.subject.includes('503'))?.explanation).toContain(
      'the mailbox server answered 503',
    );
    expect(findings.find((f) => f.subject.includes('504'))?.explanation).toContain('timeout');
  });

  it('warns about a log the user named that cannot be read, but not about a missing default', () => {
    const missing: FileRead = { path: '/x', ok: false, missing: true, error: 'no such file' };
    expect(checkNginxLogs([{ read: missing, given: true }])[0]?.severity).toBe('warn');
    expect(checkNginxLogs([{ read: missing, given: false }]).map((f) => f.severity)).toEqual([
      'ok',
    ]);
  });

  it('counts lines across files', () => {
    expect(summarizeLogs([`${OK_LINE}\n`, `${ZIMBRA_502}\n`]).lines).toBe(2);
  });
});

describe('lookup path failures in the error log', () => {
  it('recognises a TLS mismatch, refused logins and resets', () => {
    expect(
      parseLogLine(
        '2026/01/01 10:00:00 [crit] 1#1: *5 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 127.0.0.1, server: 127.0.0.1:7079, request: "GET /service/extension/nginx-lookup HTTP/1.0", upstream: "https://10.0.0.5:7072/service/extension/nginx-lookup"',
      ),
    ).toEqual({ event: 'tls', upstream: '10.0.0.5:7072' });
    expect(
      parseLogLine(
        '2026/01/01 10:00:01 [error] 1#1: *6 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 127.0.0.1, upstream: "http://127.0.0.1:7077/service/extension/nginx-lookup"',
      )?.event,
    ).toBe('reset');
    expect(
      parseLogLine(
        '2026/01/01 10:00:02 [error] 1#1: *7 client login failed: "Login service temporarily unavailable" while in http auth state, client: 192.0.2.9, server: 0.0.0.0:143',
      )?.event,
    ).toBe('login-unavailable');
  });

  // Lines Debian 12's nginx 1.22.1 wrote for a refused login and an upstream certificate without
  // the mailbox server's name (zmproxy_mail_upstream_ca_file set).
  it("recognises nginx 1.22's info-level refused login and a refused upstream certificate", () => {
    expect(
      parseLogLine(
        '2026/12/06 01:42:34 [info] 29329#29329: *3 client login failed: "Login service temporarily unavailable" while in http auth state, client: 127.0.0.1 using starttls, server: 127.0.0.41:24143, login: "stack@example.com"',
      )?.event,
    ).toBe('login-unavailable');
    expect(
      parseLogLine(
        '2026/12/06 01:43:24 [error] 31927#31927: *23 upstream SSL certificate does not match "mbox1.example.com" while SSL handshaking to upstream, client: 127.0.0.1, server: 127.85.62.211:7993, upstream: "127.0.0.1:41275", bytes from/to client:0/0, bytes from/to upstream:0/0',
      ),
    ).toEqual({ event: 'upstream-certificate', upstream: '127.0.0.1:41275' });
    expect(
      parseLogLine(
        '2026/12/06 01:43:24 [info] 31927#31927: *35 client 127.0.0.1:48732 connected to 127.85.62.211:7993',
      ),
    ).toBeUndefined();
  });
});

// Lines Debian 12's nginx 1.22.1 wrote (error_log … info): a start, a failure, a SIGHUP reload.
const STARTED = [
  '2026/12/05 23:11:58 [notice] 13802#13802: using the "epoll" event method',
  '2026/12/05 23:11:58 [notice] 13802#13802: nginx/1.22.1',
  '2026/12/05 23:11:58 [notice] 13803#13803: start worker processes',
  '2026/12/05 23:11:58 [notice] 13803#13803: start worker process 13804',
];
const REFUSED_BEFORE =
  '2026/12/05 23:11:58 [error] 13804#13804: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /down HTTP/1.1", upstream: "http://127.0.0.1:1/down", host: "127.0.0.1:18933"';
const RELOADED = [
  '2026/12/05 23:11:59 [notice] 13803#13803: signal 1 (SIGHUP) received from 13795, reconfiguring',
  '2026/12/05 23:11:59 [notice] 13803#13803: reconfiguring',
  '2026/12/05 23:11:59 [notice] 13803#13803: using the "epoll" event method',
  '2026/12/05 23:11:59 [notice] 13803#13803: start worker processes',
  '2026/12/05 23:11:59 [notice] 13803#13803: start worker process 13821',
  '2026/12/05 23:11:59 [notice] 13804#13804: gracefully shutting down',
];
const TIMEOUT_AFTER =
  '2026/12/05 23:12:20 [error] 15026#15026: *12 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /hang HTTP/1.1", upstream: "http://127.0.0.1:18934/hang", host: "127.0.0.1:18933"';
const ACCESS_502_BEFORE =
  '127.0.0.1:40000 - - [05/Dec/2026:23:11:58 +0000]  "GET /down HTTP/1.1" 502 157 "-" "curl/7.88.1" "127.0.0.1:1" "127.0.0.1:18933"';
const ACCESS_504_AFTER =
  '127.0.0.1:40002 - - [05/Dec/2026:23:12:20 +0000]  "GET /hang HTTP/1.1" 504 167 "-" "curl/7.88.1" "127.0.0.1:18934" "127.0.0.1:18933"';

describe('only the lines since nginx last (re)loaded its configuration', () => {
  const errorLog = [...STARTED, REFUSED_BEFORE, ...RELOADED, TIMEOUT_AFTER].join('\n');
  const accessLog = [ACCESS_502_BEFORE, ACCESS_504_AFTER].join('\n');

  it('leaves out failures before the last reload and reports those after it', () => {
    const findings = checkNginxLogs([
      { read: file('/log/nginx.log', errorLog), given: false },
      { read: file('/log/nginx.access.log', accessLog), given: false },
    ]);
    expect(findings.map((f) => f.subject)).toEqual([
      'upstream timeouts',
      'HTTP 504 Gateway Timeout',
    ]);
    expect(findings[0]?.evidence).toContain(
      'since nginx last (re)loaded its configuration at 2026/12/05 23:11:59',
    );
  });

  it('reports a failure logged after a plain start', () => {
    const findings = checkNginxLogs([
      { read: file('/log/nginx.log', [...STARTED, REFUSED_BEFORE].join('\n')), given: false },
    ]);
    expect(findings.map((f) => f.subject)).toEqual(['refused connections']);
    expect(findings[0]?.evidence).toContain('at 2026/12/05 23:11:58');
  });

  it('is ok when every failure predates the reload', () => {
    const findings = checkNginxLogs([
      {
        read: file('/log/nginx.log', [...STARTED, REFUSED_BEFORE, ...RELOADED].join('\n')),
        given: false,
      },
    ]);
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });

  it('counts every line, and says so, when no start or reload was logged', () => {
    const summary = summarizeLogs([[REFUSED_BEFORE, TIMEOUT_AFTER].join('\n')]);
    expect(summary.since).toBeUndefined();
    expect(summary.events.size).toBe(2);
    expect(
      checkNginxLogs([{ read: file('/log/nginx.log', REFUSED_BEFORE), given: false }])[0]?.evidence,
    ).toContain('every line counted');
  });
});

describe('without a start or reload notice (error_log level warn or above)', () => {
  // What Debian's nginx 1.22.1 logs at `error_log … warn`: the failures, no notice lines.
  const errorLog = [REFUSED_BEFORE, TIMEOUT_AFTER].join('\n');

  it('counts from the switch of the served generation', () => {
    const switched = new Date(2026, 11, 5, 23, 12, 0).getTime();
    expect(nginxLocalTime(switched)).toBe('2026/12/05 23:12:00');
    const findings = checkNginxLogs(
      [
        { read: file('/log/nginx.log', errorLog), given: false },
        { read: file('/log/nginx.access.log', `${ACCESS_502_BEFORE}\n`), given: false },
      ],
      switched,
    );
    expect(findings.map((f) => f.subject)).toEqual(['upstream timeouts']);
    expect(findings[0]?.evidence).toContain(
      'counted since the served generation was switched at 2026/12/05 23:12:00',
    );
  });

  it("prefers nginx's own reload notice to the switch time", () => {
    const findings = checkNginxLogs(
      [{ read: file('/log/nginx.log', [...STARTED, REFUSED_BEFORE].join('\n')), given: false }],
      new Date(2026, 11, 5, 23, 12, 0).getTime(),
    );
    expect(findings.map((f) => f.subject)).toEqual(['refused connections']);
  });
});
