/**
 * Jobs read only the entry kinds they need: against the real slapd, a directory with accounts
 * gives the configuration jobs the same snapshot as one without, and never sends the accounts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_CONFIG_KINDS, firstValueOf } from '../../src/model/snapshot.js';
import { createLdapDirectory } from '../../src/sources/ldap/index.js';
import { resetDirectory, stackLdapOptions } from '../helpers/stack.js';

const EXAMPLE = new URL('../../fixtures/example/directory.ldif', import.meta.url).pathname;

function accounts(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      [
        `dn: uid=user${i},ou=people,dc=example,dc=com`,
        'objectClass: inetOrgPerson',
        'objectClass: zimbraAccount',
        `uid: user${i}`,
        `cn: user${i}`,
        `sn: user${i}`,
        `mail: user${i}@example.com`,
        `zimbraMailDeliveryAddress: user${i}@example.com`,
        `zimbraMailHost: mbox1.example.com`,
      ].join('\n') + '\n',
  ).join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'zmproxy-kinds-'));

beforeAll(async () => {
  const file = join(dir, 'with-accounts.ldif');
  writeFileSync(
    file,
    'dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n' +
      accounts(25),
  );
  await resetDirectory(EXAMPLE, file);
});

afterAll(async () => {
  await resetDirectory(EXAMPLE);
  rmSync(dir, { recursive: true, force: true });
});

describe('load(kinds) over LDAP', () => {
  it('sends the accounts only to a job that asks for them', async () => {
    const store = createLdapDirectory(stackLdapOptions());
    try {
      const everything = await store.load();
      expect(everything.accounts).toHaveLength(25);
      const config = await store.load(PROXY_CONFIG_KINDS);
      expect(config.accounts).toEqual([]);
      expect(config.servers.map((s) => firstValueOf(s, 'cn'))).toEqual(
        everything.servers.map((s) => firstValueOf(s, 'cn')),
      );
      expect(config.domains).toEqual(everything.domains);
      expect(config.globalConfig).toEqual(everything.globalConfig);
      const globalOnly = await store.load(['globalConfig']);
      expect(globalOnly.servers).toEqual([]);
      expect(globalOnly.globalConfig).toEqual(everything.globalConfig);
    } finally {
      await store.close();
    }
  });
});
