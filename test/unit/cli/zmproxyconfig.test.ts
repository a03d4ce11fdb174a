import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as prov } from '../../../src/cli/zmprov.js';
import { run } from '../../../src/cli/zmproxyconfig.js';
import { captureIo, runCli, testdir } from '../../helpers/testdir.js';

const LDIF = `# a small directory: one store+proxy host, one store, one proxy
dn: cn=config,cn=zimbra
objectClass: zimbraGlobalConfig
cn: config
zimbraMailMode: https
zimbraReverseProxySSLToUpstreamEnabled: TRUE
zimbraReverseProxyHttpEnabled: TRUE
zimbraReverseProxyMailEnabled: TRUE

dn: cn=a.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: a.example.com
zimbraServiceHostname: a.example.com
zimbraServiceInstalled: mailbox
zimbraServiceInstalled: proxy
zimbraServiceEnabled: mailbox
# the store's web port
zimbraMailPort: 80

dn: cn=c.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: c.example.com
zimbraServiceInstalled: proxy
zimbraServiceEnabled: memcached
`;

const LOCALCONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<localconfig>
  <key name="zimbra_server_hostname"><value>a.example.com</value></key>
</localconfig>
`;

function setup() {
  const dir = testdir({ 'dir.ldif': LDIF, 'localconfig.xml': LOCALCONFIG });
  const file = join(dir, 'dir.ldif');
  return {
    file,
    args: ['--source', `ldif:${file}`, '--localconfig', join(dir, 'localconfig.xml')],
  };
}

function config(...args: string[]) {
  return runCli(run, args);
}

async function gs(source: string, host: string, ...attrs: string[]): Promise<string> {
  const { io, out } = captureIo();
  await prov(['--source', source, 'gs', host, ...attrs], io);
  return out.stdout;
}

describe('zmproxyconfig', () => {
  it('enables the web proxy on the local store+proxy host and writes once', async () => {
    const { file, args } = setup();
    const result = await config(...args, '-e', '-w', '-H', 'a.example.com');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`11 attribute changes written to ldif:${file}\n`);
    expect(
      await gs(
        `ldif:${file}`,
        'a.example.com',
        'zimbraMailPort',
        'zimbraServiceEnabled',
        'zimbraReverseProxyMailMode',
      ),
    ).toBe(
      '# name a.example.com\nzimbraMailPort: 8080\nzimbraReverseProxyMailMode: https\nzimbraServiceEnabled: mailbox\nzimbraServiceEnabled: proxy\n\n',
    );
    // The comment and the other entries are untouched.
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("# the store's web port\nzimbraMailPort: 8080\n");
    expect(text.slice(text.indexOf('dn: cn=c.example.com'))).toBe(
      LDIF.slice(LDIF.indexOf('dn: cn=c.example.com')),
    );
  });

  it('prints the zmprov commands with --dry-run and writes nothing', async () => {
    const { file, args } = setup();
    const result = await config(...args, '--dry-run', '-e', '-m', '-H', 'c.example.com', '-r');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'zmprov -l ms c.example.com zimbraImapBindPort 7143 zimbraImapProxyBindPort 143 zimbraImapSSLBindPort 7993 zimbraImapSSLProxyBindPort 993 zimbraPop3BindPort 7110 zimbraPop3ProxyBindPort 110 zimbraPop3SSLBindPort 7995 zimbraPop3SSLProxyBindPort 995 zimbraReverseProxyMailEnabled TRUE\n' +
        'zmprov -l ms c.example.com zimbraReverseProxySSLToUpstreamEnabled TRUE +zimbraServiceEnabled proxy\n',
    );
    expect(readFileSync(file, 'utf8')).toBe(LDIF);
  });

  it('prints the message and the usage and exits 1 on a validation failure', async () => {
    const { file, args } = setup();
    const result = await config(...args, '-e', '-w', '-u', '-U', '-H', 'a.example.com');
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe("Error: -u and -U can't be set together.");
    expect(result.stderr).toContain('usage: zmproxyconfig');
    expect(readFileSync(file, 'utf8')).toBe(LDIF);
  });

  it('refuses a remote host without -r', async () => {
    const { args } = setup();
    const result = await config(...args, '-e', '-m', '-H', 'c.example.com');
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')[0]).toBe('Must use -r option to modify a remote host.');
  });

  it('exits 1 with usage on -h and on an unknown option', async () => {
    expect((await config('-h')).code).toBe(1);
    const unknown = await config('-e', '-z', '-H', 'a');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.split('\n')[0]).toBe('Unknown option: z');
    expect((await config('--help')).code).toBe(0);
  });

  it('reports invalid values from -x and the port lists together, writing nothing', async () => {
    const { file, args } = setup();
    const result = await config(
      ...args,
      '-d',
      '-w',
      '-x',
      'fancy',
      '-a',
      '80:0:99999:0',
      '-H',
      'a.example.com',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('zimbraMailMode on server a.example.com: must be one of');
    expect(result.stderr).toContain('zimbraMailSSLPort on server a.example.com: not a port number');
    expect(readFileSync(file, 'utf8')).toBe(LDIF);
  });

  it('disables mail and web on the store+proxy host and removes the proxy service', async () => {
    const { file, args } = setup();
    expect((await config(...args, '-e', '-m', '-w', '-H', 'a.example.com')).code).toBe(0);
    expect((await config(...args, '-d', '-m', '-w', '-H', 'a.example.com')).code).toBe(0);
    expect(
      await gs(
        `ldif:${file}`,
        'a.example.com',
        'zimbraServiceEnabled',
        'zimbraReverseProxyLookupTarget',
        'zimbraMailPort',
      ),
    ).toBe(
      '# name a.example.com\nzimbraMailPort: 80\nzimbraReverseProxyLookupTarget: FALSE\nzimbraServiceEnabled: mailbox\n\n',
    );
  });

  it('exits 1 for an unknown host', async () => {
    const { args } = setup();
    const result = await config(...args, '-e', '-m', '-r', '-H', 'x.example.com');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: no such server: x.example.com');
  });
});
