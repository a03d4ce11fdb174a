import { describe, expect, it } from 'vitest';
import { ProblemsError, ProxyConfError } from '../../../src/errors.js';
import type { ProvResult } from '../../../src/prov/prov-command.js';
import { executeProvCommand, parseProvCommand } from '../../../src/prov/prov-command.js';
import { readLdifSnapshot } from '../../../src/sources/ldif/read-ldif.js';
import { domain, globalConfig, mailboxServer, server, snapshot } from '../../helpers/builders.js';

const EXAMPLE = new URL('../../../fixtures/example/directory.ldif', import.meta.url).pathname;
const NO_LC = new Map<string, string>();

function text(result: ProvResult): string {
  if (result.kind !== 'print') throw new Error('expected output');
  return result.text;
}

async function exec(...args: string[]): Promise<ProvResult> {
  return executeProvCommand(parseProvCommand(args), await readLdifSnapshot([EXAMPLE]), NO_LC);
}

describe('parseProvCommand', () => {
  it("accepts Zimbra's long names in any case", () => {
    expect(parseProvCommand(['getServer', 'x', 'zimbraMailMode'])).toEqual({
      name: 'gs',
      server: 'x',
      attributes: ['zimbraMailMode'],
    });
    expect(parseProvCommand(['GETALLREVERSEPROXYURLS'])).toEqual({ name: 'garpu' });
    expect(parseProvCommand(['modifyConfig', 'zimbraMailMode', 'https'])).toMatchObject({
      name: 'mcf',
    });
  });

  it('refuses an unknown command, a missing server and arguments to list commands', () => {
    expect(() => parseProvCommand(['ga', 'x'])).toThrow(/unknown command: ga/);
    expect(() => parseProvCommand(['gs'])).toThrow(/no server given/);
    expect(() => parseProvCommand(['garpu', 'x'])).toThrow(/takes no argument/);
  });
});

describe('get commands', () => {
  it('gcf prints the asked attributes without a header', async () => {
    expect(text(await exec('gcf', 'zimbraReverseProxySSLProtocols', 'zimbramailmode'))).toBe(
      'zimbraMailMode: https\nzimbraReverseProxySSLProtocols: TLSv1.2\nzimbraReverseProxySSLProtocols: TLSv1.3\n',
    );
  });

  it('gcf without attributes prints every attribute, sorted as Java sorts strings', async () => {
    const out = text(await exec('gcf'));
    expect(
      out.startsWith(
        'cn: config\nobjectClass: organizationalRole\nobjectClass: zimbraGlobalConfig\n',
      ),
    ).toBe(true);
    expect(out.indexOf('zimbraIPMode')).toBeLessThan(out.indexOf('zimbraImapProxyBindPort'));
  });

  it('gs prints the header, the effective attributes with global-config values, and a blank line', async () => {
    expect(
      text(
        await exec(
          'gs',
          'MBOX2.example.com',
          'zimbraMailProxyReconnectTimeout',
          'zimbraIPMode',
          'zimbraReverseProxyCacheEntryTTL',
        ),
      ),
    ).toBe('# name mbox2.example.com\nzimbraIPMode: ipv4\nzimbraMailProxyReconnectTimeout: 30\n\n');
  });

  it('gs finds a server by zimbraId', async () => {
    expect(text(await exec('gs', '6f1a4d2e-2c41-4b4f-9d51-2f0f6c1e0a04', 'cn'))).toBe(
      '# name proxy1.example.com\ncn: proxy1.example.com\n\n',
    );
  });

  it('gd prints a domain with its domain-inherited values', async () => {
    expect(
      text(
        await exec(
          'gd',
          'example.org',
          'zimbraVirtualHostname',
          'zimbraReverseProxyClientCertMode',
        ),
      ),
    ).toBe(
      '# name example.org\nzimbraReverseProxyClientCertMode: off\nzimbraVirtualHostname: mail.example.org\n\n',
    );
  });

  it('an unknown server is an error listing the servers', async () => {
    const error = await exec('gs', 'mbox3.example.com').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyConfError);
    expect((error as ProxyConfError).message).toBe('no such server: mbox3.example.com');
    expect((error as ProxyConfError).hint).toContain('mbox1.example.com, mbox2.example.com');
  });

  it('an unknown attribute name in a get is an error with a hint', async () => {
    await expect(exec('gcf', 'zimbraMailModee')).rejects.toThrow(ProblemsError);
  });
});

