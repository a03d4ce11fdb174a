import { PROXY_CONFIG_ATTRIBUTES, PROXY_CONFIG_KINDS } from '../../../src/model/snapshot.js';
import { describe, expect, it } from 'vitest';
import { formatHumanReport, formatJsonReport } from '../../../src/doctor/format-report.js';
import type { DoctorProbes } from '../../../src/doctor/run-doctor.js';
import { runDoctor } from '../../../src/doctor/run-doctor.js';
import type { DirectorySnapshot } from '../../../src/model/snapshot.js';
import { dnsTable, globalConfig, mailboxServer, server, snapshot } from '../../helpers/builders.js';

const SNAPSHOT: DirectorySnapshot = snapshot({
  globalConfig: globalConfig({
    zimbraMailTrustedIP: '10.0.0.1',
    zimbraReverseProxySSLToUpstreamEnabled: 'TRUE',
  }),
  servers: [
    server('proxy1.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'] }),
    mailboxServer('mbox1.example.com', { zimbraMailSSLPort: '8443' }),
  ],
});

/** No commercial pair under the work directory. */
const COMMERCIAL_ABSENT = {
  cert: { ok: false as const, missing: true, error: 'no such file' },
  key: { ok: false as const, missing: true, error: 'no such file' },
};

function probes(overrides: Partial<DoctorProbes> = {}): DoctorProbes {
  return {
    connect: (questions) =>
      Promise.resolve(questions.map((q) => ({ ...q, ok: true as const, ms: 1 }))),
    readLogs: (paths) =>
      Promise.resolve(
        paths.map((path) => ({ path, ok: false as const, missing: true, error: 'no such file' })),
      ),
    readCertificates: (pairs) =>
      Promise.resolve(
        pairs.map((pair) =>
          pair.subject === 'commercial'
            ? { pair, ...COMMERCIAL_ABSENT }
            : {
                pair,
                cert: {
                  ok: true as const,
                  source: 'file' as const,
                  chain: [
                    { subject: 'CN=x', issuer: 'CN=x', validFrom: 0, validTo: 400 * 86_400_000 },
                  ],
                },
                key: {
                  ok: true as const,
                  source: 'file' as const,
                  encrypted: false,
                  matches: true,
                },
              },
        ),
      ),
    readTemplates: (dir) =>
      Promise.resolve({ ok: true as const, dir, set: 'stock' as const, templates: [] }),
    exists: () => Promise.resolve(false),
    readFiles: (paths) =>
      Promise.resolve(
        paths.map((path) => ({ path, ok: false as const, missing: true, error: 'no such file' })),
      ),
    ownership: (paths) =>
      Promise.resolve(
        paths.map((path) => ({ path, ok: true as const, uid: 0, gid: 65534, mode: 0o640 })),
      ),
    ...overrides,
  };
}

function doctor(probeOverrides: Partial<DoctorProbes> = {}) {
  return runDoctor(
    { serverName: 'proxy1.example.com', paths: { workdir: '/z' } },
    {
      source: { description: 'test', load: () => Promise.resolve(SNAPSHOT) },
      localConfig: new Map(),
      resolver: {
        resolve: () =>
          Promise.resolve(
            dnsTable({ 'proxy1.example.com': ['10.0.0.1'], 'mbox1.example.com': ['10.0.0.11'] }),
          ),
      },
      probes: probes(probeOverrides),
      now: () => 0,
    },
  );
}

