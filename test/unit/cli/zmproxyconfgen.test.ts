import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_DIR } from '../../../src/cli/zmproxy.js';
import { run, warningsChanged } from '../../../src/cli/zmproxyconfgen.js';
import { captureIo, testdir } from '../../helpers/testdir.js';

const EXAMPLE_ARGS = [
  '--source',
  `ldif:${EXAMPLE_DIR}/directory.ldif`,
  '--localconfig',
  `${EXAMPLE_DIR}/localconfig.xml`,
  '--hosts',
  `${EXAMPLE_DIR}/hosts`,
  '--hosts-only',
];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function snapshotTree(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((file) => [file, readFileSync(file, 'utf8')]));
}

describe('zmproxyconfgen', () => {
  it('writes the configuration and says where', async () => {
    const work = testdir();
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work], io)).toBe(0);
    expect(out.stdout).toMatch(/generated \d+ files for server proxy1\.example\.com in .*\/conf/);
    expect(readFileSync(join(work, 'conf/nginx.conf'), 'utf8')).toContain(
      `include ${work}/conf/nginx/includes/nginx.conf.main;`,
    );
  });

  it('rewrites no file when nothing changed', async () => {
    const work = testdir();
    await run([...EXAMPLE_ARGS, '-w', work], captureIo().io);
    const before = listFiles(work).map((file) => [
      file,
      statSync(file).mtimeMs,
      statSync(file).ino,
    ]);
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work], io)).toBe(0);
    expect(out.stdout).toMatch(/ 0 written/);
    expect(
      listFiles(work).map((file) => [file, statSync(file).mtimeMs, statSync(file).ino]),
    ).toEqual(before);
  });

  it('writes per-domain keys with mode 0600 and certificates with 0644', async () => {
    const work = testdir();
    await run([...EXAMPLE_ARGS, '-w', work], captureIo().io);
    expect(statSync(join(work, 'conf/domaincerts/example.com.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'conf/domaincerts/example.com.crt')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(work, 'conf/domaincerts/example.com.crt'), 'utf8')).toMatch(
      /^-----BEGIN CERTIFICATE-----\n/,
    );
  });

  it('exits 3 from --check when disk differs and 0 when it matches, writing nothing', async () => {
    const work = testdir();
    const first = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '--check'], first.io)).toBe(3);
    expect(listFiles(work)).toEqual([]);
    expect(first.out.stdout).toMatch(/files differ from disk/);
    await run([...EXAMPLE_ARGS, '-w', work], captureIo().io);
    expect(await run([...EXAMPLE_ARGS, '-w', work, '--check'], captureIo().io)).toBe(0);
  });

  it('prints a unified diff with private keys redacted', async () => {
    const work = testdir();
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '--diff'], io)).toBe(0);
    expect(out.stdout).toContain(`+++ ${work}/conf/nginx.conf`);
    expect(out.stdout).toContain('[secret redacted, changed]');
    expect(out.stdout).not.toContain('PRIVATE KEY');
    expect(listFiles(work)).toEqual([]);
  });

  it('reports created, changed and unchanged files as JSON', async () => {
    const work = testdir();
    await run([...EXAMPLE_ARGS, '-w', work], captureIo().io);
    writeFileSync(join(work, 'conf/nginx.conf'), 'edited by hand\n');
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '--json'], io)).toBe(0);
    const result = JSON.parse(out.stdout) as {
      changed: string[];
      created: string[];
      unchanged: string[];
    };
    expect(result.changed).toEqual([join(work, 'conf/nginx.conf')]);
    expect(result.created).toEqual([]);
    expect(result.unchanged.length).toBeGreaterThan(5);
  });

  it('rejects a hostile attribute value, names it with a hint, and leaves every file byte-identical', async () => {
    const work = testdir();
    await run([...EXAMPLE_ARGS, '-w', work], captureIo().io);
    const before = snapshotTree(work);
    const ldif = readFileSync(join(EXAMPLE_DIR, 'directory.ldif'), 'utf8')
      .replace(
        'zimbraReverseProxyLogLevel: info',
        'zimbraReverseProxyLogLevel: info; } http { server { listen 81',
      )
      .replace('zimbraReverseProxyWorkerProcesses: 4', 'zimbraReverseProxyWorkerProcesses: 4;');
    const dir = testdir({ 'dir.ldif': ldif });
    const { io, out } = captureIo();
    const args = [...EXAMPLE_ARGS.slice(2), '--source', `ldif:${dir}/dir.ldif`, '-w', work];
    expect(await run(args, io)).toBe(1);
    expect(out.stderr).toContain('zimbraReverseProxyLogLevel on global config:');
    expect(out.stderr).toContain(
      'zimbraReverseProxyWorkerProcesses on global config: not an integer (got "4;")',
    );
    expect(out.stderr).toContain('hint: zmprov mcf zimbraReverseProxyWorkerProcesses <value>');
    expect(snapshotTree(work)).toEqual(before);
  });

  it('says which servers exist when -s names none', async () => {
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', testdir(), '-s', 'nope.example.com'], io)).toBe(1);
    expect(out.stderr).toMatch(/error: cannot load server object nope\.example\.com/);
    expect(out.stderr).toMatch(/hint: generate for one of mbox1\.example\.com, /);
  });

  it('exits 2 on an unknown flag', async () => {
    const { io, out } = captureIo();
    expect(await run(['--bogus-flag'], io)).toBe(2);
    expect(out.stderr).toMatch(/^error: .*bogus-flag/m);
  });

  it('exits 1 naming every LDAP URL tried when the directory is unreachable', async () => {
    const { io, out } = captureIo();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    expect(await run(['--source', 'ldap://127.0.0.1:1', '-w', testdir()], io)).toBe(1);
    expect(out.stderr).toContain('ldap://127.0.0.1:1: connection refused');
    expect(out.stderr).toContain('hint: check localconfig ldap_url');
  });

  it('prints every variable with -d and current values with -D', async () => {
    const defaults = captureIo();
    expect(await run(['-d'], defaults.io)).toBe(0);
    expect(defaults.out.stdout).toContain('  NGINX Keyword:         main.workers');
    const current = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', testdir(), '-D'], current.io)).toBe(0);
    expect(current.out.stdout).toMatch(
      /NGINX Keyword: +web\.mailmode\n(.*\n)*? +Current Value: +https/,
    );
  });

  it('reads a glob of LDIF exports as one directory, and names a glob that matches nothing', async () => {
    const text = readFileSync(join(EXAMPLE_DIR, 'directory.ldif'), 'utf8');
    const split = text.indexOf('\ndn: ', text.length / 2);
    const dir = testdir({
      'exports/a.ldif': text.slice(0, split + 1),
      'exports/b.ldif': text.slice(split + 1),
    });
    const one = testdir();
    expect(await run([...EXAMPLE_ARGS, '-w', one], captureIo().io)).toBe(0);
    const several = testdir();
    const args = [...EXAMPLE_ARGS.slice(2), '--source', `ldif:${dir}/exports/*.ldif`];
    expect(await run([...args, '-w', several], captureIo().io)).toBe(0);
    // The manifest records inodes and mtimes: bookkeeping of each tree, not rendered output.
    const relative = (root: string) =>
      Object.entries(snapshotTree(root))
        .filter(([file]) => !file.endsWith('/.zmproxy-manifest.json'))
        .map(([file, content]) => [file.slice(root.length), content.replaceAll(root, '<w>')]);
    expect(relative(several)).toEqual(relative(one));
    const none = captureIo();
    const nothing = [...EXAMPLE_ARGS.slice(2), '--source', `ldif:${dir}/exports/*.ldf`];
    expect(await run([...nothing, '-w', testdir()], none.io)).toBe(1);
    expect(none.out.stderr).toContain(
      `error: --source ldif:${dir}/exports/*.ldf matches no file\n`,
    );
  });

  it('applies -c overrides and rejects one without =', async () => {
    const work = testdir();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '-c', 'main.workers=2'], captureIo().io)).toBe(
      0,
    );
    expect(readFileSync(join(work, 'conf/nginx/includes/nginx.conf.main'), 'utf8')).toMatch(
      /worker_processes +2;/,
    );
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '-c', 'main.workers'], io)).toBe(2);
    expect(out.stderr).toContain('expected name=value');
  });
});

