import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../../src/cli/zmproxyctl.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

describe('zmproxyctl', () => {
  it('says nginx is not running and exits 1, as Zimbra does', async () => {
    const { io, out } = captureIo();
    expect(await run(['status', '-w', testdir(), '--no-lookup'], io)).toBe(1);
    expect(out.stdout).toBe('proxy is not running.\n');
  });

  it('refuses to start without a configuration', async () => {
    const dir = testdir();
    const { io, out } = captureIo();
    expect(await run(['start', '-w', dir, '--no-lookup'], io)).toBe(1);
    expect(out.stderr).toContain(`nginx start failed. reason: ${dir}/conf/nginx.conf is missing`);
  });

  it("refuses to start a configuration that ProxyConfGen's marker calls failed", async () => {
    const dir = testdir({ 'conf/nginx.conf': 'events {}\n#__CONF_GEN_ERROR__:no memcached\n' });
    const { io, out } = captureIo();
    expect(await run(['start', '-w', dir, '--no-lookup'], io)).toBe(1);
    expect(out.stderr).toContain('nginx start failed. reason: no memcached');
  });

  it('stops nothing when nothing runs', async () => {
    const { io, out } = captureIo();
    expect(await run(['stop', '-w', testdir()], io, { lookupCommand: () => undefined })).toBe(0);
    expect(out.stdout).toBe('Stopping proxy...not running.\n');
  });

  it('needs a command', async () => {
    const { io } = captureIo();
    expect(await run([], io)).toBe(2);
    expect(await run(['bounce'], io)).toBe(2);
  });

  describe('the lookup log', () => {
    // A process named nginx in nginx's pid file: start then only starts the lookup service.
    const idle = () => [process.execPath, '-e', 'setTimeout(() => {}, 3000)'];
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const child of children.splice(0)) child.kill();
    });
    async function workdir(): Promise<string> {
      const nginx = spawn('bash', ['-c', 'exec -a nginx sleep 10'], { stdio: 'ignore' });
      children.push(nginx);
      for (let i = 0; i < 100; i++) {
        if (readFileSync(`/proc/${nginx.pid}/cmdline`, 'utf8').startsWith('nginx')) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return testdir({ 'log/nginx.pid': `${nginx.pid}\n` });
    }
    function stopChild(dir: string): void {
      const pid = Number(readFileSync(join(dir, 'log/zmproxy-lookup.pid'), 'utf8'));
      if (pid > 0) process.kill(pid);
    }

    it('is created readable by its owner only, whatever the umask', async () => {
      const dir = await workdir();
      const { io } = captureIo();
      const old = process.umask(0);
      try {
        expect(await run(['start', '-w', dir], io, { lookupCommand: idle })).toBe(0);
      } finally {
        process.umask(old);
      }
      stopChild(dir);
      expect(statSync(join(dir, 'log/zmproxy-lookup.log')).mode & 0o777).toBe(0o600);
    });

    it('is never opened through a symlink', async () => {
      const dir = await workdir();
      const target = join(testdir(), 'elsewhere');
      writeFileSync(target, 'untouched\n');
      symlinkSync(target, join(dir, 'log/zmproxy-lookup.log'));
      const { io } = captureIo();
      await expect(run(['start', '-w', dir], io, { lookupCommand: idle })).resolves.not.toBe(0);
      expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    });
  });
});
