/**
 * A shared object named by load_module is never handed to nginx unless root owns it and every
 * directory above it: nginx runs its constructor while reading the configuration, before
 * `nginx -t` can fail. The module below writes a marker file from its constructor.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNginxControl } from '../../src/reload/nginx-control.js';
import { testdir } from '../helpers/testdir.js';

const NGINX = '/usr/sbin/nginx';
const hasCompiler = spawnSync('cc', ['--version']).status === 0;

/** Compiles, in `dir`, a module whose constructor creates `marker`. */
function evilModule(dir: string, marker: string): string {
  const source = join(dir, 'evil.c');
  const module = join(dir, 'evil.so');
  writeFileSync(
    source,
    `#include <stdio.h>\n__attribute__((constructor)) static void ran(void) { FILE *f = fopen(${JSON.stringify(marker)}, "w"); if (f) fclose(f); }\n`,
  );
  const built = spawnSync('cc', ['-shared', '-fPIC', '-o', module, source], { encoding: 'utf8' });
  expect(built.stderr).toBe('');
  return module;
}

describe('load_module trust', () => {
  it.runIf(hasCompiler)(
    'does not let nginx -t run a module from a world-writable place',
    async () => {
      const dir = testdir();
      const marker = join(dir, 'constructor-ran');
      const module = evilModule(dir, marker);
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, `load_module ${module};\nevents {}\n`);

      // What the guard prevents: plain nginx -t runs the constructor.
      spawnSync(NGINX, ['-t', '-q', '-e', 'stderr', '-p', `${dir}/`, '-c', conf]);
      expect(existsSync(marker)).toBe(true);
      spawnSync('rm', ['-f', marker]);

      const result = await createNginxControl({ nginx: NGINX, prefix: `${dir}/` }).test(conf);
      expect(result.ok).toBe(false);
      expect(result.output).toContain(`load_module ${module}`);
      expect(result.output).toContain('/usr/lib/nginx/modules');
      expect(existsSync(marker)).toBe(false);
    },
  );

  it('passes the module of the nginx package to nginx -t', async () => {
    const dir = testdir();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, 'load_module /usr/lib/nginx/modules/ngx_mail_module.so;\nevents {}\n');
    const result = await createNginxControl({ nginx: NGINX, prefix: `${dir}/` }).test(conf);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });
});
