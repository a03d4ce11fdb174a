import { describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../../../src/errors.js';
import {
  foldLdifLine,
  formatLdifAttribute,
  needsBase64,
  planLdifEdit,
} from '../../../../src/sources/ldif-store/index.js';
import { parseLdif } from '../../../../src/sources/ldif/parse-ldif.js';

const TEXT = `# a header comment
version: 1

# the global config
dn: cn=config,cn=zimbra
objectClass: zimbraGlobalConfig
cn: config
zimbraMailMode: https
# a comment inside the record
zimbraReverseProxySSLProtocols: TLSv1.2
zimbraReverseProxySSLProtocols: TLSv1.3
zimbraReverseProxyResponseHeaders: Strict-Transport-Security: max-age=31536000; incl
 udeSubDomains

dn: cn=mbox1.example.com,cn=servers,cn=zimbra
objectClass: zimbraServer
cn: mbox1.example.com
zimbraServiceEnabled: mailbox
zimbraServiceEnabled: service
zimbraMailMode: https
`;

const GC = 'cn=config,cn=zimbra';
const MBOX = 'cn=mbox1.example.com,cn=servers,cn=zimbra';

function edit(text: string, dn: string, ...changes: Parameters<typeof change>[]): string {
  return planLdifEdit(text, 'dir.ldif', [{ dn, changes: changes.map((args) => change(...args)) }]);
}

function change(operation: 'replace' | 'add' | 'delete', attribute: string, ...values: string[]) {
  return { operation, attribute, values };
}

function attrsOf(text: string, dn: string) {
  return parseLdif(text, 'x').find((entry) => entry.dn === dn)?.attrs;
}

describe('planLdifEdit', () => {
  it('returns the text unchanged when nothing is modified', () => {
    expect(planLdifEdit(TEXT, 'dir.ldif', [])).toBe(TEXT);
  });

  it('rewrites a replaced single value in place and nothing else', () => {
    const out = edit(TEXT, MBOX, ['replace', 'zimbraMailMode', 'both']);
    expect(out).toBe(TEXT.replace(/zimbraMailMode: https\n$/, 'zimbraMailMode: both\n'));
  });

  it('keeps comments, folding, order and other entries byte for byte', () => {
    const out = edit(TEXT, GC, ['replace', 'zimbraMailMode', 'http']);
    expect(out).toBe(
      TEXT.replace('zimbraMailMode: https\n# a comment', 'zimbraMailMode: http\n# a comment'),
    );
    expect(out).toContain('max-age=31536000; incl\n udeSubDomains\n');
  });

  it('adds a value after the last line of the attribute', () => {
    const out = edit(TEXT, MBOX, ['add', 'zimbraServiceEnabled', 'proxy']);
    expect(out).toContain(
      'zimbraServiceEnabled: service\nzimbraServiceEnabled: proxy\nzimbraMailMode',
    );
  });

  it('adds a new attribute after the last attribute line of the record', () => {
    const out = edit(TEXT, GC, ['add', 'zimbraMailPort', '8080']);
    expect(out).toContain('udeSubDomains\nzimbraMailPort: 8080\n\ndn: cn=mbox1');
  });

  it('deletes one value, or the whole attribute', () => {
    const one = edit(TEXT, GC, ['delete', 'zimbraReverseProxySSLProtocols', 'TLSv1.2']);
    expect(attrsOf(one, GC)?.['zimbraReverseProxySSLProtocols']).toEqual(['TLSv1.3']);
    const all = edit(TEXT, GC, ['delete', 'zimbraReverseProxyResponseHeaders']);
    expect(all).not.toContain('Strict-Transport');
    expect(all).toContain('zimbraReverseProxySSLProtocols: TLSv1.3\n\ndn:');
  });

  it('keeps the values a multi-valued replace leaves, and writes the new ones in the place of the first dropped line', () => {
    const out = edit(TEXT, GC, ['replace', 'zimbraReverseProxySSLProtocols', 'TLSv1.3', 'TLSv1.4']);
    expect(out).toContain(
      '# a comment inside the record\nzimbraReverseProxySSLProtocols: TLSv1.4\nzimbraReverseProxySSLProtocols: TLSv1.3\n',
    );
    expect(attrsOf(out, GC)?.['zimbraReverseProxySSLProtocols']).toEqual(['TLSv1.4', 'TLSv1.3']);
  });

  it('matches DNs and attribute names without regard to case or blanks after commas', () => {
    const out = edit(TEXT, 'CN=config, cn=Zimbra', ['replace', 'ZIMBRAMAILMODE', 'http']);
    expect(attrsOf(out, GC)?.['zimbraMailMode']).toEqual(['http']);
    // An existing attribute keeps the file's spelling.
    expect(out).toContain('\nzimbraMailMode: http\n');
  });

  it('writes base64 for values RFC 2849 does not allow plain, and reads them back', () => {
    const hostile = [
      ' leading space',
      ':colon',
      '<angle',
      'trailing ',
      'line\nbreak',
      'tab\there',
      'caf\u00e9',
      'nul\u0000',
    ];
    for (const value of hostile) {
      const out = edit(TEXT, MBOX, ['replace', 'description', value]);
      expect(out).toContain(`description:: ${Buffer.from(value).toString('base64')}`);
      expect(attrsOf(out, MBOX)?.['description']).toEqual([value]);
    }
  });

  it('folds long lines at 76 characters like ldapsearch and reads them back', () => {
    const value = 'x'.repeat(200);
    const out = edit(TEXT, MBOX, ['replace', 'description', value]);
    const lines = out
      .split('\n')
      .filter((line) => line.startsWith('description') || line.startsWith(' x'));
    expect(lines.map((line) => line.length)).toEqual([76, 76, 1 + (13 + 200 - 76 - 75)]);
    expect(attrsOf(out, MBOX)?.['description']).toEqual([value]);
  });

  it('keeps CRLF line ends and a missing final line end', () => {
    const crlf = TEXT.replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const out = edit(crlf, MBOX, ['add', 'zimbraServiceEnabled', 'proxy']);
    expect(out).toBe(
      crlf.replace(
        'zimbraServiceEnabled: service\r\n',
        'zimbraServiceEnabled: service\r\nzimbraServiceEnabled: proxy\r\n',
      ),
    );
    expect(out.endsWith('zimbraMailMode: https')).toBe(true);
  });

  it('refuses a DN that is not in the file', () => {
    expect(() =>
      edit(TEXT, 'cn=nope,cn=servers,cn=zimbra', ['replace', 'zimbraMailMode', 'x']),
    ).toThrow(/no entry "cn=nope,cn=servers,cn=zimbra" in the file/);
  });

  it('refuses, as LDAP does, adding a present value or deleting a missing one', () => {
    expect(() => edit(TEXT, MBOX, ['add', 'zimbraServiceEnabled', 'mailbox'])).toThrow(
      /already has the value "mailbox"/,
    );
    expect(() => edit(TEXT, MBOX, ['delete', 'zimbraServiceEnabled', 'proxy'])).toThrow(
      /has no value "proxy"/,
    );
    expect(() => edit(TEXT, MBOX, ['delete', 'zimbraMailPort'])).toThrow(/has no value to delete/);
  });

  it('refuses an attribute name that would inject a line', () => {
    expect(() => edit(TEXT, MBOX, ['replace', 'description\ndn: x', 'v'])).toThrow(ProxyConfError);
  });

  it('applies all modifications or none: a later refusal leaves the result unreturned', () => {
    expect(() =>
      planLdifEdit(TEXT, 'dir.ldif', [
        { dn: GC, changes: [change('replace', 'zimbraMailMode', 'http')] },
        { dn: 'cn=nope', changes: [change('replace', 'zimbraMailMode', 'http')] },
      ]),
    ).toThrow(/no entry/);
  });

  it('refuses a DN that appears twice', () => {
    const twice = `${TEXT}\ndn: cn=mbox1.example.com,cn=servers,cn=zimbra\nobjectClass: zimbraServer\ncn: x\n`;
    expect(() => edit(twice, MBOX, ['replace', 'zimbraMailMode', 'x'])).toThrow(/appears 2 times/);
  });
});

describe('LDIF line formatting', () => {
  it('needs base64 only for unsafe strings', () => {
    expect(needsBase64('plain value: with colon inside')).toBe(false);
    expect(needsBase64('')).toBe(false);
    expect(needsBase64(' x')).toBe(true);
    expect(needsBase64('x ')).toBe(true);
    expect(needsBase64('\u00e9')).toBe(true);
  });

  it('writes an empty value as "name:"', () => {
    expect(formatLdifAttribute('description', '')).toEqual(['description:']);
  });

  it('folds into a 76-character first line and 1+75 continuations', () => {
    const lines = foldLdifLine('a'.repeat(160));
    expect(lines).toEqual(['a'.repeat(76), ` ${'a'.repeat(75)}`, ` ${'a'.repeat(9)}`]);
  });
});
