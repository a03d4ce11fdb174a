import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entryName } from '../../../../src/model/snapshot.js';
import {
  expandLdifFiles,
  ldifGlobDirs,
  readLdifSnapshot,
} from '../../../../src/sources/ldif/read-ldif.js';
import { tempFiles } from '../temp-files.js';

const CONFIG = `dn: cn=config,cn=zimbra
objectClass: zimbraGlobalConfig
zimbraReverseProxyWorkerProcesses: 4
`;

const SERVERS = `# extended LDIF
version: 1

dn: cn=servers,cn=zimbra
objectClass: organizationalRole
cn: servers

dn: cn=proxy.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: proxy.example.com
zimbraServiceEnabled: proxy

dn: cn=mbox.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: mbox.example.com
zimbraServiceEnabled: mailbox
zimbraServiceEnabled: service
`;

const DOMAINS = `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
objectClass: zimbraDomain
zimbraDomainName: example.com

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: zimbraAccount
uid: alice
zimbraMailDeliveryAddress: alice@example.com
`;

describe('readLdifSnapshot', () => {
  it('reads several files into one snapshot', async () => {
    const dir = await tempFiles({ 'c.ldif': CONFIG, 's.ldif': SERVERS, 'd.ldif': DOMAINS });
    const files = ['c.ldif', 's.ldif', 'd.ldif'].map((name) => join(dir, name));
    const snapshot = await readLdifSnapshot(files);
    expect(snapshot.globalConfig.attrs['zimbraReverseProxyWorkerProcesses']).toEqual(['4']);
    expect(snapshot.globalConfig.origin).toEqual({ file: files[0], line: 1 });
    expect(snapshot.servers.map(entryName)).toEqual(['mbox.example.com', 'proxy.example.com']);
    expect(snapshot.servers[0]?.origin).toEqual({ file: files[1], line: 13 });
    expect(snapshot.domains.map(entryName)).toEqual(['example.com']);
    expect(snapshot.accounts.map(entryName)).toEqual(['alice@example.com']);
  });

  it('keeps only the attributes asked for (case-insensitive), as an LDAP search would', async () => {
    const dir = await tempFiles({ 'c.ldif': CONFIG, 's.ldif': SERVERS });
    const files = ['c.ldif', 's.ldif'].map((name) => join(dir, name));
    const snapshot = await readLdifSnapshot(
      files,
      ['globalConfig', 'server'],
      ['objectclass', 'cn', 'ZIMBRASERVICEENABLED'],
    );
    expect(snapshot.globalConfig.attrs['zimbraReverseProxyWorkerProcesses']).toBeUndefined();
    expect(snapshot.servers.map(entryName)).toEqual(['mbox.example.com', 'proxy.example.com']);
    expect(snapshot.servers[1]?.attrs['zimbraServiceEnabled']).toEqual(['proxy']);
  });

  it('reports a duplicate server across files with both file:line', async () => {
    const dir = await tempFiles({ 'a.ldif': SERVERS, 'b.ldif': SERVERS });
    const [a, b] = [join(dir, 'a.ldif'), join(dir, 'b.ldif')];
    await expect(readLdifSnapshot([a, b])).rejects.toMatchObject({
      code: 'E_LDIF',
      message: `${b}:8: server "proxy.example.com" is defined twice; the first is at ${a}:8`,
    });
  });

  it('reports a parse error with the file and line', async () => {
    const dir = await tempFiles({ 'bad.ldif': 'dn: cn=a\nbroken\n' });
    await expect(readLdifSnapshot([join(dir, 'bad.ldif')])).rejects.toMatchObject({
      code: 'E_LDIF',
      message: `${join(dir, 'bad.ldif')}:2: the line has no colon: "broken"`,
    });
  });

  it('reports a missing file as an input error with a hint', async () => {
    const dir = await tempFiles({});
    const missing = join(dir, 'missing.ldif');
    await expect(readLdifSnapshot([missing])).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `${missing}: no such file`,
      hint: expect.stringContaining('--source ldif:') as unknown,
    });
  });

  it('reports a directory given as a file', async () => {
    const dir = await tempFiles({});
    await expect(readLdifSnapshot([dir])).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `${dir}: is a directory, not a file`,
    });
  });

  it('refuses an empty file list', async () => {
    await expect(readLdifSnapshot([])).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

describe('readLdifSnapshot on a slapcat export', () => {
  it('reads the Zimbra objects and skips the rest', async () => {
    const file = fileURLToPath(
      new URL('../../../../fixtures/ldif/slapcat-sample.ldif', import.meta.url),
    );
    const snapshot = await readLdifSnapshot([file]);
    expect(snapshot.globalConfig.dn).toBe('cn=config,cn=zimbra');
    expect(snapshot.globalConfig.attrs['zimbraReverseProxyResponseHeaders']).toEqual([
      'Strict-Transport-Security: max-age=31536000; includeSubDomains; preload',
    ]);
    expect(snapshot.globalConfig.attrs['zimbraReverseProxySSLProtocols']).toEqual([
      'TLSv1.2',
      'TLSv1.3',
    ]);
    expect(snapshot.servers.map(entryName)).toEqual(['mbox1.example.com', 'proxy1.example.com']);
    expect(snapshot.servers[0]?.attrs['zimbraSSLCertificate']?.[0]).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[\s\S]*\n-----END CERTIFICATE-----\n$/,
    );
    expect(snapshot.domains.map(entryName)).toEqual(['example.com']);
    expect(snapshot.domains[0]?.attrs['zimbraVirtualHostname']).toEqual([
      'mail.example.com',
      'webmail.example.com',
    ]);
    expect(snapshot.accounts[0]?.attrs['cn']).toEqual(['Jörg Müller']);
    expect(snapshot.aliases).toEqual([]);
    expect(snapshot.cos).toEqual([]);
  });
});

describe('readLdifSnapshot: encoding', () => {
  it('names the first line that is not UTF-8 instead of reading U+FFFD', async () => {
    const dir = await tempFiles({ 'bad.ldif': '' });
    const file = join(dir, 'bad.ldif');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('dn: cn=config,cn=zimbra\nzimbraReverseProxyIpThrottleMsg: caf'),
        Buffer.from([0xe9]),
        Buffer.from('\n'),
      ]),
    );
    await expect(readLdifSnapshot([file])).rejects.toMatchObject({ code: 'E_LDIF' });
    await expect(readLdifSnapshot([file])).rejects.toThrow(`${file}:2: the line is not UTF-8 text`);
  });
});

