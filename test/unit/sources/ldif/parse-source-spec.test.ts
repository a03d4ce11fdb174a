import { describe, expect, it } from 'vitest';
import { parseSourceSpec } from '../../../../src/sources/ldif/read-ldif.js';

describe('parseSourceSpec', () => {
  it('reads ldif: followed by comma-separated files', () => {
    expect(parseSourceSpec('ldif:a.ldif, dir/b.ldif')).toEqual({
      kind: 'ldif',
      files: ['a.ldif', 'dir/b.ldif'],
    });
  });

  it('treats a bare path ending in .ldif as one LDIF file', () => {
    expect(parseSourceSpec('/tmp/export.LDIF')).toEqual({
      kind: 'ldif',
      files: ['/tmp/export.LDIF'],
    });
  });

  it('reads LDAP URLs separated by spaces or commas', () => {
    expect(parseSourceSpec('ldap://ldap1:389 ldaps://ldap2:636,ldap://ldap3')).toEqual({
      kind: 'ldap',
      urls: ['ldap://ldap1:389', 'ldaps://ldap2:636', 'ldap://ldap3'],
    });
  });

  it.each(['', 'ldif:', 'ldif: , ', 'example.com', 'ldapi:///', 'ldap://a http://b'])(
    'rejects %j as a usage error with a hint',
    (spec) => {
      expect(() => parseSourceSpec(spec)).toThrow(
        expect.objectContaining({
          code: 'E_USAGE',
          hint: expect.stringContaining('--source') as unknown,
        }),
      );
    },
  );
});