describe('zmproxyconfgen command line', () => {
  it.each([
    [['--bogus-flag'], 'unknown option --bogus-flag'],
    [['-w'], '-w, --workdir needs a value'],
    [['--no-verbose'], 'unknown option --no-verbose'],
    [['--apply', '--interval', 'soon'], '--interval needs a number (got "soon")'],
    [['--apply', '--lock-wait=-1'], '--lock-wait must be a number of seconds (got -1)'],
    [
      ['--apply', '--lock-wait', '-1'],
      '--lock-wait needs a value (one that starts with - is written --lock-wait=VALUE)',
    ],
    [['--apply=yes'], '--apply takes no value'],
    [['extra'], 'unexpected argument extra'],
  ])('rejects %j with exit 2, the error and the options hint', async (args, message) => {
    const { io, out } = captureIo();
    expect(await run(args, io)).toBe(2);
    expect(out.stderr).toBe(`error: ${message}\nhint: zmproxyconfgen -h lists the options\n`);
  });

  it("takes Zimbra's short flags grouped and their long forms alike", async () => {
    const grouped = captureIo();
    const work = testdir();
    expect(
      await run([...EXAMPLE_ARGS, '-vn', '-w', work, '-c', 'main.workers=2'], grouped.io),
    ).toBe(0);
    const long = captureIo();
    expect(
      await run(
        [...EXAMPLE_ARGS, '--verbose', '--dry-run', '--workdir', work, '--config=main.workers=2'],
        long.io,
      ),
    ).toBe(0);
    expect(grouped.out.stderr).toContain(`would write ${work}/conf/nginx.conf`);
    expect(long.out).toEqual(grouped.out);
  });

  it('lists every flag, short and long, under -h', async () => {
    const { io, out } = captureIo();
    expect(await run(['-h'], io)).toBe(0);
    for (const flag of [
      '-v, --verbose',
      '-w, --workdir DIR',
      '-D, --definitions',
      '-c, --config name=value',
      '--[no-]reload',
      '--bind-password-file FILE',
    ]) {
      expect(out.stdout).toContain(flag);
    }
  });
});

