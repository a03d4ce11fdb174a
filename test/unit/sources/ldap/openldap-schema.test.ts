import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_CATALOG, attribute } from '../../../../src/model/attribute-catalog.js';
import { renderAttributeType, renderOpenLdapSchema } from '../../../../src/sources/ldap/index.js';

/** The schema with LDIF folding undone. */
function unfolded(): string {
  return renderOpenLdapSchema().replace(/\n /g, '');
}

describe('renderOpenLdapSchema', () => {
  it("defines every catalog attribute under Zimbra's attribute arc", () => {
    const schema = unfolded();
    for (const spec of ATTRIBUTE_CATALOG) {
      expect(schema).toContain(`( 1.3.6.1.4.1.19348.2.1.${spec.id} NAME '${spec.name}' `);
    }
  });

  it('gives every catalog attribute a distinct OID', () => {
    const ids = ATTRIBUTE_CATALOG.map((spec) => spec.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("uses Zimbra's object class OIDs, kinds and superiors", () => {
    const schema = unfolded();
    expect(schema).toContain(
      "olcObjectClasses: ( 1.3.6.1.4.1.19348.2.2.9 NAME 'zimbraGlobalConfig' DESC 'global config' SUP top AUXILIARY MAY ( cn $",
    );
    expect(schema).toMatch(
      /1\.3\.6\.1\.4\.1\.19348\.2\.2\.8 NAME 'zimbraServer' .* SUP top STRUCTURAL/,
    );
    expect(schema).toMatch(
      /1\.3\.6\.1\.4\.1\.19348\.2\.2\.4 NAME 'zimbraDomain' .* SUP zimbraMailRecipient AUXILIARY/,
    );
    for (const name of ['zimbraAccount', 'zimbraAlias', 'zimbraCOS', 'zimbraMailRecipient']) {
      expect(schema).toContain(`NAME '${name}'`);
    }
  });

  it('is one cn=config schema entry with lines of at most 76 characters', () => {
    const text = renderOpenLdapSchema();
    expect(text).toContain('dn: cn=zimbra,cn=schema,cn=config\nobjectClass: olcSchemaConfig\n');
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeLessThanOrEqual(90);
  });
});

describe('renderAttributeType', () => {
  it('gives booleans the Boolean syntax Zimbra uses (TRUE/FALSE)', () => {
    expect(renderAttributeType(attribute('zimbraReverseProxyLookupTarget'))).toMatch(
      /EQUALITY booleanMatch SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.7 SINGLE-VALUE \)$/,
    );
  });

  it('gives other types a case-insensitive Directory String', () => {
    expect(renderAttributeType(attribute('zimbraServiceEnabled'))).toMatch(
      /EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.15 \)$/,
    );
  });

  it('escapes quotes and backslashes in the description', () => {
    const spec = { ...attribute('zimbraMailPort'), doc: "it's a \\ test…" };
    expect(renderAttributeType(spec)).toContain("DESC 'it\\27s a \\5C test...'");
  });
});
