import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createDirectorySource,
  readPasswordFile,
  resolveLdapOptions,
} from '../../../../src/cli/shared/inputs.js';
import { ProxyConfError } from '../../../../src/errors.js';
import { testdir } from '../../../helpers/testdir.js';

const LOCALCONFIG = new Map([
  ['ldap_url', 'ldap://127.0.0.1:1 ldap://127.0.0.1:2'],
  ['zimbra_ldap_userdn', 'uid=zimbra,cn=admins,cn=zimbra'],
  ['zimbra_ldap_password', 'from-localconfig'],
]);

describe('createDirectorySource', () => {
  it('reads LDIF files named by --source ldif:', async () => {
    const dir = testdir({ 'd.ldif': 'dn: cn=config,cn=zimbra\nobjectClass: zimbraGlobalConfig\n' });
    const source = createDirectorySource(`ldif:${join(dir, 'd.ldif')}`);
    expect((await source.load()).globalConfig.dn).toBe('cn=config,cn=zimbra');
  });

  it('defaults to LDAP at localconfig ldap_url, trying every URL', async () => {
    const source = createDirectorySource(undefined, { localConfig: LOCALCONFIG });
    expect(source.description).toContain('ldap://127.0.0.1:1 ldap://127.0.0.1:2');
    const error = await source.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProxyConfError);
    expect((error as ProxyConfError).code).toBe('E_LDAP_CONNECT');
    expect((error as ProxyConfError).message).toMatch(
      /ldap:\/\/127\.0\.0\.1:1: connection refused[\s\S]*ldap:\/\/127\.0\.0\.1:2: connection refused/,
    );
  });

  it('takes the URLs of --source ldap:// over localconfig ldap_url', () => {
    const source = createDirectorySource('ldap://127.0.0.1:3', { localConfig: LOCALCONFIG });
    expect(source.description).toBe('ldap://127.0.0.1:3');
  });
});

describe('resolveLdapOptions', () => {
  it('takes --bind-dn and --bind-password-file over localconfig', async () => {
    const dir = testdir({ pw: 'from-file\n' });
    const options = await resolveLdapOptions('ldaps://ldap.example.com:636', {
      localConfig: LOCALCONFIG,
      bindDn: 'cn=admin',
      bindPasswordFile: join(dir, 'pw'),
    });
    expect(options).toMatchObject({
      urls: ['ldaps://ldap.example.com:636'],
      bindDn: 'cn=admin',
      bindPassword: 'from-file',
    });
  });

  it('uses localconfig credentials without flags', async () => {
    const options = await resolveLdapOptions(undefined, { localConfig: LOCALCONFIG });
    expect(options).toMatchObject({
      urls: ['ldap://127.0.0.1:1', 'ldap://127.0.0.1:2'],
      bindDn: 'uid=zimbra,cn=admins,cn=zimbra',
      bindPassword: 'from-localconfig',
    });
  });
});

describe('readPasswordFile', () => {
  it('reads the first line without its line end', async () => {
    const dir = testdir();
    writeFileSync(join(dir, 'pw'), 's3cret\r\n');
    expect(await readPasswordFile(join(dir, 'pw'))).toBe('s3cret');
  });

  it.each([
    ['a missing file', 'missing', /no such file/],
    ['an empty file', 'empty', /is empty/],
  ])('refuses %s with E_INPUT and a hint', async (_, name, message) => {
    const dir = testdir({ empty: '' });
    const error = await readPasswordFile(join(dir, name)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProxyConfError);
    expect((error as ProxyConfError).code).toBe('E_INPUT');
    expect((error as ProxyConfError).message).toMatch(message);
    expect((error as ProxyConfError).hint).toContain('--bind-password-file');
  });
});
