import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveLookupRunOptions, run } from '../../../src/cli/lookup.js';
import { writeSelfSignedCertificate } from '../../helpers/certificates.js';
import { runCli, testdir } from '../../helpers/testdir.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const built = existsSync(join(ROOT, 'dist/cli/zmproxy.js'));

/** LDAP nobody answers (loopback port 1, refused at once): the service starts without it. */
const OFFLINE = ['--source', 'ldap://127.0.0.1:1', '--bind-dn', 'cn=x', '--no-cache'];

/** A loopback port held by a server of this test, released when the test ends. */
async function heldLoopbackPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

/** TLS and shared key files: a self-signed certificate and its key. */
function secrets(): { cert: string; key: string; sharedKey: string; dir: string } {
  const dir = testdir({ 'shared.key': 's3cret\n', 'garbage.pem': 'cert\n' });
  writeSelfSignedCertificate(join(dir, 'tls.crt'), join(dir, 'tls.key'));
  writeSelfSignedCertificate(join(dir, 'other.crt'), join(dir, 'other.key'));
  return {
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    sharedKey: join(dir, 'shared.key'),
    dir,
  };
}

describe('zmproxy lookup --listen off loopback', () => {
  it.each(['0.0.0.0:7072', '[::]:7072', '192.0.2.10:7072', 'mail.example.test:7072'])(
    'refuses %s with plain HTTP and no shared key, naming --insecure',
    async (listen) => {
      const result = await runCli(run, ['--listen', listen, ...OFFLINE]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /^error: --listen .*: not a loopback address, and the service has no TLS \(--tls-cert and --tls-key\) and no shared key/m,
      );
      expect(result.stderr).toMatch(/^hint: .*--tls-cert.*--insecure/m);
      expect(result.stderr).not.toMatch(/internal error/);
    },
  );

  it('refuses TLS without a shared key, and a shared key without TLS', async () => {
    const files = secrets();
    const tlsOnly = ['--listen', '0.0.0.0:7072', '--tls-cert', files.cert, '--tls-key', files.key];
    const keyOnly = ['--listen', '0.0.0.0:7072', '--shared-key-file', files.sharedKey];
    for (const [argv, missing] of [
      [tlsOnly, /no shared key/],
      [keyOnly, /no TLS/],
    ] as const) {
      const error = await resolveLookupRunOptions([...argv, ...OFFLINE]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_USAGE' });
      expect(String(error)).toMatch(missing);
    }
  });

  it('accepts a non-loopback address with TLS and a shared key', async () => {
    const files = secrets();
    const options = await resolveLookupRunOptions([
      '--listen',
      '0.0.0.0:7072',
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--shared-key-file',
      files.sharedKey,
      ...OFFLINE,
    ]);
    expect(options).toMatchObject({ host: '0.0.0.0', sharedKey: 's3cret', insecureListen: [] });
  });

  it.each(['127.0.0.1:7072', '127.8.9.10:7072', '[::1]:7072', 'localhost:7072', 'LocalHost:0'])(
    'accepts loopback %s without TLS or shared key',
    async (listen) => {
      const options = await resolveLookupRunOptions(['--listen', listen, ...OFFLINE]);
      expect(options.insecureListen).toEqual([]);
    },
  );

  it('starts with --insecure, logging a warning that names what is missing', async () => {
    // 192.0.2.10 (TEST-NET-1) is no address of this host: the listen fails after the warning.
    const result = await runCli(run, [
      '--listen',
      '192.0.2.10:7072',
      '--insecure',
      '--workers',
      '0',
      ...OFFLINE,
    ]);
    const warning = result.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string; missing?: string[] })
      .find((line) => line.level === 40);
    expect(warning?.msg).toMatch(/off loopback without TLS or shared key \(--insecure\)/);
    expect(warning?.missing).toEqual(['TLS (--tls-cert and --tls-key)', 'shared key']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot listen on 192\.0\.2\.10:7072: .*EADDRNOTAVAIL/m);
  });
});

