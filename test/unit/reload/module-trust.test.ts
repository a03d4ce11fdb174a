import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findIncludes, findLoadModules } from '../../../src/model/load-module.js';
import { checkModuleTrust } from '../../../src/reload/module-trust.js';
import { testdir } from '../../helpers/testdir.js';

describe('findLoadModules', () => {
  it('finds load_module directives and skips comments, quoted text and other directives', () => {
    const text = [
      '# load_module /commented.so;',
      'load_module /usr/lib/nginx/modules/ngx_mail_module.so;',
      'set $x "#"; load_module "/quoted path.so";',
      'add_header X-A "load_module /not-a-directive.so;";',
      'events { } load_module',
      '  /split.so ;',
    ].join('\n');
    expect(findLoadModules(text)).toEqual([
      '/usr/lib/nginx/modules/ngx_mail_module.so',
      '/quoted path.so',
      '/split.so',
    ]);
    expect(findIncludes('http { include includes/*.conf; }')).toEqual(['includes/*.conf']);
  });
});

// A directory in the home directory of the user running the tests: owned by them and writable by
// no one else all the way up (the checkout itself may sit under a world-writable /tmp).
const ownDir = mkdtempSync(join(homedir(), '.zmproxy-module-trust-'));
afterAll(() => rmSync(ownDir, { recursive: true, force: true }));

describe('checkModuleTrust', () => {
  it("accepts nginx's own module directory", async () => {
    expect(await checkModuleTrust('/usr/lib/nginx/modules/ngx_mail_module.so')).toBeUndefined();
  });

  it('accepts a file of ours in directories only we can write', async () => {
    const file = join(ownDir, 'ok.so');
    writeFileSync(file, '', { mode: 0o644 });
    expect(await checkModuleTrust(file)).toBeUndefined();
  });

  it('refuses a module under a world-writable directory such as /tmp', async () => {
    const file = join(testdir(), 'evil.so');
    writeFileSync(file, '');
    expect(await checkModuleTrust(file)).toMatch(
      /directory \/tmp is writable by its group or by others/,
    );
  });

  it('refuses a group-writable file, a relative path and a missing file', async () => {
    const file = join(ownDir, 'group.so');
    writeFileSync(file, '');
    chmodSync(file, 0o664);
    expect(await checkModuleTrust(file)).toMatch(/writable by its group/);
    expect(await checkModuleTrust('modules/x.so')).toMatch(/not absolute/);
    expect(await checkModuleTrust(join(ownDir, 'missing.so'))).toMatch(/ENOENT/);
  });

  it.runIf(process.geteuid?.() === 0)('refuses a file another user owns', async () => {
    const file = join(ownDir, 'nobody.so');
    writeFileSync(file, '');
    chownSync(file, 65534, 65534);
    expect(await checkModuleTrust(file)).toMatch(/belongs to uid 65534/);
  });

  it('judges the target of a symlink too', async () => {
    const target = join(testdir(), 'evil.so');
    writeFileSync(target, '');
    mkdirSync(join(ownDir, 'links'));
    const link = join(ownDir, 'links', 'mail.so');
    symlinkSync(target, link);
    expect(await checkModuleTrust(link)).toMatch(/\/tmp/);
  });
});
