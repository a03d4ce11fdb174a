import { describe, expect, it } from 'vitest';
import { checkReachability } from '../../../../src/doctor/checks/reachability.js';
import type { TcpAnswer } from '../../../../src/doctor/probes/tcp.js';
import { computeProbeTargets } from '../../../../src/doctor/targets.js';
import { context, dnsTable, mailboxServer, server, snapshot } from '../../../helpers/builders.js';

const SNAPSHOT = snapshot({
  servers: [
    server('proxy1.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'] }),
    mailboxServer('mbox1.example.com', { zimbraMailSSLPort: '8443' }),
  ],
});

function targets(
  dns = dnsTable({ 'proxy1.example.com': ['10.0.0.1'], 'mbox1.example.com': ['10.0.0.11'] }),
) {
  return computeProbeTargets(context({ snapshot: SNAPSHOT, dns }).ctx);
}

function answer(address: string, port: number, code?: string): TcpAnswer {
  return code === undefined
    ? { address, port, ok: true, ms: 2 }
    : { address, port, ok: false, ms: 3000, code, message: code };
}

describe('computeProbeTargets', () => {
  it('lists the lookup handler, memcached and the IMAP, POP3 and HTTP ports of mailbox servers', () => {
    expect(targets().map((t) => `${t.role} ${t.address ?? ''}:${t.port}`)).toEqual([
      'lookup handler 10.0.0.11:7072',
      'memcached 10.0.0.1:11211',
      'IMAP upstream 10.0.0.11:7143',
      'POP3 upstream 10.0.0.11:7110',
      'HTTP upstream 10.0.0.11:8443',
    ]);
  });

  it("with the stock set's TLS chain on, probes the IMAPS and POP3S ports nginx reaches", () => {
    const dns = dnsTable({
      'proxy1.example.com': ['10.0.0.1'],
      'mbox1.example.com': ['10.0.0.11'],
    });
    const list = computeProbeTargets(context({ snapshot: SNAPSHOT, dns }).ctx, { stockSet: true });
    expect(
      list
        .filter((t) => t.role === 'IMAP upstream' || t.role === 'POP3 upstream')
        .map((t) => `${t.role} ${t.portAttribute} ${t.port}`),
    ).toEqual([
      'IMAP upstream zimbraImapSSLBindPort 993',
      'POP3 upstream zimbraPop3SSLBindPort 995',
    ]);
  });
});

describe('checkReachability', () => {
  it('passes with timings when every port answers', () => {
    const list = targets();
    const findings = checkReachability(
      list,
      list.map((t) => answer(t.address ?? '', t.port)),
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok', 'ok']);
    expect(findings.find((f) => f.subject === 'server mbox1.example.com')?.evidence).toContain(
      '7143 (IMAP upstream) connected in 2 ms',
    );
  });

  it('fails a refused mailbox port and puts a closed port first among the causes', () => {
    const list = targets();
    const findings = checkReachability(
      list,
      list.map((t) =>
        answer(t.address ?? '', t.port, t.port === 7143 ? 'ECONNREFUSED' : undefined),
      ),
    );
    const failure = findings.find((f) => f.severity === 'fail');
    expect(failure?.subject).toBe('server mbox1.example.com');
    expect(failure?.evidence).toContain('7143 (IMAP upstream) ECONNREFUSED');
    expect(failure?.explanation).toMatch(/\(1\) a closed port/);
    expect(failure?.explanation).toMatch(/DNS.*busy server/);
    expect(failure?.fix).toContain('nc -vz -w 3 10.0.0.11 7143');
    // Cause: a server that should leave the pool, with the command that takes it out.
    expect(failure?.explanation).toContain(
      'take it out: zmprov ms mbox1.example.com zimbraReverseProxyLookupTarget FALSE, then zmproxyconfgen --apply',
    );
    expect(failure?.fix).toContain(
      'when mbox1.example.com leaves the pool: zmprov ms mbox1.example.com zimbraReverseProxyLookupTarget FALSE && zmproxyconfgen --apply',
    );
  });

  it('only warns when memcached alone is down, and puts a busy server first on a timeout', () => {
    const list = targets();
    const findings = checkReachability(
      list,
      list.map((t) =>
        answer(t.address ?? '', t.port, t.role === 'memcached' ? 'timeout' : undefined),
      ),
    );
    const memcached = findings.find((f) => f.severity !== 'ok');
    expect(memcached?.severity).toBe('warn');
    expect(memcached?.explanation).toMatch(/\(1\) a busy server/);
    expect(memcached?.fix).toContain('zmmemcachedctl');
  });

  it('fails a server whose name does not resolve', () => {
    const list = targets(dnsTable({ 'proxy1.example.com': ['10.0.0.1'], 'mbox1.example.com': [] }));
    const findings = checkReachability(
      list,
      list.flatMap((t) => (t.address === undefined ? [] : [answer(t.address, t.port)])),
    );
    const dns = findings.find((f) => f.severity === 'fail');
    expect(dns?.evidence).toBe("DNS: mbox1.example.com can't be resolved");
    expect(dns?.fix).toContain('/etc/hosts');
  });
});