describe('zmproxy lookup when it cannot listen', () => {
  it('reports a port in use with error and hint lines, no stack, exit 1 (--workers 0)', async () => {
    const port = await heldLoopbackPort();
    const result = await runCli(run, [
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '0',
      '--log-level',
      'silent',
      ...OFFLINE,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `error: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)\n` +
        'hint: another process listens there (ss -ltnp shows which): stop it, or give --listen another port\n',
    );
  });

  // Workers are forked from the built module (dist/), as a user runs them.
  it.runIf(built)(
    'fails once, with exit 1, when a worker cannot listen (--workers 1, built bin)',
    async () => {
      const port = await heldLoopbackPort();
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'bin/zmproxy.js'),
          'lookup',
          '--listen',
          `127.0.0.1:${port}`,
          '--workers',
          '1',
          '--log-level',
          'error',
          ...OFFLINE,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.resume();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      clearTimeout(timer);
      expect(code).toBe(1);
      expect(stderr).toBe(
        `error: cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)\n` +
          'hint: another process listens there (ss -ltnp shows which): stop it, or give --listen another port\n',
      );
    },
    30_000,
  );

  it('reads the host localconfig of -w DIR, as zmproxyctl starts it', async () => {
    const work = testdir({
      'conf/localconfig.xml':
        '<localconfig><key name="ldap_url"><value>ldap://127.0.0.1:1</value></key>' +
        '<key name="zmproxy_lookup_shared_key"><value>from-workdir</value></key></localconfig>\n',
    });
    const options = await resolveLookupRunOptions(['-w', work]);
    expect(options.ldap.urls).toEqual(['ldap://127.0.0.1:1']);
    expect(options.sharedKey).toBe('from-workdir');
    expect([options.host, options.port]).toEqual(['127.0.0.1', 7077]);
  });

  it('listens where the zmproxy_lookup_* keys say, with their TLS files', async () => {
    const { cert, key } = secrets();
    const lc = (keys: Record<string, string>): string =>
      '<localconfig>' +
      Object.entries(keys)
        .map(([name, value]) => `<key name="${name}"><value>${value}</value></key>`)
        .join('') +
      '</localconfig>\n';
    const work = testdir({
      'conf/localconfig.xml': lc({
        zmproxy_lookup_bind_address: '0.0.0.0',
        zmproxy_lookup_port: '7177',
        zmproxy_lookup_scheme: 'https',
        zmproxy_lookup_tls_cert: cert,
        zmproxy_lookup_tls_key: key,
        zmproxy_lookup_shared_key: 's3cret',
      }),
    });
    const options = await resolveLookupRunOptions(['-w', work, ...OFFLINE]);
    expect([options.host, options.port]).toEqual(['0.0.0.0', 7177]);
    expect(options.tls?.cert.toString()).toBe(readFileSync(cert, 'utf8'));
    const plain = testdir({
      'conf/localconfig.xml': lc({ zmproxy_lookup_bind_address: '0.0.0.0' }),
    });
    const error = await resolveLookupRunOptions(['-w', plain, ...OFFLINE]).catch((e: unknown) => e);
    expect(String(error)).toContain('zmproxy_lookup_bind_address');
  });
});

describe('zmproxy lookup input errors are usage errors with a hint', () => {
  it.each([
    ["a key that is not the certificate's", 'tls.crt', 'other.key', /is not the key of --tls-cert/],
    ['a garbage certificate', 'garbage.pem', 'tls.key', /not a usable PEM certificate and key/],
    ['a garbage key', 'tls.crt', 'garbage.pem', /not a usable PEM certificate and key/],
  ])('refuses %s', async (_what, cert, key, message) => {
    const files = secrets();
    const result = await runCli(run, [
      '--tls-cert',
      join(files.dir, cert),
      '--tls-key',
      join(files.dir, key),
      '--workers',
      '0',
      ...OFFLINE,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^hint: /m);
    expect(result.stderr).not.toMatch(/internal error|this is a bug/);
  });

  it.each(['ldap://[zz', 'ldap://127.0.0.1:99999', 'ldaps://', 'ldap://127.0.0.1:0'])(
    'refuses the LDAP URL %s from localconfig or --source',
    async (url) => {
      const work = testdir({
        'conf/localconfig.xml': `<localconfig><key name="ldap_url"><value>${url}</value></key></localconfig>\n`,
      });
      const fromLc = await runCli(run, ['-w', work, '--bind-dn', 'cn=x', '--workers', '0']);
      expect(fromLc.code).toBe(2);
      expect(fromLc.stderr).toContain(`error: localconfig ldap_url: "${url}" is not an LDAP URL`);
      expect(fromLc.stderr).toMatch(/^hint: write ldap:\/\/HOST:PORT/m);
      const error = await resolveLookupRunOptions(['--source', url, '--bind-dn', 'cn=x']).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'E_USAGE' });
    },
  );
});

