/**
 * zmprov against the real slapd: round trips of ms/mcf/md with +attr/-attr, validation that
 * leaves the directory unchanged, list commands equal to the LDIF file's, and an unreachable
 * LDAP server giving a clear error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLE_DIR } from '../../src/cli/zmproxy.js';
import { run } from '../../src/cli/zmprov.js';
import { createLdapDirectory } from '../../src/sources/ldap/index.js';
import {
  loadLdif,
  resetDirectory,
  stackLdapArgs,
  stackLdapOptions,
  stackValue,
} from '../helpers/stack.js';
import { runCli, testdir } from '../helpers/testdir.js';

const EXAMPLE_LDIF = join(EXAMPLE_DIR, 'directory.ldif');

/** The options that point zmprov at the stack's slapd. */
function ldapArgs(): string[] {
  return stackLdapArgs(testdir());
}

function prov(...args: string[]) {
  return runCli(run, args);
}

async function loadLdap() {
  const store = createLdapDirectory(stackLdapOptions());
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

describe('zmprov over LDAP', () => {
  beforeEach(async () => {
    // ldapadd, not the offline reset: entries slapadd writes without schema checks carry no
    // structuralObjectClass, and slapd then refuses to modify them.
    await resetDirectory();
    await loadLdif(EXAMPLE_LDIF);
  });

  it('reads gcf, gs and gd as from the LDIF file', async () => {
    const ldap = ldapArgs();
    const file = ['--source', `ldif:${EXAMPLE_LDIF}`];
    for (const command of [
      ['gcf'],
      ['gs', 'mbox2.example.com'],
      ['gd', 'example.com'],
      ['garpu'],
      ['garpb'],
      ['gamcs'],
      ['garpd'],
    ]) {
      const fromLdap = await prov(...ldap, ...command);
      expect(fromLdap.code).toBe(0);
      expect(fromLdap.stdout).toBe((await prov(...file, ...command)).stdout);
    }
  });

  it('writes ms with +attr/-attr, mcf and md, and reads them back', async () => {
    const ldap = ldapArgs();
    expect(
      await prov(
        ...ldap,
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
    expect((await prov(...ldap, 'mcf', 'zimbraReverseProxyCacheEntryTTL', '2h')).code).toBe(0);
    expect(
      (await prov(...ldap, 'md', 'example.org', '+zimbraVirtualHostname', 'webmail.example.org'))
        .code,
    ).toBe(0);
    expect(
      (await prov(...ldap, 'ms', 'mbox2.example.com', 'zimbraMailProxyReconnectTimeout', '')).code,
    ).toBe(0);

    const snapshot = await loadLdap();
    const mbox1 = snapshot.servers.find((s) => s.attrs['cn']?.[0] === 'mbox1.example.com');
    expect(mbox1?.attrs['zimbraMailMode']).toEqual(['both']);
    expect([...(mbox1?.attrs['zimbraServiceEnabled'] ?? [])].sort()).toEqual(
      ['mailbox', 'proxy', 'service', 'zimbra', 'zimbraAdmin'].sort(),
    );
    expect(snapshot.globalConfig.attrs['zimbraReverseProxyCacheEntryTTL']).toEqual(['2h']);
    const org = snapshot.domains.find((d) => d.attrs['zimbraDomainName']?.[0] === 'example.org');
    expect(org?.attrs['zimbraVirtualHostname']).toEqual([
      'mail.example.org',
      'webmail.example.org',
    ]);
    const mbox2 = snapshot.servers.find((s) => s.attrs['cn']?.[0] === 'mbox2.example.com');
    expect(mbox2?.attrs['zimbraMailProxyReconnectTimeout']).toBeUndefined();
  });

  it('sets the MTA auth target and port, which gamau then lists', async () => {
    const ldap = ldapArgs();
    expect(
      await prov(
        ...ldap,
        'ms',
        'mbox1.example.com',
        'zimbraMtaAuthTarget',
        'TRUE',
        'zimbraMtaAuthPort',
        '7074',
      ),
    ).toEqual({ code: 0, stdout: '', stderr: '' });
    const listed = await prov(...ldap, 'gamau');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('mbox1.example.com:7074/service/admin/soap/');
  });

  it('refuses invalid values with every problem, exit 1, and leaves the directory unchanged', async () => {
    const before = await loadLdap();
    const result = await prov(
      ...ldapArgs(),
      'ms',
      'mbox1.example.com',
      'zimbraMailMode',
      'fancy',
      'zimbraMailPort',
      '99999',
      '+zimbraMailMode',
      'http',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: 3 problems found:');
    expect(await loadLdap()).toEqual(before);
  });

  it('an unreachable LDAP server is a clear error, exit 1', async () => {
    const result = await prov(
      '--source',
      'ldap://127.0.0.1:1',
      '--bind-dn',
      stackValue('LDAP_BIND_DN'),
      'ms',
      'mbox1.example.com',
      'zimbraMailMode',
      'both',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach LDAP/m);
    expect(result.stderr).toContain('ldap://127.0.0.1:1');
    expect(result.stderr).toMatch(/^hint: /m);
    expect(result.stderr).not.toContain('this is a bug');
  });

  it('creates a proxy server entry with cs, as over an LDIF file, and refuses a second one', async () => {
    const args = [
      'cs',
      'proxy9.example.com',
      'zimbraServiceInstalled',
      'proxy',
      'zimbraServiceEnabled',
      'proxy',
      'zimbraImapProxyBindPort',
      '1143',
    ];
    const created = await prov(...ldapArgs(), ...args);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const server = (await loadLdap()).servers.find(
      (entry) => entry.dn === 'cn=proxy9.example.com,cn=servers,cn=zimbra',
    );
    expect(server?.attrs['zimbraId']).toEqual([id]);
    expect(server?.attrs['zimbraServiceEnabled']).toEqual(['proxy']);
    expect(server?.attrs['zimbraImapProxyBindPort']).toEqual(['1143']);
    const again = await prov(...ldapArgs(), ...args);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('server proxy9.example.com already exists');
    // The same command against an LDIF copy gives the same entry, bar the zimbraId.
    const file = join(testdir(), 'dir.ldif');
    writeFileSync(file, readFileSync(EXAMPLE_LDIF, 'utf8'));
    expect((await prov('--source', `ldif:${file}`, ...args)).code).toBe(0);
    const fromFile = (await prov('--source', `ldif:${file}`, 'gs', 'proxy9.example.com')).stdout;
    const fromLdap = (await prov(...ldapArgs(), 'gs', 'proxy9.example.com')).stdout;
    const withoutId = (text: string) => text.replace(/^zimbraId: .*$/m, '');
    expect(withoutId(fromFile)).toBe(withoutId(fromLdap));
  });

  it('creates a domain and an account whose {SSHA512} password slapd accepts in a bind', async () => {
    const domain = await prov(...ldapArgs(), 'cd', 'new.example.net');
    expect(domain.stderr).toBe('');
    expect(domain.code).toBe(0);
    const account = await prov(
      ...ldapArgs(),
      'ca',
      'joe@new.example.net',
      'pässwörd 1',
      'zimbraMailHost',
      'mbox2.example.com',
    );
    expect(account.stderr).toBe('');
    expect(account.code).toBe(0);
    const snapshot = await loadLdap();
    const joe = snapshot.accounts.find((entry) =>
      (entry.attrs['zimbraMailDeliveryAddress'] ?? []).includes('joe@new.example.net'),
    );
    expect(joe?.dn).toBe('uid=joe,ou=people,dc=new,dc=example,dc=net');
    expect(joe?.attrs['zimbraMailHost']).toEqual(['mbox2.example.com']);
    expect(joe?.attrs['zimbraId']).toEqual([account.stdout.trim()]);
    // slapd (pw-sha2) verifies the stored value: the format is Zimbra's.
    const client = new Client({ url: stackValue('LDAP_URL'), timeout: 10_000 });
    try {
      await client.bind('uid=joe,ou=people,dc=new,dc=example,dc=net', 'pässwörd 1');
      await expect(
        client.bind('uid=joe,ou=people,dc=new,dc=example,dc=net', 'wrong'),
      ).rejects.toThrow();
    } finally {
      await client.unbind();
    }
    const again = await prov(...ldapArgs(), 'ca', 'joe@new.example.net', 'x');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('account joe@new.example.net already exists');
  });

  it('keeps the example LDIF file itself untouched (the LDAP run wrote to slapd only)', () => {
    expect(readFileSync(EXAMPLE_LDIF, 'utf8')).toContain('zimbraMailMode: https');
  });
});
