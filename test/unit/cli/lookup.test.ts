import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveLookupRunOptions, run } from '../../../src/cli/lookup.js';
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

/** TLS and shared key files (resolving only reads them). */
function secrets(): { cert: string; key: string; sharedKey: string } {
  const dir = testdir({ 'tls.crt': 'cert\n', 'tls.key': 'key\n', 'shared.key': 's3cret\n' });
  return {
    cert: join(dir, 'tls.crt'),
    key: join(dir, 'tls.key'),
    sharedKey: join(dir, 'shared.key'),
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
    expect(options.tls?.cert.toString()).toBe('cert\n');
    const plain = testdir({
      'conf/localconfig.xml': lc({ zmproxy_lookup_bind_address: '0.0.0.0' }),
    });
    const error = await resolveLookupRunOptions(['-w', plain, ...OFFLINE]).catch((e: unknown) => e);
    expect(String(error)).toContain('zmproxy_lookup_bind_address');
  });
});