describe('zmproxy lookup --verify-password and status endpoints', () => {
  const withLc = (value: string) =>
    testdir({
      'conf/localconfig.xml':
        '<localconfig><key name="ldap_url"><value>ldap://127.0.0.1:1</value></key>' +
        `<key name="zmproxy_lookup_verify_password"><value>${value}</value></key></localconfig>\n`,
    });

  it('routes only by default, verifies with the flag or localconfig true', async () => {
    expect((await resolveLookupRunOptions(OFFLINE)).verifyPassword).toBe(false);
    expect((await resolveLookupRunOptions([...OFFLINE, '--verify-password'])).verifyPassword).toBe(
      true,
    );
    expect((await resolveLookupRunOptions(['-w', withLc('true')])).verifyPassword).toBe(true);
    expect((await resolveLookupRunOptions(['-w', withLc('false')])).verifyPassword).toBe(false);
  });

  it('refuses a localconfig value that is not true or false', async () => {
    const error = await resolveLookupRunOptions(['-w', withLc('yes')]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_INPUT' });
    expect(String(error)).toMatch(/zmproxy_lookup_verify_password: expected true or false/);
  });

  it('asks the shared key for /metrics and /healthz off loopback, unless told otherwise', async () => {
    const files = secrets();
    const offLoopback = [
      '--listen',
      '0.0.0.0:7072',
      '--tls-cert',
      files.cert,
      '--tls-key',
      files.key,
      '--shared-key-file',
      files.sharedKey,
      ...OFFLINE,
    ];
    expect((await resolveLookupRunOptions(offLoopback)).statusNeedsKey).toBe(true);
    expect(
      (await resolveLookupRunOptions([...offLoopback, '--status-without-key'])).statusNeedsKey,
    ).toBe(false);
    expect((await resolveLookupRunOptions(OFFLINE)).statusNeedsKey).toBe(false);
  });
});

describe('zmproxy lookup follows the directory at an interval', () => {
  const lcWith = (keys: Record<string, string>): string => {
    const body = Object.entries(keys)
      .map(([k, v]) => `<key name="${k}"><value>${v}</value></key>`)
      .join('');
    return testdir({
      'conf/localconfig.xml': `<localconfig><key name="ldap_url"><value>ldap://127.0.0.1:1</value></key><key name="zimbra_server_hostname"><value>proxy1.example.test</value></key>${body}</localconfig>\n`,
    });
  };

  it('probes every 2 s and falls back to a 300 s refresh by default', async () => {
    const options = await resolveLookupRunOptions(['-w', lcWith({})]);
    expect(options).toMatchObject({
      followIntervalMs: 2000,
      safetyRefreshMs: 300_000,
      serverName: 'proxy1.example.test',
    });
  });

  it('takes localconfig keys, and flags over them (0 turns probing off)', async () => {
    const work = lcWith({
      zmproxy_lookup_follow_interval: '5',
      zmproxy_lookup_safety_refresh: '60',
    });
    expect(await resolveLookupRunOptions(['-w', work])).toMatchObject({
      followIntervalMs: 5000,
      safetyRefreshMs: 60_000,
    });
    expect(
      await resolveLookupRunOptions([
        '-w',
        work,
        '--follow-interval',
        '0.5',
        '--safety-refresh',
        '0',
      ]),
    ).toMatchObject({ followIntervalMs: 500, safetyRefreshMs: 0 });
    expect(
      (await resolveLookupRunOptions(['-w', work, '--follow-interval', '0'])).followIntervalMs,
    ).toBe(0);
  });

  it('refuses an interval that is not a number of seconds, naming where it came from', async () => {
    const flag = await resolveLookupRunOptions([...OFFLINE, '--follow-interval', '2s']).catch(
      (e: unknown) => e,
    );
    expect(flag).toMatchObject({
      code: 'E_USAGE',
      message: '--follow-interval 2s: expected a number of seconds',
    });
    const key = await resolveLookupRunOptions([
      '-w',
      lcWith({ zmproxy_lookup_safety_refresh: 'often' }),
    ]).catch((e: unknown) => e);
    expect(String(key)).toMatch(/localconfig zmproxy_lookup_safety_refresh often/);
  });
});