describe('zmproxyconfgen warnings', () => {
  const unresolvedArgs = (): string[] => {
    const hosts = readFileSync(join(EXAMPLE_DIR, 'hosts'), 'utf8').replace(/^.*mbox2.*$/m, '');
    const dir = testdir({ hosts });
    return [...EXAMPLE_ARGS.slice(0, 4), '--hosts', `${dir}/hosts`, '--hosts-only'];
  };

  it('prints each warning with its code, and carries the code in --json', async () => {
    const text = captureIo();
    expect(await run([...unresolvedArgs(), '-w', testdir(), '-n'], text.io)).toBe(0);
    expect(text.out.stderr).toMatch(
      /^warning\[W_LOOKUP_HANDLER_UNRESOLVED\]: lookup handler on server mbox2\.example\.com left out: mbox2\.example\.com can't be resolved$/m,
    );
    const json = captureIo();
    expect(await run([...unresolvedArgs(), '-w', testdir(), '-n', '--json'], json.io)).toBe(0);
    const { warnings } = JSON.parse(json.out.stdout) as { warnings: { code: string }[] };
    expect(warnings.map((warning) => warning.code)).toContain('W_LOOKUP_HANDLER_UNRESOLVED');
  });

  it('-f turns the warnings of names that do not resolve into errors, by code', async () => {
    const { io, out } = captureIo();
    const work = testdir();
    expect(await run([...unresolvedArgs(), '-w', work, '-f'], io)).toBe(1);
    expect(out.stderr).toContain("mbox2.example.com can't be resolved");
    expect(listFiles(work)).toEqual([]);
  });
});

describe('zmproxyconfgen -n', () => {
  it('renders everything, writes nothing and says so', async () => {
    const work = testdir();
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', work, '-n'], io)).toBe(0);
    expect(out.stdout).toMatch(/^dry run, nothing written: generated \d+ files/);
    expect(listFiles(work)).toEqual([]);
  });
});

