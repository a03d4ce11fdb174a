import { describe, expect, it } from 'vitest';
import { hostOfLdapUrl, tlsOptionsFor } from '../../../../src/sources/ldap/connect.js';
import { resolveLdapSourceOptions } from '../../../../src/sources/ldap/index.js';

describe('tlsOptionsFor', () => {
  it('checks the certificate against the host of the URL, with SNI for a DNS name', () => {
    expect(tlsOptionsFor('ldap://ldap1.example.com:389', { rejectUnauthorized: true })).toEqual({
      rejectUnauthorized: true,
      host: 'ldap1.example.com',
      servername: 'ldap1.example.com',
    });
  });

  it('gives an IP address as host only (SNI takes no addresses)', () => {
    expect(tlsOptionsFor('ldaps://127.0.0.5:636', {})).toEqual({ host: '127.0.0.5' });
    expect(tlsOptionsFor('ldap://[::1]:389', {})).toEqual({ host: '::1' });
  });

  it('reads the host the way ldapts does', () => {
    expect(hostOfLdapUrl('ldap://Ldap.Example.com/')).toBe('Ldap.Example.com');
  });
});

describe('resolveLdapSourceOptions', () => {
  it('refuses a URL that is not ldap:// or ldaps:// as a usage error', () => {
    for (const url of ['http://ldap1:389', 'ldap//ldap1', 'ldap://']) {
      let caught: unknown;
      try {
        resolveLdapSourceOptions({ urls: [url], bindDn: 'x', bindPassword: 'y' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: 'E_USAGE' });
      expect((caught as Error).message).toContain(url);
    }
  });
});
