import { describe, expect, it } from 'vitest';
import { escapeLdapFilterValue } from '../../../src/lookup/directory-queries.js';
import {
  escapeDnValue,
  expandAuthTemplate,
  planPasswordCheck,
  statusRefusal,
} from '../../../src/lookup/password-check.js';

const ACCOUNT = {
  dn: 'uid=bob,ou=people,dc=ex,dc=test',
  name: 'bob@ex.test',
  externalDn: undefined,
};

describe('expandAuthTemplate (LdapUtil.computeDn rules)', () => {
  it('expands %n %u %d %D and %%, keeps unknown %x as x', () => {
    expect(expandAuthTemplate('uid=%u,ou=people,%D', 'bob@ex.test', escapeDnValue)).toBe(
      'uid=bob,ou=people,dc=ex,dc=test',
    );
    expect(expandAuthTemplate('%n|%u|%d|%%|%q', 'bob@ex.test', (v) => v)).toBe(
      'bob@ex.test|bob|ex.test|%|q',
    );
  });

  it('returns the name for an empty template or %n alone', () => {
    expect(expandAuthTemplate('', 'bob@ex.test', escapeDnValue)).toBe('bob@ex.test');
    expect(expandAuthTemplate('%n', 'bob@ex.test', escapeDnValue)).toBe('bob@ex.test');
  });

  it('leaves %d and %D as d and D for a name without a domain', () => {
    expect(expandAuthTemplate('%u/%d/%D', 'bob', (v) => v)).toBe('bob/d/D');
  });

  it('escapes what it substitutes (unlike Zimbra), so a login cannot change the DN or filter', () => {
    expect(expandAuthTemplate('uid=%u,%D', 'a,b=c@ex.test', escapeDnValue)).toBe(
      'uid=a\\,b\\=c,dc=ex,dc=test',
    );
    expect(expandAuthTemplate('(uid=%u)', 'x*)(uid=*@ex.test', escapeLdapFilterValue)).toBe(
      '(uid=x\\2a\\29\\28uid=\\2a)',
    );
  });
});

describe('planPasswordCheck', () => {
  const domain = (attrs: Record<string, string[]>) => ({
    zimbraAuthLdapURL: ['ldap://127.0.0.1:1 ldap://127.0.0.1:2'],
    ...attrs,
  });

  it('binds on the Zimbra directory when zimbraAuthMech is zimbra or unset', () => {
    expect(planPasswordCheck(ACCOUNT, undefined)).toEqual({ kind: 'zimbra', dn: ACCOUNT.dn });
    expect(planPasswordCheck(ACCOUNT, { zimbraAuthMech: ['zimbra'] })).toEqual({
      kind: 'zimbra',
      dn: ACCOUNT.dn,
    });
  });

  it('ignores the search filter for ad, as Zimbra does', () => {
    const plan = planPasswordCheck(
      ACCOUNT,
      domain({
        zimbraAuthMech: ['ad'],
        zimbraAuthLdapSearchFilter: ['(uid=%u)'],
        zimbraAuthLdapBindDn: ['%n'],
        zimbraAuthLdapStartTlsEnabled: ['TRUE'],
      }),
    );
    expect(plan).toEqual({
      kind: 'external-bind',
      mech: 'ad',
      urls: ['ldap://127.0.0.1:1', 'ldap://127.0.0.1:2'],
      startTls: true,
      dn: 'bob@ex.test',
    });
  });

  it('reports what an ldap domain lacks', () => {
    expect(planPasswordCheck(ACCOUNT, { zimbraAuthMech: ['ldap'] })).toMatchObject({
      kind: 'misconfigured',
      problem: 'zimbraAuthLdapURL is not set',
    });
    expect(planPasswordCheck(ACCOUNT, domain({ zimbraAuthMech: ['ldap'] }))).toMatchObject({
      kind: 'misconfigured',
    });
  });

  it('refuses kerberos5, custom and unknown mechanisms', () => {
    for (const mech of ['kerberos5', 'custom:x', 'LDAP']) {
      expect(planPasswordCheck(ACCOUNT, { zimbraAuthMech: [mech] })).toEqual({
        kind: 'unsupported',
        mech,
      });
    }
  });
});

describe('statusRefusal', () => {
  it('lets only active accounts through', () => {
    expect(statusRefusal('active')).toBeUndefined();
    expect(statusRefusal('lockout')).toBe('zimbraAccountStatus is lockout');
    expect(statusRefusal(undefined)).toBe('no zimbraAccountStatus');
  });
});
