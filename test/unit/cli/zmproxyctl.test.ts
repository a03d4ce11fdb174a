import { describe, expect, it } from 'vitest';
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
});
