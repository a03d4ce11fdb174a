import { describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../../../src/errors.js';
import { canonicalAttributeName } from '../../../../src/model/attribute-catalog.js';
import { parseLdif } from '../../../../src/sources/ldif/parse-ldif.js';

/** Joins lines with LF and a final newline. */
const ldif = (...lines: string[]): string => `${lines.join('\n')}\n`;
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** The ProxyConfError a parse throws. */
function parseError(text: string, file = 'in.ldif'): ProxyConfError {
  try {
    parseLdif(text, file);
  } catch (error) {
    if (error instanceof ProxyConfError) return error;
    throw error;
  }
  throw new Error('expected parseLdif to throw');
}

describe('parseLdif', () => {
  it('reads entries separated by blank lines with their dn and origin', () => {
    const entries = parseLdif(
      ldif('dn: cn=a,cn=zimbra', 'cn: a', '', '', 'dn: cn=b,cn=zimbra', 'cn: b'),
      'x.ldif',
    );
    expect(entries).toEqual([
      { dn: 'cn=a,cn=zimbra', attrs: { cn: ['a'] }, origin: { file: 'x.ldif', line: 1 } },
      { dn: 'cn=b,cn=zimbra', attrs: { cn: ['b'] }, origin: { file: 'x.ldif', line: 5 } },
    ]);
  });

  it('accepts an optional version line before the first entry', () => {
    expect(parseLdif(ldif('version: 1', 'dn: cn=a', 'cn: a'), 'f')).toHaveLength(1);
    expect(parseLdif(ldif('version: 1', '', 'dn: cn=a', 'cn: a'), 'f')).toHaveLength(1);
  });

  it('rejects an LDIF version other than 1', () => {
    expect(parseError(ldif('version: 2', 'dn: cn=a')).message).toBe(
      'in.ldif:1: unsupported LDIF version "2"',
    );
  });

  it('joins a folded line, removing exactly one leading space', () => {
    const [entry] = parseLdif(
      ldif('dn: cn=a,cn=ser', ' vers,cn=zimbra', 'description: one', '  two', '  three'),
      'f',
    );
    expect(entry?.dn).toBe('cn=a,cn=servers,cn=zimbra');
    expect(entry?.attrs['description']).toEqual(['one two three']);
  });

  it('joins a folded base64 value before decoding it', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const encoded = b64(pem);
    const [entry] = parseLdif(
      ldif('dn: cn=a', `zimbraSSLCertificate:: ${encoded.slice(0, 10)}`, ` ${encoded.slice(10)}`),
      'f',
    );
    expect(entry?.attrs['zimbraSSLCertificate']).toEqual([pem]);
  });

  it('decodes a base64 dn and base64 values as UTF-8', () => {
    const [entry] = parseLdif(
      ldif(`dn:: ${b64('uid=jörg,ou=people,dc=example,dc=com')}`, `cn:: ${b64('Jörg Müller ')}`),
      'f',
    );
    expect(entry?.dn).toBe('uid=jörg,ou=people,dc=example,dc=com');
    expect(entry?.attrs['cn']).toEqual(['Jörg Müller ']);
  });

  it('skips comment lines and their folded continuation lines', () => {
    const entries = parseLdif(
      ldif('# a comment', ' that is folded', 'dn: cn=a', '# inside a record', 'cn: a', '# end'),
      'f',
    );
    expect(entries).toEqual([{ dn: 'cn=a', attrs: { cn: ['a'] }, origin: { file: 'f', line: 3 } }]);
  });

  it('reads CRLF line endings like LF', () => {
    const [entry] = parseLdif('dn: cn=a\r\ncn: a\r\n b\r\n\r\ndn: cn=c\r\ncn: c\r\n', 'f');
    expect(entry?.attrs['cn']).toEqual(['ab']);
  });

  it('keeps the values of a repeated attribute in order', () => {
    const [entry] = parseLdif(
      ldif('dn: cn=s', 'zimbraServiceEnabled: mailbox', 'cn: s', 'zimbraServiceEnabled: proxy'),
      'f',
    );
    expect(entry?.attrs['zimbraServiceEnabled']).toEqual(['mailbox', 'proxy']);
  });

  it('drops attribute options such as ;binary and keeps the value', () => {
    const [entry] = parseLdif(
      ldif('dn: cn=a', `userCertificate;binary:: ${b64('x')}`, 'cn;lang-en: a'),
      'f',
    );
    expect(entry?.attrs).toEqual({ userCertificate: ['x'], cn: ['a'] });
  });

  it('starts a plain value after the colon and its spaces, keeping trailing spaces', () => {
    const [entry] = parseLdif(ldif('dn:cn=a', 'cn:a', 'description:    b  ', 'sn:'), 'f');
    expect(entry?.dn).toBe('cn=a');
    expect(entry?.attrs).toEqual({ cn: ['a'], description: ['b  '], sn: [''] });
  });

  it('keeps a colon inside a value', () => {
    const [entry] = parseLdif(ldif('dn: cn=a', 'zimbraMailURL: http://x:80/'), 'f');
    expect(entry?.attrs['zimbraMailURL']).toEqual(['http://x:80/']);
  });

  it('spells attribute names as the catalog does, whatever their case', () => {
    const [entry] = parseLdif(
      ldif('dn: cn=a', 'OBJECTCLASS: zimbraServer', 'zimbramailproxyport: 143', 'CN: a', 'Cn: b'),
      'f',
    );
    expect(entry?.attrs).toEqual({
      objectClass: ['zimbraServer'],
      zimbraMailProxyPort: ['143'],
      cn: ['a', 'b'],
    });
  });

  it('keeps an unknown attribute as first written and merges later spellings into it', () => {
    const [entry] = parseLdif(ldif('dn: cn=a', 'entryUUID: 1', 'ENTRYUUID: 2'), 'f');
    expect(entry?.attrs).toEqual({ entryUUID: ['1', '2'] });
    expect(canonicalAttributeName('entryUUID')).toBe('entryUUID');
    expect(canonicalAttributeName('ZIMBRAID')).toBe('zimbraId');
    expect(canonicalAttributeName('UID')).toBe('uid');
  });

  it('reads a file without a final newline and an empty file', () => {
    expect(parseLdif('dn: cn=a\ncn: a', 'f')).toHaveLength(1);
    expect(parseLdif('', 'f')).toEqual([]);
    expect(parseLdif('\n\n# only a comment\n', 'f')).toEqual([]);
  });

  it('ignores a byte order mark at the start', () => {
    expect(parseLdif('\uFEFFdn: cn=a\n', 'f')[0]?.dn).toBe('cn=a');
  });

  describe('errors name the file and the line where the offending line starts', () => {
    it('rejects a record that does not start with dn', () => {
      const error = parseError(ldif('dn: cn=a', '', 'cn: b', 'sn: c'));
      expect(error.code).toBe('E_LDIF');
      expect(error.message).toBe('in.ldif:3: the record does not start with "dn:" (found "cn:")');
      expect(error.hint).toContain('dn:');
    });

    it('points at the ldapsearch trailer when -LLL was forgotten', () => {
      const error = parseError(ldif('dn: cn=a', '', 'search: 2', 'result: 0 Success'));
      expect(error.message).toMatch(/^in\.ldif:3: /);
      expect(error.hint).toContain('ldapsearch -LLL');
    });

    it('rejects a second dn inside one record (a missing blank line)', () => {
      expect(parseError(ldif('dn: cn=a', 'cn: a', 'dn: cn=b')).message).toMatch(/^in\.ldif:3: /);
    });

    it('rejects a line without a colon', () => {
      const error = parseError(ldif('dn: cn=a', 'cn: a', 'garbage here'));
      expect(error.message).toBe('in.ldif:3: the line has no colon: "garbage here"');
    });

    it('names the first line of a folded line that is wrong', () => {
      expect(parseError(ldif('dn: cn=a', 'no colon', ' still none')).message).toMatch(
        /^in\.ldif:2: /,
      );
    });

    it('rejects an invalid attribute name', () => {
      expect(parseError(ldif('dn: cn=a', 'bad name: x')).message).toBe(
        'in.ldif:2: "bad name" is not a valid attribute name',
      );
    });

    it('rejects invalid base64', () => {
      const error = parseError(ldif('dn: cn=a', 'cn: a', 'description:: not*base64'));
      expect(error.message).toBe(
        'in.ldif:3: the base64 value of "description" is not valid base64',
      );
      expect(parseError(ldif('dn: cn=a', 'cn:: abc')).message).toMatch(/^in\.ldif:2: /);
      expect(parseError(ldif('dn:: !!!!')).message).toMatch(/^in\.ldif:1: /);
    });

    it('rejects a value given by URL and says it is not supported', () => {
      const error = parseError(ldif('dn: cn=a', 'jpegPhoto:< file:///tmp/a.jpg'));
      expect(error.message).toBe(
        'in.ldif:2: "jpegPhoto:<" (a value read from a URL) is not supported',
      );
    });

    it('rejects change records and asks for content LDIF', () => {
      const error = parseError(ldif('dn: cn=a', 'changetype: modify', 'replace: cn', 'cn: b', '-'));
      expect(error.message).toBe(
        'in.ldif:2: "changetype:" starts an LDIF change record; zmproxy reads content records only',
      );
      expect(error.hint).toContain('slapcat');
      expect(error.hint).toContain('ldapsearch -LLL');
    });

    it('rejects a control line right after dn as part of a change record', () => {
      expect(parseError(ldif('dn: cn=a', 'control: 1.2.3 true')).message).toMatch(
        /^in\.ldif:2: "control:" starts an LDIF change record/,
      );
    });

    it('rejects a continuation line at the start of the file', () => {
      const error = parseError(ldif(' cn=a', 'dn: cn=a'));
      expect(error.message).toBe(
        'in.ldif:1: a continuation line (starting with a space) has no line to continue',
      );
    });

    it('rejects a continuation line at the start of a record', () => {
      expect(parseError(ldif('dn: cn=a', '', ' x')).message).toMatch(/^in\.ldif:3: /);
    });

    it('counts lines with CRLF endings the same way', () => {
      expect(parseError('dn: cn=a\r\ncn: a\r\n\r\nbroken\r\n').message).toMatch(/^in\.ldif:4: /);
    });
  });

  it('parses a 10 000-domain export with certificates', () => {
    const cert = b64(`-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n`.repeat(12));
    const folded = (name: string, value: string): string => {
      const line = `${name}:: ${value}`;
      const parts = [line.slice(0, 76)];
      for (let i = 76; i < line.length; i += 75) parts.push(` ${line.slice(i, i + 75)}`);
      return parts.join('\n');
    };
    const record = (i: number): string =>
      [
        `dn: dc=d${i},dc=example,dc=com`,
        'objectClass: dcObject',
        'objectClass: zimbraDomain',
        `zimbraDomainName: d${i}.example.com`,
        `zimbraVirtualHostname: mail.d${i}.example.com`,
        folded('zimbraSSLCertificate', cert),
        folded('zimbraSSLPrivateKey', cert),
        '',
      ].join('\n');
    const text = Array.from({ length: 10_000 }, (_, i) => record(i)).join('\n');
    expect(text.length).toBeGreaterThan(25_000_000);
    // Speed is measured by npm run bench:gen; here, that a 25 MB export parses completely.
    const entries = parseLdif(text, 'big.ldif');
    expect(entries).toHaveLength(10_000);
    expect(entries[9_999]?.attrs['zimbraDomainName']).toEqual(['d9999.example.com']);
  });
});

describe('parseLdif: errors a security review found accepted', () => {
  it('refuses CR-only line endings with the line', () => {
    const error = parseError('dn: cn=config,cn=zimbra\rcn: config\r\r');
    expect(error.message).toMatch(/^in\.ldif:1: .*CR-only/);
  });

  it('refuses a single-valued attribute given twice, naming both lines', () => {
    const error = parseError(
      ldif('dn: cn=config,cn=zimbra', 'zimbraMailMode: https', 'zimbraMailMode: http'),
    );
    expect(error.message).toBe(
      'in.ldif:3: zimbraMailMode is single-valued but is given again (first at line 2)',
    );
  });

  it('refuses a base64 value of a catalog attribute that is not UTF-8, and keeps binary others', () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('base64');
    expect(
      parseError(ldif('dn: cn=config,cn=zimbra', `zimbraReverseProxyIpThrottleMsg:: ${latin1}`))
        .message,
    ).toBe('in.ldif:2: the base64 value of "zimbraReverseProxyIpThrottleMsg" is not UTF-8 text');
    expect(parseLdif(ldif('dn: cn=x', `jpegPhoto:: ${latin1}`), 'in.ldif')).toHaveLength(1);
  });
});
