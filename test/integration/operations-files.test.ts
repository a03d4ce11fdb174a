/**
 * The files an admin installs next to the package: the systemd units pass `systemd-analyze
 * verify` with zmproxy's commands where `npm install -g` puts them (/usr/local/bin, bound over
 * it in a mount namespace of the test's own), the logrotate file parses, and `npm pack` ships
 * every command the package.json names with what it runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const UNITS = ['zmproxy-lookup.service', 'zmproxy-nginx.service', 'zmproxy-confgen-watch.service'];
const work = mkdtempSync(join(tmpdir(), 'zmproxy-ops-'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};

afterAll(() => rmSync(work, { recursive: true, force: true }));

function verifyUnits(withCommands: boolean): { status: number | null; output: string } {
  const bin = join(work, withCommands ? 'bin' : 'empty');
  mkdirSync(bin, { recursive: true });
  if (withCommands) {
    for (const [name, file] of Object.entries(pkg.bin)) {
      try {
        symlinkSync(join(ROOT, file), join(bin, name));
      } catch {
        // made by an earlier call
      }
    }
  }
  const units = UNITS.map((unit) => join(ROOT, 'docs/systemd', unit));
  const script = 'mount --bind "$1" /usr/local/bin && shift && exec systemd-analyze verify "$@"';
  const result = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', bin, ...units], {
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('operations files', () => {
  it('systemd-analyze verify accepts the units once the commands are installed', () => {
    const verified = verifyUnits(true);
    expect(verified.output).toBe('');
    expect(verified.status).toBe(0);
    // And it would notice a missing command.
    const missing = verifyUnits(false);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toContain('/usr/local/bin/zmproxy');
  });

  it("keeps Debian's nginx.service from running beside zmproxy's", () => {
    const unit = readFileSync(join(ROOT, 'docs/systemd/zmproxy-nginx.service'), 'utf8');
    expect(unit).toMatch(/^Conflicts=nginx\.service$/m);
  });

  it('rotates every log zmproxy writes, in a file logrotate parses', () => {
    const file = join(ROOT, 'docs/logrotate/zmproxy');
    const result = spawnSync('/usr/sbin/logrotate', ['--debug', file], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/error/i);
    const text = readFileSync(file, 'utf8');
    for (const log of ['nginx.log', 'nginx.access.log', 'zmproxy-lookup.log', 'zmproxy-apply.log'])
      expect(text).toContain(`/opt/zimbra/log/${log}`);
  });

  it('packs every command and what it runs (npm pack)', () => {
    const result = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const [packed] = JSON.parse(result.stdout) as { files: { path: string }[] }[];
    const files = new Set(packed?.files.map((f) => f.path));
    for (const [name, file] of Object.entries(pkg.bin)) {
      expect([name, files.has(file)]).toEqual([name, true]);
      const target = /from '\.\.\/(dist\/[^']+)'/.exec(readFileSync(join(ROOT, file), 'utf8'))?.[1];
      expect([name, target, files.has(target ?? '')]).toEqual([name, target, true]);
    }
    expect(files.has('templates/nginx.conf.template')).toBe(true);
  });
});
