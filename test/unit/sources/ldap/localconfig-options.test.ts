import { describe, expect, it } from 'vitest';
import { ldapOptionsFromLocalConfig } from '../../../../src/sources/ldap/index.js';

describe('ldapOptionsFromLocalConfig', () => {
  it('splits ldap_url on white space and reads the bind DN and password', () => {
    const options = ldapOptionsFromLocalConfig(
      new Map([
        ['ldap_url', ' ldap://ldap1:389  ldaps://ldap2:636 '],
        ['zimbra_ldap_userdn', 'uid=zimbra,cn=admins,cn=zimbra'],
        ['zimbra_ldap_password', 'secret'],
        ['ldap_starttls_supported', '1'],
      ]),
    );
    expect(options).toEqual({
      urls: ['ldap://ldap1:389', 'ldaps://ldap2:636'],
      bindDn: 'uid=zimbra,cn=admins,cn=zimbra',
      bindPassword: 'secret',
      startTls: true,
    });
  });

  it("falls back to Zimbra's defaults for absent or empty keys", () => {
    expect(ldapOptionsFromLocalConfig(new Map([['ldap_url', '']]))).toEqual({
      urls: ['ldap://localhost:389'],
      bindDn: 'uid=zimbra,cn=admins,cn=zimbra',
      bindPassword: 'zimbra',
      startTls: false,
    });
  });

  it('lets overrides win, ignoring undefined ones', () => {
    const options = ldapOptionsFromLocalConfig(new Map([['zimbra_ldap_password', 'lc']]), {
      urls: ['ldap://override:389'],
      bindPassword: undefined,
      pageSize: 10,
    });
    expect(options).toMatchObject({
      urls: ['ldap://override:389'],
      bindPassword: 'lc',
      pageSize: 10,
    });
  });
});

describe('ldapOptionsFromLocalConfig: the LDAP CA', () => {
  it('reads the CA bundle from zmproxy_ldap_ca_file', () => {
    const options = ldapOptionsFromLocalConfig(
      new Map([['zmproxy_ldap_ca_file', ' /opt/zimbra/conf/ca/ldap-ca.pem ']]),
    );
    expect(options.caFile).toBe('/opt/zimbra/conf/ca/ldap-ca.pem');
    expect(ldapOptionsFromLocalConfig(new Map()).caFile).toBeUndefined();
  });
});