describe('readLdifSnapshot: globs', () => {
  it('reads every file a glob matches, in name order, as one directory', async () => {
    const dir = await tempFiles({
      'exports/2-servers.ldif': SERVERS,
      'exports/1-config.ldif': CONFIG,
      'exports/3-domains.ldif': DOMAINS,
      'exports/notes.txt': 'not LDIF',
    });
    const snapshot = await readLdifSnapshot([join(dir, 'exports/*.ldif')]);
    expect(snapshot.globalConfig.origin).toEqual({
      file: join(dir, 'exports/1-config.ldif'),
      line: 1,
    });
    expect(snapshot.servers.map(entryName)).toEqual(['mbox.example.com', 'proxy.example.com']);
    expect(snapshot.domains.map(entryName)).toEqual(['example.com']);
    expect(
      await expandLdifFiles([join(dir, 'exports/[23]-*.ldif'), join(dir, 'exports/notes.txt')]),
    ).toEqual(
      ['2-servers.ldif', '3-domains.ldif', 'notes.txt'].map((n) => join(dir, 'exports', n)),
    );
    expect(ldifGlobDirs([join(dir, 'exports/*.ldif'), join(dir, 'a.ldif')])).toEqual([
      join(dir, 'exports'),
    ]);
  });

  it('refuses a glob that matches nothing, naming it, instead of reading an empty directory', async () => {
    const dir = await tempFiles({ 'exports/a.txt': '' });
    const pattern = join(dir, 'exports/*.ldif');
    await expect(readLdifSnapshot([pattern])).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `--source ldif:${pattern} matches no file`,
      hint: expect.stringContaining('--source "ldif:exports/*.ldif"') as unknown,
    });
  });
});