describe('runDoctor', () => {
  it('reports no failure for a healthy proxy, in check order', async () => {
    const report = await doctor();
    expect(report.version).toBe(1);
    expect(report.server).toBe('proxy1.example.com');
    expect(report.summary.fail).toBe(0);
    const order = [...new Set(report.findings.map((f) => f.check))];
    expect(order).toEqual([
      'lookup-handlers',
      'deployed-lookup-handlers',
      'reachability',
      'nginx-logs',
      'upstream-timeouts',
      'certificates',
      'commercial-certificate',
      'key-access',
      'external-routes',
      'imap-id',
      'trusted-ips',
      'originating-ip-header',
      'mail-refer-mode',
      'ssl-upstream',
      'rest-urls',
      'directory',
    ]);
  });

  it('turns a refused IMAP port into a failure and the timeout advice', async () => {
    const report = await doctor({
      connect: (questions) =>
        Promise.resolve(
          questions.map((q) =>
            q.port === 7143
              ? { ...q, ok: false as const, ms: 0, code: 'ECONNREFUSED', message: 'refused' }
              : { ...q, ok: true as const, ms: 1 },
          ),
        ),
    });
    expect(report.summary.fail).toBe(1);
    expect(report.findings.find((f) => f.check === 'upstream-timeouts')?.evidence).toContain(
      'mbox1.example.com unreachable',
    );
  });

  it('reads the default logs below the work directory', async () => {
    const asked: string[] = [];
    await doctor({
      readLogs: (paths) => {
        asked.push(...paths);
        return Promise.resolve([]);
      },
    });
    expect(asked).toEqual(['/z/log/nginx.log', '/z/log/nginx.access.log']);
  });

  it('counts log lines from the switch of the served generation when nginx logged no reload', async () => {
    const stat: string[] = [];
    const report = await doctor({
      exists: (path) => Promise.resolve(path === '/z/conf/nginx/current'),
      modifiedAt: (path) => {
        stat.push(path);
        return Promise.resolve(new Date(2026, 11, 5, 23, 12, 0).getTime());
      },
      readLogs: (paths) =>
        Promise.resolve(
          paths.map((path) => ({
            path,
            ok: true as const,
            truncated: false,
            text: path.endsWith('nginx.log')
              ? [
                  '2026/12/05 23:11:58 [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, upstream: "http://10.0.0.11:8443/"',
                  '2026/12/05 23:12:20 [error] 1#1: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, upstream: "http://10.0.0.11:8443/"',
                ].join('\n')
              : '',
          })),
        ),
    });
    expect(stat).toEqual(['/z/conf/nginx/current']);
    const logs = report.findings.filter((f) => f.check === 'nginx-logs');
    expect(logs.map((f) => f.subject)).toEqual(['upstream timeouts']);
    expect(logs[0]?.evidence).toContain('served generation was switched at 2026/12/05 23:12:00');
  });
});

describe('format-report', () => {
  it('prints the stable JSON schema', async () => {
    const json = JSON.parse(formatJsonReport(await doctor())) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['version', 'server', 'findings', 'summary']);
    expect(Object.keys((json['findings'] as object[])[0] ?? {})).toEqual([
      'check',
      'severity',
      'subject',
      'evidence',
      'explanation',
      'fix',
    ]);
  });

  it('groups findings by check, puts failures first, and colours only when asked', () => {
    const report = {
      version: 1 as const,
      server: 'p',
      findings: [
        {
          check: 'certificates' as const,
          severity: 'ok' as const,
          subject: 'default',
          evidence: 'fine',
          explanation: '',
          fix: null,
        },
        {
          check: 'certificates' as const,
          severity: 'fail' as const,
          subject: 'domain a',
          evidence: 'bad',
          explanation: 'because',
          fix: 'do it',
        },
      ],
      summary: { ok: 1, warn: 0, fail: 1 },
    };
    const text = formatHumanReport(report);
    expect(text).toContain(
      'Certificates (certificates)\n  FAIL  domain a: bad\n        why: because\n        fix: do it\n  ok    default: fine',
    );
    expect(text).toContain('1 ok, 0 warnings, 1 failure');
    expect(text).not.toContain('\u001b[');
    expect(formatHumanReport(report, { colour: true })).toContain('\u001b[31mFAIL\u001b[0m');
  });
});

