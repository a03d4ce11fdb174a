/**
 * `zmproxy purge --domain` against the stack's slapd and memcached: every account of the domain
 * loses its cached routes, other domains keep theirs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/purge.js';
import { routeUserKey } from '../../src/lookup/cache-keys.js';
import { createMemcachedClient } from '../../src/sources/memcached/index.js';
import { resetDirectory, stackLdapArgs, stackValue } from '../helpers/stack.js';
import { runCli, testdir } from '../helpers/testdir.js';

const account = (uid: string, domain: string): string =>
  [
    `dn: uid=${uid},ou=people,dc=${domain.split('.')[0] ?? ''},dc=test`,
    'objectClass: inetOrgPerson',
    'objectClass: zimbraAccount',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `zimbraMailDeliveryAddress: ${uid}@${domain}`,
    'zimbraMailHost: mbx1.test',
    '',
  ].join('\n');

const domain = (name: string): string =>
  [
    `dn: dc=${name.split('.')[0] ?? ''},dc=test`,
    'objectClass: dcObject',
    'objectClass: organization',
    'objectClass: zimbraDomain',
    `dc: ${name.split('.')[0] ?? ''}`,
    `o: ${name}`,
    `zimbraDomainName: ${name}`,
    '',
  ].join('\n');

describe('zmproxy purge --domain', () => {
  it('drops the cached routes of every account of the domain, and only those', async () => {
    const dir = testdir();
    const ldif = join(dir, 'directory.ldif');
    writeFileSync(
      ldif,
      [
        domain('p.test'),
        domain('q.test'),
        account('ann', 'p.test'),
        account('ben', 'p.test'),
        account('cat', 'q.test'),
      ].join('\n'),
    );
    await resetDirectory(ldif);
    const server = stackValue('MEMCACHED_SERVERS');
    const client = createMemcachedClient({ servers: [server] });
    const keys = ['ann@p.test', 'ben@p.test', 'cat@q.test'].map((user) =>
      routeUserKey('imap', user),
    );
    try {
      for (const key of keys) {
        await client.delete(key);
        await client.add(key, '127.0.0.1:7143', 300);
      }
      const result = await runCli(run, ['--domain', 'p.test', ...stackLdapArgs(dir), server]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(await client.get(keys[0]!)).toBeUndefined();
      expect(await client.get(keys[1]!)).toBeUndefined();
      expect(await client.get(keys[2]!)).toBe('127.0.0.1:7143');
    } finally {
      client.close();
    }
  });

  it('refuses --domain with --no-ldap', async () => {
    const result = await runCli(run, ['--domain', 'p.test', '--no-ldap', '127.0.0.1:1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --domain needs LDAP/m);
  });
});
