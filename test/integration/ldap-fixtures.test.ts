/** Every bundled LDIF loads into slapd; the Zimbra-DIT ones through ldapadd with schema checks. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLdif } from '../../src/sources/ldif/index.js';
import { loadLdif, resetDirectory, withLdapClient } from '../helpers/stack.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

const ALL = [
  join(FIXTURES, 'example/directory.ldif'),
  ...readdirSync(join(FIXTURES, 'scenarios')).map((name) =>
    join(FIXTURES, 'scenarios', name, 'input.ldif'),
  ),
  ...readdirSync(join(FIXTURES, 'ldif'))
    .filter((name) => name.endsWith('.ldif'))
    .map((name) => join(FIXTURES, 'ldif', name)),
].sort();

/** The bundled LDIF that follows Zimbra's DIT and schema, as a real Zimbra LDAP holds it. */
const ZIMBRA_DIT = [
  join(FIXTURES, 'example/directory.ldif'),
  join(FIXTURES, 'scenarios/lookup-trap/input.ldif'),
];

async function directoryDns(): Promise<Set<string>> {
  return withLdapClient(async (client) => {
    const { searchEntries } = await client.search('', {
      scope: 'sub',
      filter: '(objectClass=*)',
      attributes: ['1.1'],
    });
    return new Set(searchEntries.map((entry) => entry.dn.toLowerCase()));
  });
}

function dnsOf(file: string): string[] {
  return parseLdif(readFileSync(file, 'utf8'), file).map((entry) => entry.dn.toLowerCase());
}

describe.each(ALL.map((file) => [file.slice(FIXTURES.length), file]))('%s', (_, file) => {
  it('loads into slapd with every entry, unchanged', async () => {
    await resetDirectory(file);
    const present = await directoryDns();
    expect(dnsOf(file).filter((dn) => !present.has(dn))).toEqual([]);
  });
});

describe.each(ZIMBRA_DIT.map((file) => [file.slice(FIXTURES.length), file]))(
  'Zimbra-DIT %s',
  (_, file) => {
    it('loads through ldapadd into an empty directory, schema-checked', async () => {
      await resetDirectory();
      expect((await directoryDns()).size).toBe(0);
      await loadLdif(file);
      const present = await directoryDns();
      const wanted = dnsOf(file);
      expect(wanted.filter((dn) => !present.has(dn))).toEqual([]);
      // Anything else is a parent the file lacks (dc=org above dc=example,dc=org).
      const extra = [...present].filter((dn) => !wanted.includes(dn));
      expect(extra.filter((dn) => !wanted.some((child) => child.endsWith(`,${dn}`)))).toEqual([]);
    });
  },
);

describe('load', () => {
  it('creates missing parent entries before the entries below them', async () => {
    await resetDirectory();
    await loadLdif(join(FIXTURES, 'example/directory.ldif'));
    const file = join(FIXTURES, 'ldif/slapcat-sample.ldif');
    await resetDirectory(file);
    const present = await directoryDns();
    expect(present).toContain('ou=people,dc=example,dc=com');
    expect(present).toContain('uid=joerg,ou=people,dc=example,dc=com');
  });
});