describe('runDoctor without the directory', () => {
  it('reports the directory failure and every check that needs none', async () => {
    const report = await runDoctor(
      { serverName: 'proxy1.example.com', paths: { workdir: '/z' } },
      {
        source: {
          description: 'test',
          load: () => Promise.reject(new Error('cannot reach LDAP ldap://127.0.0.1:1')),
        },
        localConfig: new Map(),
        resolver: { resolve: () => Promise.resolve(new Map()) },
        probes: probes({
          lookupHealth: () => Promise.resolve('ECONNREFUSED'),
          authHttp: () => Promise.resolve({ error: 'ECONNREFUSED' }),
        }),
        now: () => 0,
      },
    );
    expect(report.findings.map((f) => `${f.check} ${f.severity}`)).toEqual([
      'lookup-service fail',
      'lookup-service fail',
      'nginx-logs ok',
      'certificates ok',
      'commercial-certificate ok',
      'key-access ok',
      'originating-ip-header ok',
      'directory fail',
    ]);
    expect(report.findings.at(-1)?.evidence).toBe(
      'cannot read the directory: cannot reach LDAP ldap://127.0.0.1:1',
    );
    expect(report.findings[0]?.fix).toBe('zmproxyctl start-lookup -w /z');
  });

  it('asks the auth_http listener on a loopback zmproxy_bind_address, as the generator placed it', async () => {
    const asked: string[] = [];
    await runDoctor(
      { serverName: 'proxy1.example.com', paths: { workdir: '/z' } },
      {
        source: { description: 'test', load: () => Promise.reject(new Error('no LDAP')) },
        localConfig: new Map([['zmproxy_bind_address', '127.0.0.12']]),
        resolver: { resolve: () => Promise.resolve(new Map()) },
        probes: probes({
          lookupHealth: () => Promise.resolve(undefined),
          authHttp: (listen) => {
            asked.push(listen);
            return Promise.resolve({ status: 'OK' });
          },
        }),
        now: () => 0,
      },
    );
    expect(asked).toEqual(['127.0.0.12:7079']);
  });
});

describe('runDoctor reads', () => {
  it('only the configuration kinds and the attributes of the catalog, never accounts', async () => {
    const calls: unknown[][] = [];
    await runDoctor(
      { serverName: 'proxy1.example.com', paths: { workdir: '/z' } },
      {
        source: {
          description: 'test',
          load: (...args: unknown[]) => {
            calls.push(args);
            return Promise.resolve(SNAPSHOT);
          },
        },
        localConfig: new Map(),
        resolver: { resolve: () => Promise.resolve(new Map()) },
        probes: probes(),
        now: () => 0,
      },
    );
    expect(calls).toEqual([[PROXY_CONFIG_KINDS, PROXY_CONFIG_ATTRIBUTES]]);
    expect(PROXY_CONFIG_KINDS).not.toContain('account');
    expect(PROXY_CONFIG_ATTRIBUTES).toContain('zimbraMailReferMode');
  });
});

describe('runDoctor, directory values', () => {
  it('reports a value only the generator reads (not any other check), as zmproxyconfgen refuses it', async () => {
    const broken = snapshot({
      globalConfig: SNAPSHOT.globalConfig,
      servers: [
        server('proxy1.example.com', {
          zimbraServiceEnabled: ['proxy', 'memcached'],
          zimbraReverseProxyWorkerConnections: '1024; include /etc/shadow',
        }),
        mailboxServer('mbox1.example.com', { zimbraMailSSLPort: '8443' }),
      ],
    });
    const report = await runDoctor(
      { serverName: 'proxy1.example.com', paths: { workdir: '/z' } },
      {
        source: { description: 'test', load: () => Promise.resolve(broken) },
        localConfig: new Map(),
        resolver: {
          resolve: () =>
            Promise.resolve(
              dnsTable({
                'proxy1.example.com': ['10.0.0.1'],
                'mbox1.example.com': ['10.0.0.11'],
              }),
            ),
        },
        probes: probes(),
        now: () => 0,
      },
    );
    const directory = report.findings.filter((f) => f.check === 'directory');
    expect(directory.map((f) => f.severity)).toEqual(['fail']);
    expect(directory[0]?.evidence).toContain('zimbraReverseProxyWorkerConnections');
  });
});
