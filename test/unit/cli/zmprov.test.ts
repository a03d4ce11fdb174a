import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_DIR } from '../../../src/cli/zmproxy.js';
import { run } from '../../../src/cli/zmprov.js';
import { runCli, testdir } from '../../helpers/testdir.js';

const EXAMPLE = readFileSync(join(EXAMPLE_DIR, 'directory.ldif'), 'utf8');

function exampleFile(): string {
  return join(testdir({ 'dir.ldif': EXAMPLE }), 'dir.ldif');
}

function prov(...args: string[]) {
  return runCli(run, args);
}

describe('zmprov', () => {
  it('prints gcf like zmprov', async () => {
    const file = exampleFile();
    const result = await prov('-l', '--source', `ldif:${file}`, 'gcf', 'zimbraMailMode');
    expect(result).toEqual({ code: 0, stdout: 'zimbraMailMode: https\n', stderr: '' });
  });

  it('accepts --source after the command and --source=VALUE', async () => {
    const file = exampleFile();
    expect((await prov('getConfig', 'zimbraIPMode', `--source=ldif:${file}`)).stdout).toBe(
      'zimbraIPMode: ipv4\n',
    );
  });

  it('writes ms, +attr and -attr into the LDIF file and reads them back', async () => {
    const file = exampleFile();
    const source = `ldif:${file}`;
    expect(
      await prov(
        '--source',
        source,
        'ms',
        'mbox1.example.com',
        'zimbraMailMode',
        'both',
        '+zimbraServiceEnabled',
        'proxy',
        '-zimbraServiceEnabled',
        'stats',
      ),
    ).toEqual({ code: 0, stdout: '', stderr: '' });
    const shown = await prov(
      '--source',
      source,
      'gs',
      'mbox1.example.com',
      'zimbraMailMode',
      'zimbraServiceEnabled',
    );
    expect(shown.stdout).toBe(
      '# name mbox1.example.com\nzimbraMailMode: both\nzimbraServiceEnabled: mailbox\nzimbraServiceEnabled: service\nzimbraServiceEnabled: zimbra\nzimbraServiceEnabled: zimbraAdmin\nzimbraServiceEnabled: proxy\n\n',
    );
    // Only the changed lines moved: the rest of the file is as it was.
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n').length).toBe(EXAMPLE.split('\n').length);
    expect(text.slice(0, text.indexOf('dn: cn=mbox1'))).toBe(
      EXAMPLE.slice(0, EXAMPLE.indexOf('dn: cn=mbox1')),
    );
  });

  it('mcf and md change the global config and a domain', async () => {
    const file = exampleFile();
    const source = `ldif:${file}`;
    expect(
      (await prov('--source', source, 'mcf', 'zimbraReverseProxyCacheEntryTTL', '2h')).code,
    ).toBe(0);
    expect(
      (
        await prov(
          '--source',
          source,
          'md',
          'example.org',
          'zimbraReverseProxyClientCertMode',
          'optional',
        )
      ).code,
    ).toBe(0);
    expect((await prov('--source', source, 'gcf', 'zimbraReverseProxyCacheEntryTTL')).stdout).toBe(
      'zimbraReverseProxyCacheEntryTTL: 2h\n',
    );
    expect(
      (await prov('--source', source, 'gd', 'example.org', 'zimbraReverseProxyClientCertMode'))
        .stdout,
    ).toBe('# name example.org\nzimbraReverseProxyClientCertMode: optional\n\n');
  });

  it('refuses hostile and invalid values together, exit 1, file byte-identical', async () => {
    const file = exampleFile();
    const result = await prov(
      '--source',
      `ldif:${file}`,
      'ms',
      'mbox1.example.com',
      'zimbraReverseProxyDefaultRealm',
      'x\ndn: cn=evil',
      'zimbraMailPort',
      '99999',
      'zimbraNoSuchThing',
      'x',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: 3 problems found:');
    expect(result.stderr).toContain(
      'zimbraReverseProxyDefaultRealm on server mbox1.example.com: contains a line break',
    );
    expect(result.stderr).toContain(
      'zimbraMailPort on server mbox1.example.com: not a port number',
    );
    expect(result.stderr).toContain(
      'zimbraNoSuchThing on server mbox1.example.com: unknown attribute',
    );
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
  });

  it('an unknown server exits 1 and names the candidates', async () => {
    const file = exampleFile();
    const result = await prov(
      '--source',
      `ldif:${file}`,
      'ms',
      'mbox9.example.com',
      'zimbraMailMode',
      'https',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /error: no such server: mbox9\.example\.com\nhint: similar servers: mbox1\.example\.com, mbox2\.example\.com/,
    );
  });

  it('prints the list commands, warnings on stderr', async () => {
    const source = `ldif:${exampleFile()}`;
    const garpu = await prov('--source', source, 'garpu');
    expect(garpu.stdout).toBe(
      'https://mbox1.example.com:7072/service/extension/nginx-lookup https://mbox2.example.com:7072/service/extension/nginx-lookup \n',
    );
    expect(garpu.stderr).toContain(
      'warning[W_LOOKUP_TARGET_NOT_MAILBOX]: server mta1.example.com has zimbraReverseProxyLookupTarget TRUE',
    );
    expect((await prov('--source', source, 'gamcs')).stdout).toBe('proxy1.example.com:11211 \n');
    expect((await prov('--source', source, '--json', 'garpb')).stdout).toBe(
      `${JSON.stringify(['    server mbox1.example.com:8443;', '    server mbox2.example.com:8443;'], null, 2)}\n`,
    );
  });

  it('prints JSON for a get with --json', async () => {
    const result = await prov(
      '--json',
      '--source',
      `ldif:${exampleFile()}`,
      'gs',
      'proxy1.example.com',
      'zimbraServiceEnabled',
    );
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'proxy1.example.com',
      attributes: { zimbraServiceEnabled: ['proxy', 'memcached'] },
    });
  });

  it('exits 2 on usage errors and 0 on -h', async () => {
    expect((await prov('--source', 'ldif:x.ldif', 'nosuchcommand')).code).toBe(2);
    expect((await prov('-x', 'gcf')).code).toBe(2);
    expect((await prov('--source', 'ldif:x.ldif', 'ms', 'h', 'zimbraMailMode')).code).toBe(2);
    const help = await prov('-h');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('getAllReverseProxyURLs(garpu)');
  });

  it('names a bad option with the options hint, and takes the directory flags as other commands do', async () => {
    expect((await prov('-x', 'gcf')).stderr).toBe(
      'error: unknown option -x\nhint: zmprov -h lists the options\n',
    );
    expect((await prov('gcf', '-w')).stderr).toBe(
      'error: --workdir needs a value\nhint: zmprov -h lists the options\n',
    );
    const missing = await prov('-w', '/nonexistent-home', 'gcf');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/nonexistent-home/conf/localconfig.xml does not exist');
  });

  it('says which LDIF file is missing', async () => {
    const result = await prov('--source', 'ldif:/nonexistent/dir.ldif', 'gcf');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/nonexistent/dir.ldif: no such file');
  });
});
