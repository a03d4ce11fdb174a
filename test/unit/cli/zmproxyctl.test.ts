import { chmodSync, existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { spawnLookup } from '../../../src/reload/lookup-process.js';
import { run } from '../../../src/cli/zmproxyctl.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

describe('zmproxyctl', () => {
  it('says nginx is not running and exits 1, as Zimbra does', async () => {
    const { io, out } = captureIo();
    expect(await run(['status', '-w', testdir(), '--no-lookup'], io)).toBe(1);
    expect(out.stdout).toBe('proxy is not running.\n');
  });

  it('refuses to start without a configuration', async () => {
    const dir = testdir();
    const { io, out } = captureIo();
    expect(await run(['start', 'norewrite', '-w', dir, '--no-lookup'], io)).toBe(1);
    expect(out.stderr).toContain(`nginx start failed. reason: ${dir}/conf/nginx.conf is missing`);
  });

  it("refuses to start a configuration that ProxyConfGen's marker calls failed", async () => {
    const dir = testdir({ 'conf/nginx.conf': 'events {}\n#__CONF_GEN_ERROR__:no memcached\n' });
    const { io, out } = captureIo();
    expect(await run(['start', 'norewrite', '-w', dir, '--no-lookup'], io)).toBe(1);
    expect(out.stderr).toContain('nginx start failed. reason: no memcached');
  });

  it('stops nothing when nothing runs', async () => {
    const { io, out } = captureIo();
    expect(await run(['stop', '-w', testdir()], io, { lookupCommand: () => undefined })).toBe(0);
    expect(out.stdout).toBe('Stopping proxy...not running.\n');
  });

  it('names setup when start finds a work directory that is not set up', async () => {
    const dir = testdir();
    const { io, out } = captureIo();
    expect(await run(['start', '-w', dir, '--no-lookup'], io)).toBe(1);
    expect(out.stderr).toContain(`${dir} is not set up for nginx: conf/, log/`);
    expect(out.stderr).toContain(`hint: zmproxyctl setup -w ${dir}`);
  });

  it('sets up a work directory: directories, a 0600 localconfig with a shared key, a certificate', async () => {
    const dir = testdir();
    chmodSync(dir, 0o755);
    const { io, out } = captureIo();
    const passwordFile = join(dir, 'pw');
    writeFileSync(passwordFile, 'secret\n');
    const args = [
      'setup',
      '-w',
      dir,
      '--server',
      'proxy.test',
      '--ldap-url',
      'ldap://127.0.0.1:389',
    ];
    expect(await run([...args, '--bind-password-file', passwordFile], io)).toBe(0);
    for (const path of ['log', 'data/tmp/nginx', 'conf/nginx.crt', 'conf/nginx.key'])
      expect(existsSync(join(dir, path))).toBe(true);
    // Readable by nginx's workers' group (they load it when certificates are chosen by map).
    const keyFile = statSync(join(dir, 'conf/nginx.key'));
    expect(keyFile.mode & 0o777).toBe(0o640);
    expect(keyFile.gid).toBe(65534);
    const lcFile = join(dir, 'conf/localconfig.xml');
    expect(statSync(lcFile).mode & 0o777).toBe(0o600);
    const lc = readFileSync(lcFile, 'utf8');
    const key = /zmproxy_lookup_shared_key">\s*<value>([0-9a-f]{48})</.exec(lc)?.[1];
    expect(key).toBeDefined();
    expect(lc).toContain('<value>secret</value>');
    expect(out.stderr).toMatch(/^warning\[W_SETUP_SELF_SIGNED_CERT\]: .* is self-signed/m);
    expect(out.stderr).not.toContain('W_SETUP_NO_LDAP_URL');
    // Again: nothing is replaced, the key stays.
    expect(await run(['setup', '-w', dir], captureIo().io)).toBe(0);
    expect(readFileSync(lcFile, 'utf8')).toContain(key);
  });

  it('writes --nginx-user as zimbra_user (the stock user directive), and leaves it unset without', async () => {
    const dir = testdir();
    chmodSync(dir, 0o755);
    expect(await run(['setup', '-w', dir, '--nginx-user', 'nobody'], captureIo().io)).toBe(0);
    expect(readFileSync(join(dir, 'conf/localconfig.xml'), 'utf8')).toMatch(
      /name="zimbra_user">\s*<value>nobody</,
    );
    const plain = testdir();
    chmodSync(plain, 0o755);
    expect(await run(['setup', '-w', plain], captureIo().io)).toBe(0);
    expect(readFileSync(join(plain, 'conf/localconfig.xml'), 'utf8')).not.toContain('zimbra_user');
  });

  it('refuses to set up below a directory the nginx workers cannot enter, naming it', async () => {
    const parent = testdir();
    chmodSync(parent, 0o700);
    const { io, out } = captureIo();
    expect(await run(['setup', '-w', join(parent, 'zimbra')], io)).toBe(1);
    expect(out.stderr).toContain(`cannot enter ${parent}`);
    expect(out.stderr).toContain(`hint: chmod o+x ${parent}`);
    expect(existsSync(join(parent, 'zimbra'))).toBe(false);
  });

  it.runIf(existsSync(join(ROOT, 'dist/cli/lookup.js')))(
    'says the lookup service failed, with its log, when its port is taken (never "started")',
    async () => {
      const held = createServer();
      await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
      const port = (held.address() as AddressInfo).port;
      try {
        const dir = testdir({
          'conf/localconfig.xml':
            '<localconfig><key name="ldap_url"><value>ldap://127.0.0.1:1</value></key>' +
            `<key name="zmproxy_lookup_port"><value>${port}</value></key></localconfig>\n`,
        });
        const { io, out } = captureIo();
        // The built service, as the installed zmproxyctl runs it.
        const lookupCommand = (workdir: string) => [
          process.execPath,
          join(ROOT, 'bin/zmproxy.js'),
          'lookup',
          '-w',
          workdir,
        ];
        expect(
          await run(['start-lookup', '-w', dir, '--timeout', '5'], io, { lookupCommand }),
        ).toBe(1);
        expect(out.stdout).not.toContain('started');
        expect(out.stderr).toContain('lookup service: exited at once');
        expect(out.stderr).toContain('EADDRINUSE');
        expect(existsSync(join(dir, 'log/zmproxy-lookup.pid'))).toBe(false);
      } finally {
        held.close();
      }
    },
    30_000,
  );

  it('needs a command', async () => {
    const { io } = captureIo();
    expect(await run([], io)).toBe(2);
    expect(await run(['bounce'], io)).toBe(2);
  });

  it('prints the usage for help, -h and --help, exit 0', async () => {
    for (const argv of [['help'], ['-h'], ['status', '--help']]) {
      const { io, out } = captureIo();
      expect(await run(argv, io)).toBe(0);
      expect(out.stdout).toMatch(/^usage: zmproxyctl start\|stop\|restart\|reload\|status/);
      expect(out.stderr).toBe('');
    }
  });

  it.each([
    [['status', '--bogus'], 'error: unknown option --bogus'],
    [
      ['bounce'],
      'error: unknown command bounce (commands: start, stop, restart, reload, status, setup, start-lookup, stop-lookup)',
    ],
    [['status', '-w'], 'error: -w, --workdir needs a value'],
    [['stop', 'norewrite'], 'error: unexpected argument norewrite'],
    [['start', '--timeout', '0'], 'error: --timeout needs a positive number of seconds'],
  ])('rejects %j with exit 2 and the options hint', async (argv, message) => {
    const { io, out } = captureIo();
    expect(await run(argv, io)).toBe(2);
    expect(out.stderr).toBe(`${message}\nhint: zmproxyctl -h lists the options\n`);
  });

  describe('the lookup log (spawnLookup)', () => {
    const idle = [process.execPath, '-e', 'setTimeout(() => {}, 3000)'];

    it('is created readable by its owner only, whatever the umask', () => {
      const dir = testdir({ 'log/.keep': '' });
      const old = process.umask(0);
      let pid = 0;
      try {
        pid = spawnLookup(idle, join(dir, 'log/lookup.pid'), join(dir, 'log/zmproxy-lookup.log'));
      } finally {
        process.umask(old);
        if (pid > 0) process.kill(pid);
      }
      expect(statSync(join(dir, 'log/zmproxy-lookup.log')).mode & 0o777).toBe(0o600);
    });

    it('is never opened through a symlink', () => {
      const dir = testdir({ 'log/.keep': '' });
      const target = join(testdir(), 'elsewhere');
      writeFileSync(target, 'untouched\n');
      symlinkSync(target, join(dir, 'log/zmproxy-lookup.log'));
      expect(() =>
        spawnLookup(idle, join(dir, 'log/lookup.pid'), join(dir, 'log/zmproxy-lookup.log')),
      ).toThrow(/ELOOP/);
      expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    });
  });
});