describe('zmproxyconfgen --apply arguments', () => {
  it.each([
    [['--apply', '--diff'], /exclude each other/],
    [['--apply', '-i', 'other'], /-i cannot be combined/],
    [['--apply', '--max-shrink', '2'], /--max-shrink/],
    [['--apply', '--keep', '1'], /--keep/],
    [['--apply', '--metrics-listen', '127.0.0.1:9'], /needs --watch/],
  ])('rejects %j as a usage error', async (args, message) => {
    const { io, out } = captureIo();
    expect(await run([...EXAMPLE_ARGS, '-w', testdir(), ...args], io)).toBe(2);
    expect(out.stderr).toMatch(message);
  });

  it('refuses --apply below a directory the nginx workers cannot enter, naming it', async () => {
    const work = testdir({
      'log/.keep': '',
      'data/tmp/nginx/.keep': '',
      'data/nginx/html/.keep': '',
      'conf/nginx.crt': '',
      'conf/nginx.key': '',
    });
    chmodSync(work, 0o700);
    const { io, out } = captureIo();
    expect(await run(['--source', `ldif:${work}/d.ldif`, '-w', work, '--apply'], io)).toBe(1);
    expect(out.stderr).toContain(`cannot enter ${work}: every worker would die at start`);
    expect(out.stderr).toContain(`hint: chmod o+x ${work}`);
  });

  it('refuses --apply on a work directory that is not set up, naming what is missing and setup', async () => {
    const work = testdir({ 'conf/nginx.crt': 'x' });
    const { io, out } = captureIo();
    const code = await run(['--source', `ldif:${work}/d.ldif`, '-w', work, '--apply'], io);
    expect(code).toBe(1);
    expect(out.stderr).toBe(
      `error: ${work} is not set up for nginx: log/, data/tmp/nginx/, data/nginx/html/, conf/nginx.key missing\n` +
        `hint: zmproxyctl setup -w ${work}\n`,
    );
  });

  it('reports an unreadable directory with exit code 15 and writes nothing', async () => {
    const work = testdir({
      'log/.keep': '',
      'data/tmp/nginx/.keep': '',
      'data/nginx/html/.keep': '',
      'conf/nginx.crt': '',
      'conf/nginx.key': '',
    });
    chmodSync(work, 0o755);
    const { io, out } = captureIo();
    const code = await run(
      ['--source', `ldif:${work}/missing.ldif`, '-w', work, '--apply', '--nginx', '/bin/false'],
      io,
    );
    expect(out.stderr).toMatch(/^error: /m);
    expect(code).toBe(15);
    // The run's state and its status for the fleet view (last error); no generation.
    expect(readdirSync(join(work, 'conf/nginx')).sort()).toEqual([
      'zmproxy-apply-state.json',
      'zmproxy-status.json',
    ]);
  });

  it('refuses a zmproxy_nginx_mail_module that root does not own alone, and writes nothing', async () => {
    const dir = testdir();
    const module = join(dir, 'evil.so');
    writeFileSync(module, '');
    const localconfig = join(dir, 'localconfig.xml');
    writeFileSync(
      localconfig,
      readFileSync(`${EXAMPLE_DIR}/localconfig.xml`, 'utf8').replace(
        '</localconfig>',
        `  <key name="zmproxy_nginx_mail_module">\n    <value>${module}</value>\n  </key>\n</localconfig>`,
      ),
    );
    const args = EXAMPLE_ARGS.map((arg) => (arg.endsWith('localconfig.xml') ? localconfig : arg));
    const work = join(dir, 'work');
    const { io, out } = captureIo();
    expect(await run([...args, '-w', work], io)).not.toBe(0);
    expect(out.stderr).toContain(`zmproxy_nginx_mail_module on localconfig`);
    expect(out.stderr).toContain('is writable by its group or by others');
    expect(out.stderr).toContain('/usr/lib/nginx/modules');
    expect(readdirSync(dir)).toEqual(['evil.so', 'localconfig.xml']);
  });

  describe('secrets', () => {
    const SHARED_KEY = 'k3y-0f-the-l00kup-s3rvice';
    const NGINX_PASSWORD = 'example-nginx-password';
    function withSharedKey(dir: string): string[] {
      const localconfig = join(dir, 'localconfig.xml');
      writeFileSync(
        localconfig,
        readFileSync(`${EXAMPLE_DIR}/localconfig.xml`, 'utf8').replace(
          '</localconfig>',
          `  <key name="zmproxy_lookup_shared_key">\n    <value>${SHARED_KEY}</value>\n  </key>\n</localconfig>`,
        ),
      );
      return EXAMPLE_ARGS.map((arg) => (arg.endsWith('localconfig.xml') ? localconfig : arg));
    }

    it('writes every file that holds the shared key with mode 0600', async () => {
      const dir = testdir();
      const work = join(dir, 'work');
      expect(await run([...withSharedKey(dir), '-w', work], captureIo().io)).toBe(0);
      const holding = listFiles(work).filter((file) =>
        readFileSync(file, 'utf8').includes(SHARED_KEY),
      );
      expect(holding.map((file) => file.slice(work.length))).toEqual(
        expect.arrayContaining(['/conf/nginx/includes/nginx.conf.mail']),
      );
      for (const file of holding) expect(statSync(file).mode & 0o777).toBe(0o600);
    });

    it('never prints the shared key or the nginx password in --diff, -D or --json', async () => {
      const dir = testdir();
      const args = withSharedKey(dir);
      const work = join(dir, 'work');
      for (const extra of [['--diff'], ['-D'], ['--json'], ['--diff', '--json']]) {
        const { io, out } = captureIo();
        expect(await run([...args, '-w', work, ...extra], io)).toBe(0);
        expect(out.stdout + out.stderr).not.toContain(SHARED_KEY);
        expect(out.stdout + out.stderr).not.toContain(NGINX_PASSWORD);
      }
      const { io, out } = captureIo();
      await run([...args, '-w', work, '-D'], io);
      expect(out.stdout).toMatch(
        /NGINX Keyword: +stock\.lookup\.key\n(.*\n)*? +Current Value: +\(secret, not shown\)/,
      );
    });
  });

  it('refuses a domain name too long for its certificate file before writing anything', async () => {
    const dir = testdir();
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;
    expect(long).toHaveLength(251 + 2);
    const ldif = readFileSync(`${EXAMPLE_DIR}/directory.ldif`, 'utf8');
    const example = /\ndn: dc=example,dc=com\n[\s\S]*?\n\n/.exec(ldif)?.[0] ?? '';
    const copy = example
      .replace('dn: dc=example,dc=com', `dn: dc=${long.split('.').join(',dc=')}`)
      .replace(/zimbraDomainName: .*/, `zimbraDomainName: ${long}`)
      .replace(/zimbraVirtualHostname: .*\n/g, '')
      .replace(/zimbraVirtualIPAddress: .*\n/g, '')
      .replace(/zimbraId: .*/, 'zimbraId: 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
    const source = join(dir, 'directory.ldif');
    writeFileSync(source, `${ldif}\n${copy}`);
    const args = EXAMPLE_ARGS.map((arg) => (arg.startsWith('ldif:') ? `ldif:${source}` : arg));
    const work = join(dir, 'work');
    const { io, out } = captureIo();
    expect(await run([...args, '-w', work], io)).not.toBe(0);
    expect(out.stderr).toContain('zimbraDomainName');
    expect(out.stderr).toContain('longer than 255 bytes');
    expect(readdirSync(dir).sort()).toEqual(['directory.ldif']);
  });
});

describe('zmproxyconfgen --apply in a cron job', () => {
  const setUp = () => {
    const work = testdir({
      'log/.keep': '',
      'data/tmp/nginx/.keep': '',
      'data/nginx/html/.keep': '',
      'conf/nginx.crt': '',
      'conf/nginx.key': '',
    });
    chmodSync(work, 0o755);
    return work;
  };

  it('logs every invalid value of a failed pass, with attribute, entry and value', async () => {
    const ldif = readFileSync(join(EXAMPLE_DIR, 'directory.ldif'), 'utf8').replace(
      'zimbraReverseProxyWorkerProcesses: 4',
      'zimbraReverseProxyWorkerProcesses: 4;',
    );
    const dir = testdir({ 'dir.ldif': ldif });
    const { io, out } = captureIo();
    const args = [...EXAMPLE_ARGS.slice(2), '--source', `ldif:${dir}/dir.ldif`];
    expect(await run([...args, '-w', setUp(), '--apply', '--json'], io)).toBe(1);
    const line = JSON.parse(out.stdout) as { problems?: string[] };
    expect(line.problems).toContainEqual(
      'zimbraReverseProxyWorkerProcesses on global config: not an integer (got "4;")',
    );
  });

  it('prints standing warnings when they change, not on every run', async () => {
    const work = testdir({ 'conf/nginx/.keep': '' });
    const a = [{ code: 'W_CERT_EXPIRING', message: 'a', hint: 'fix a' }] as const;
    expect(await warningsChanged(work, a)).toBe(true);
    expect(await warningsChanged(work, a)).toBe(false);
    expect(await warningsChanged(work, [...a, { code: 'W_CERT_EXPIRING', message: 'b' }])).toBe(
      true,
    );
    // The record of the last run carries the codes, for scripts.
    expect(
      JSON.parse(readFileSync(join(work, 'conf/nginx/zmproxy-warnings.json'), 'utf8')),
    ).toEqual({
      warnings: [
        { code: 'W_CERT_EXPIRING', message: 'a', hint: 'fix a' },
        { code: 'W_CERT_EXPIRING', message: 'b' },
      ],
    });
    expect(await warningsChanged(work, [])).toBe(false);
    expect(await warningsChanged(work, a)).toBe(true);
  });
});
