/** The installed binaries, run as a user runs them (on the dist/ that `npm test` builds first). */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testdir } from '../../helpers/testdir.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const built = existsSync(join(ROOT, 'dist/cli/zmproxy.js'));

function bin(name: string, args: string[]) {
  return spawnSync(process.execPath, [join(ROOT, 'bin', name), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
  });
}

describe.runIf(built)('bin/', () => {
  it('renders the bundled example with `zmproxy example` and says where it went', () => {
    const work = testdir();
    const result = bin('zmproxy.js', ['example', work]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`the example configuration is in ${work}/conf`);
    expect(readFileSync(join(work, 'conf/nginx.conf'), 'utf8')).toContain('load_module');
  });

  it('exits 141 without a stack trace when the reader of its output closes early (| head)', () => {
    // -d prints more than a pipe holds, so the writes go on after head has gone.
    const piped = spawnSync(
      'bash',
      [
        '-c',
        'set -o pipefail; "$0" bin/zmproxyconfgen.js -d | head -c 10 >/dev/null',
        process.execPath,
      ],
      { encoding: 'utf8', cwd: ROOT },
    );
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(141);
  });

  it('gives every command the process streams that end quietly on a closed pipe', () => {
    const without = readdirSync(join(ROOT, 'bin')).filter(
      (name) => !readFileSync(join(ROOT, 'bin', name), 'utf8').includes('processIo()'),
    );
    expect(without).toEqual([]);
  });

  it('prints usage and exits 0 for zmproxyconfgen -h', () => {
    const result = bin('zmproxyconfgen.js', ['-h']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--force-dns-resolution');
  });

  it("installs zmnginxconf: zmproxyconf under the name of Zimbra's usage text", () => {
    const bins = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      }
    ).bin;
    expect(bins['zmnginxconf']).toBe('bin/zmnginxconf.js');
    const dir = testdir({ 'conf/nginx.conf': 'include a;\n', 'conf/a': 'worker_processes 2;\n' });
    const result = bin('zmnginxconf.js', ['-w', dir]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('worker_processes 2;\n');
    expect(bin('zmnginxconf.js', ['-h']).stdout).toMatch(/^usage: zmnginxconf /);
  });

  it('prints error and hint lines, without a stack, for a missing LDIF file', () => {
    const result = bin('zmproxyconfgen.js', [
      '--source',
      'ldif:/nonexistent/dir.ldif',
      '-w',
      testdir(),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: .*\/nonexistent\/dir\.ldif/m);
    expect(result.stderr).toMatch(/^hint: /m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for an unknown zmproxy command', () => {
    const result = bin('zmproxy.js', ['frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('hint: zmproxy --help lists the commands');
  });
});
