import { describe, expect, it } from 'vitest';
import {
  classifyEntries,
  classifyObjectClasses,
  objectClassFilter,
} from '../../../src/model/classify-entry.js';
import { parseLdif } from '../../../src/sources/ldif/parse-ldif.js';

describe('classifyObjectClasses', () => {
  it.each([
    [['top', 'zimbraGlobalConfig'], 'globalConfig'],
    [['zimbraServer'], 'server'],
    [['dcObject', 'organization', 'zimbraDomain', 'amavisAccount'], 'domain'],
    [['inetOrgPerson', 'zimbraAccount', 'amavisAccount'], 'account'],
    [['inetOrgPerson', 'zimbraCalendarResource', 'zimbraAccount'], 'account'],
    [['zimbraAlias'], 'alias'],
    [['zimbraCOS'], 'cos'],
  ] as const)('classifies %j as %s', (objectClasses, kind) => {
    expect(classifyObjectClasses(objectClasses)).toBe(kind);
  });

  it('compares object classes without regard to case', () => {
    expect(classifyObjectClasses(['ZIMBRASERVER'])).toBe('server');
    expect(classifyObjectClasses(['zimbracos'])).toBe('cos');
  });

  it('ignores entries that are no Zimbra object of interest', () => {
    expect(classifyObjectClasses(['organizationalUnit'])).toBeUndefined();
    expect(classifyObjectClasses(['dcObject', 'organization'])).toBeUndefined();
    expect(classifyObjectClasses([])).toBeUndefined();
  });
});

describe('classifyEntries', () => {
  it('classifies by objectClass even when the DN does not look like Zimbra', () => {
    const parsed = parseLdif(
      [
        'dn: ou=hosts,o=acme',
        'objectClass: organizationalUnit',
        '',
        'dn: host=edge-1,ou=hosts,o=acme',
        'objectclass: zimbraServer',
        'cn: edge-1.acme.test',
        '',
        'dn: o=acme',
        'objectClass: organization',
        'objectClass: zimbraGlobalConfig',
        '',
      ].join('\n'),
      'odd.ldif',
    );
    expect(classifyEntries(parsed)).toEqual([
      {
        dn: 'host=edge-1,ou=hosts,o=acme',
        kind: 'server',
        attrs: { objectClass: ['zimbraServer'], cn: ['edge-1.acme.test'] },
        origin: { file: 'odd.ldif', line: 4 },
      },
      {
        dn: 'o=acme',
        kind: 'globalConfig',
        attrs: { objectClass: ['organization', 'zimbraGlobalConfig'] },
        origin: { file: 'odd.ldif', line: 8 },
      },
    ]);
  });

  it('drops a record without objectClass', () => {
    expect(classifyEntries(parseLdif('dn: cn=a\ncn: a\n', 'f'))).toEqual([]);
  });
});

describe('reading only some kinds', () => {
  it('builds an LDAP filter of the wanted object classes only', () => {
    expect(objectClassFilter(['globalConfig'])).toBe('(objectClass=zimbraGlobalConfig)');
    expect(objectClassFilter(['server', 'account'])).toBe(
      '(|(objectClass=zimbraServer)(objectClass=zimbraAccount)(objectClass=zimbraCalendarResource))',
    );
    expect(objectClassFilter()).toContain('(objectClass=zimbraCOS)');
  });

  it('drops the entries of other kinds', () => {
    const raw = [
      { dn: 'cn=s', attrs: { objectClass: ['zimbraServer'] } },
      { dn: 'uid=a', attrs: { objectClass: ['zimbraAccount'] } },
    ];
    expect(classifyEntries(raw, ['server']).map((e) => e.dn)).toEqual(['cn=s']);
    expect(classifyEntries(raw).map((e) => e.dn)).toEqual(['cn=s', 'uid=a']);
  });
});