describe('modify commands', () => {
  it('ms plans one modification of the server entry', async () => {
    expect(
      await exec(
        'ms',
        'mbox1.example.com',
        'zimbraMailMode',
        'both',
        '+zimbraServiceEnabled',
        'proxy',
      ),
    ).toEqual({
      kind: 'modify',
      modifications: [
        {
          dn: 'cn=mbox1.example.com,cn=servers,cn=zimbra',
          changes: [
            { operation: 'replace', attribute: 'zimbraMailMode', values: ['both'] },
            { operation: 'add', attribute: 'zimbraServiceEnabled', values: ['proxy'] },
          ],
        },
      ],
    });
  });

  it('mcf and md modify the global config and the domain', async () => {
    expect(await exec('mcf', 'zimbraReverseProxyCacheEntryTTL', '2h')).toMatchObject({
      modifications: [{ dn: 'cn=config,cn=zimbra' }],
    });
    expect(
      await exec('md', 'example.org', '+zimbraVirtualHostname', 'webmail.example.org'),
    ).toMatchObject({
      modifications: [{ dn: 'dc=example,dc=org' }],
    });
  });

  it('an invalid value throws every problem and plans nothing', async () => {
    const error = await exec(
      'ms',
      'mbox1.example.com',
      'zimbraMailPort',
      'x',
      'zimbraFoo',
      '1',
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemsError);
    expect((error as ProblemsError).problems).toHaveLength(2);
  });
});

describe('list commands', () => {
  it('garpu lists mailbox lookup targets with the generator scheme, one line', async () => {
    expect(text(await exec('garpu'))).toBe(
      'https://mbox1.example.com:7072/service/extension/nginx-lookup https://mbox2.example.com:7072/service/extension/nginx-lookup \n',
    );
  });

  it('garpu warns about a lookup target without the mailbox service and leaves it out', async () => {
    const result = await exec('garpu');
    expect(result.kind === 'print' && result.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('server mta1.example.com has zimbraReverseProxyLookupTarget TRUE'),
    ]);
  });

  it('garpu uses http:// for a server before 8.7 and lists a server once', () => {
    const old = mailboxServer('old.example.com', {
      zimbraServerVersion: [],
      zimbraServerVersionMajor: '8',
      zimbraServerVersionMinor: '6',
      zimbraExtensionBindPort: '7073',
    });
    const result = executeProvCommand({ name: 'garpu' }, snapshot({ servers: [old] }), NO_LC);
    expect(text(result)).toBe('http://old.example.com:7073/service/extension/nginx-lookup \n');
  });

  it('garpb picks the SSL port for https and both, the plain port for http', () => {
    const snap = snapshot({
      globalConfig: globalConfig({ zimbraMailPort: '8080', zimbraMailSSLPort: '8443' }),
      servers: [
        mailboxServer('a.example.com', { zimbraMailMode: 'http' }),
        mailboxServer('b.example.com', { zimbraMailMode: 'both' }),
        mailboxServer('c.example.com', { zimbraMailMode: 'https' }),
        mailboxServer('d.example.com', { zimbraMailMode: [] }),
      ],
    });
    expect(text(executeProvCommand({ name: 'garpb' }, snap, NO_LC))).toBe(
      '    server a.example.com:8080;\n    server b.example.com:8443;\n    server c.example.com:8443;\n',
    );
    const relaxed = new Map([['zimbra_require_interprocess_security', '0']]);
    expect(text(executeProvCommand({ name: 'garpb' }, snap, relaxed))).toContain(
      'server b.example.com:8080;',
    );
  });

  it('garpb prints the localhost placeholder when no server qualifies', () => {
    expect(text(executeProvCommand({ name: 'garpb' }, snapshot({}), NO_LC))).toBe(
      '    server localhost:8080;\n',
    );
  });

  it('gamcs lists memcached servers with their port', async () => {
    expect(text(await exec('gamcs'))).toBe('proxy1.example.com:11211 \n');
  });

  it('garpd lists domains with virtual hosts, certificate and key', async () => {
    expect(text(await exec('garpd'))).toBe('example.com mail.example.com webmail.example.com \n');
  });

  it('gamau lists MTA auth targets running the mailbox service', () => {
    const snap = snapshot({
      globalConfig: globalConfig({ zimbraAdminPort: '7071' }),
      servers: [
        mailboxServer('new.example.com', { zimbraMtaAuthTarget: 'TRUE' }),
        mailboxServer('old.example.com', {
          zimbraMtaAuthTarget: 'TRUE',
          zimbraServerVersionMajor: '8',
          zimbraServerVersionMinor: '6',
        }),
        server('mta.example.com', { zimbraMtaAuthTarget: 'TRUE', zimbraServiceEnabled: 'mta' }),
        mailboxServer('off.example.com'),
      ],
      domains: [domain('example.com')],
    });
    const result = executeProvCommand({ name: 'gamau' }, snap, NO_LC);
    expect(text(result)).toBe(
      'https://new.example.com:7073/service/admin/soap/ https://old.example.com:7071/service/admin/soap/ \n',
    );
    expect(result.kind === 'print' && result.warnings).toHaveLength(1);
  });

  it('gamau follows zimbraMtaAuthTarget and zimbraMtaAuthPort from the global config', () => {
    const snap = snapshot({
      globalConfig: globalConfig({ zimbraMtaAuthTarget: 'TRUE', zimbraMtaAuthPort: '7999' }),
      servers: [
        mailboxServer('a.example.com'),
        mailboxServer('b.example.com', { zimbraMtaAuthTarget: 'FALSE' }),
      ],
      domains: [domain('example.com')],
    });
    expect(text(executeProvCommand({ name: 'gamau' }, snap, NO_LC))).toBe(
      'https://a.example.com:7999/service/admin/soap/ \n',
    );
  });

  it('ms sets zimbraMtaAuthTarget and zimbraMtaAuthPort, checked against the catalog', () => {
    const snap = snapshot({ servers: [mailboxServer('a.example.com')] });
    const result = executeProvCommand(
      parseProvCommand([
        'ms',
        'a.example.com',
        'zimbraMtaAuthTarget',
        'TRUE',
        'zimbraMtaAuthPort',
        '7073',
      ]),
      snap,
      NO_LC,
    );
    expect(result.kind).toBe('modify');
    expect(() =>
      executeProvCommand(
        parseProvCommand(['ms', 'a.example.com', 'zimbraMtaAuthPort', '70000']),
        snap,
        NO_LC,
      ),
    ).toThrow(ProblemsError);
  });
});

