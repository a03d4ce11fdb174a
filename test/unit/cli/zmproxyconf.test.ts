import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandNginxConf, run } from '../../../src/cli/zmproxyconf.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

function tree(): string {
  return testdir({
    'conf/nginx/current/nginx.conf':
      '# main\nworking_directory /w;\n\ninclude includes/a;\nhttp {\n    include includes/web.*;\n}\n',
    'conf/nginx/current/includes/a': '# a\npid x.pid;\n',
    'conf/nginx/current/includes/web.1': 'server { }\n',
    'conf/nginx/current/includes/web.2': '\ninclude includes/a;\n',
  });
}

describe('zmproxyconf', () => {
  it('expands includes relative to the main file, wildcards in name order', () => {
    const dir = tree();
    expect(expandNginxConf(join(dir, 'conf/nginx/current/nginx.conf'))).toBe(
      '# main\nworking_directory /w;\n\n# a\npid x.pid;\nhttp {\nserver { }\n\n# a\npid x.pid;\n}\n',
    );
  });

  it('marks, indents and drops comments and empty lines with -m -i -n -e', async () => {
    const dir = tree();
    const { io, out } = captureIo();
    expect(await run(['-m', '-i', '-n', '-e', '-w', dir], io)).toBe(0);
    const a = join(dir, 'conf/nginx/current/includes/a');
    expect(out.stdout.split('\n').slice(0, 5)).toEqual([
      'working_directory /w;',
      `  # begin:${a}`,
      '  pid x.pid;',
      `  # end:${a}`,
      'http {',
    ]);
  });

  it('reports a missing file as an error', async () => {
    const { io, out } = captureIo();
    expect(await run([join(testdir(), 'nope.conf')], io)).toBe(1);
    expect(out.stderr).toMatch(/^error: cannot read/);
  });

  it('rejects an unknown option as a usage error', async () => {
    const { io } = captureIo();
    expect(await run(['-x'], io)).toBe(2);
  });
});

describe('zmproxyconf: secrets', () => {
  it('prints neither the lookup shared key nor the lookup password', async () => {
    const dir = testdir({
      'conf/nginx.conf':
        'mail {\n    auth_http_header          X-Zmproxy-Key "s3cr3t-key";\n}\n' +
        'http {\n    proxy_set_header X-Zmproxy-Key "s3cr3t-key";\n' +
        '    zm_lookup_master_auth_password "pa\\"ss";\n}\n',
    });
    const { io, out } = captureIo();
    expect(await run(['-w', dir], io)).toBe(0);
    expect(out.stdout).not.toContain('s3cr3t');
    expect(out.stdout).not.toContain('pa\\"ss');
    expect(out.stdout).toContain('X-Zmproxy-Key "[secret redacted]";');
  });
});

describe('zmproxyconf: command line', () => {
  it('names the unknown option, with the options hint of the name it was called by', async () => {
    const conf = captureIo();
    expect(await run(['-x'], conf.io)).toBe(2);
    expect(conf.out.stderr).toBe(
      'error: unknown option -x\nhint: zmproxyconf -h lists the options\n',
    );
    const nginxconf = captureIo();
    expect(await run(['--bogus'], nginxconf.io, 'zmnginxconf')).toBe(2);
    expect(nginxconf.out.stderr).toBe(
      'error: unknown option --bogus\nhint: zmnginxconf -h lists the options\n',
    );
  });

  it('takes grouped switches and long forms as Zimbra does', async () => {
    const dir = tree();
    const grouped = captureIo();
    expect(await run(['-mine', '-w', dir], grouped.io)).toBe(0);
    const long = captureIo();
    expect(
      await run(['--markers', '--indent', '--nocomments', '--noempty', '-w', dir], long.io),
    ).toBe(0);
    expect(long.out.stdout).toBe(grouped.out.stdout);
    expect(grouped.out.stdout).toContain('# begin:');
  });
});