describe('zmprov cs', () => {
  const existing = snapshot({ servers: [mailboxServer('mbox1.example.com')] });
  const create = (...words: string[]) =>
    executeProvCommand(parseProvCommand(['cs', ...words]), existing, NO_LC, {
      newId: () => '11111111-2222-4333-8444-555555555555',
    });

  it('creates a server entry as Zimbra does, with the attributes given, and prints its id', () => {
    const result = create(
      'proxy1.example.com',
      'zimbraServiceEnabled',
      'proxy',
      '+zimbraServiceInstalled',
      'proxy',
    );
    expect(result).toEqual({
      kind: 'add',
      entries: [
        {
          dn: 'cn=proxy1.example.com,cn=servers,cn=zimbra',
          attributes: {
            objectClass: ['zimbraServer'],
            cn: ['proxy1.example.com'],
            zimbraServiceHostname: ['proxy1.example.com'],
            zimbraId: ['11111111-2222-4333-8444-555555555555'],
            zimbraServiceEnabled: ['proxy'],
            zimbraServiceInstalled: ['proxy'],
          },
        },
      ],
      text: '11111111-2222-4333-8444-555555555555\n',
    });
    expect(create('proxy2.example.com')).toMatchObject({ kind: 'add' });
  });

  it('refuses an existing server, a name that is no host name, and an invalid value', () => {
    expect(() => create('mbox1.example.com')).toThrow('server mbox1.example.com already exists');
    expect(() => create('bad_name')).toThrow(ProxyConfError);
    expect(() => create('p.example.com', 'zimbraImapProxyBindPort', '99999')).toThrow(
      ProblemsError,
    );
  });
});
