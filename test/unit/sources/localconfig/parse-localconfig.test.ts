import { describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../../../src/errors.js';
import { parseLocalConfig } from '../../../../src/sources/localconfig/parse-localconfig.js';

/** localconfig.xml as zmlocalconfig writes it, around the given key elements. */
const doc = (...keys: string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n\n<localconfig>\n${keys.join('\n')}\n</localconfig>\n`;
const key = (name: string, value: string): string =>
  `  <key name="${name}">\n    <value>${value}</value>\n  </key>`;

function parseError(xml: string, file = 'localconfig.xml'): ProxyConfError {
  try {
    parseLocalConfig(xml, file);
  } catch (error) {
    if (error instanceof ProxyConfError) return error;
    throw error;
  }
  throw new Error('expected parseLocalConfig to throw');
}

describe('parseLocalConfig', () => {
  it('reads keys and values in the zmlocalconfig format', () => {
    const lc = parseLocalConfig(
      doc(
        key('zimbra_server_hostname', 'mail.example.com'),
        key('ldap_url', 'ldap://a:389 ldap://b:389'),
      ),
      'lc.xml',
    );
    expect([...lc]).toEqual([
      ['zimbra_server_hostname', 'mail.example.com'],
      ['ldap_url', 'ldap://a:389 ldap://b:389'],
    ]);
  });

  it('works without an XML declaration and with comments anywhere', () => {
    const lc = parseLocalConfig(
      '<!-- top --><localconfig><!-- a --><key name="k"><!-- b --><value>v<!-- c -->w</value></key></localconfig><!-- end -->',
      'f',
    );
    expect(lc.get('k')).toBe('vw');
  });

  it('decodes the predefined and numeric entities', () => {
    const lc = parseLocalConfig(
      doc(key('k', '&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;'), key('a&amp;b', 'x')),
      'f',
    );
    expect(lc.get('k')).toBe(`&<>"'AB😀`);
    expect(lc.get('a&b')).toBe('x');
  });

  it('keeps CDATA content verbatim', () => {
    const lc = parseLocalConfig(doc(key('k', 'a<![CDATA[<b> & ]]>c')), 'f');
    expect(lc.get('k')).toBe('a<b> & c');
  });

  it('reads an empty value, a self-closing value and a key without value as empty', () => {
    const lc = parseLocalConfig(
      doc(
        '<key name="a"><value></value></key>',
        '<key name="b"><value/></key>',
        '<key name="c"></key>',
        '<key name="d"/>',
      ),
      'f',
    );
    expect(Object.fromEntries(lc)).toEqual({ a: '', b: '', c: '', d: '' });
  });

  it('keeps spaces inside a value and reads CRLF as LF', () => {
    const lc = parseLocalConfig(
      '<localconfig>\r\n<key name="k"><value> a\r\nb </value></key>\r\n</localconfig>',
      'f',
    );
    expect(lc.get('k')).toBe(' a\nb ');
  });

  it('accepts single-quoted attributes and an empty <localconfig/>', () => {
    expect(
      parseLocalConfig("<localconfig><key name='k'><value>v</value></key></localconfig>", 'f').get(
        'k',
      ),
    ).toBe('v');
    expect(parseLocalConfig('<localconfig/>', 'f').size).toBe(0);
  });

  describe('errors name the file and line', () => {
    it('rejects a value that is not closed', () => {
      const error = parseError(doc('  <key name="k">', '    <value>v', '  </key>'));
      expect(error.code).toBe('E_LOCALCONFIG');
      expect(error.message).toBe('localconfig.xml:6: </key> where </value> was expected');
      expect(error.hint).toContain('zmlocalconfig');
    });

    it('rejects an unknown entity', () => {
      expect(parseError(doc(key('a', 'x'), key('k', 'a &nbsp; b'))).message).toBe(
        'localconfig.xml:8: unknown entity "&nbsp;"',
      );
    });

    it('rejects a bare ampersand', () => {
      expect(parseError(doc(key('k', 'a & b'))).message).toBe(
        'localconfig.xml:5: a "&" that starts no entity (escape it as &amp;)',
      );
    });

    it('rejects a character reference to a character XML forbids', () => {
      expect(parseError(doc(key('k', '&#0;'))).message).toMatch(/^localconfig\.xml:5: /);
    });

    it('rejects a key without a name', () => {
      expect(parseError(doc('<key><value>v</value></key>')).message).toBe(
        'localconfig.xml:4: <key> has no name attribute',
      );
    });

    it('rejects a key defined twice, naming the first line', () => {
      expect(parseError(doc(key('k', 'a'), key('k', 'b'))).message).toBe(
        'localconfig.xml:7: key "k" is defined twice (first on line 4)',
      );
    });

    it('rejects a key with two values', () => {
      expect(
        parseError(doc('<key name="k"><value>a</value>', '<value>b</value></key>')).message,
      ).toBe('localconfig.xml:5: key "k" has more than one <value>');
    });

    it('rejects an element that is not a key', () => {
      expect(parseError(doc('<entry name="k"/>')).message).toBe(
        'localconfig.xml:4: unexpected element <entry> inside <localconfig> (only <key>)',
      );
    });

    it('rejects a wrong root element', () => {
      expect(parseError('<?xml version="1.0"?>\n<config/>').message).toBe(
        'localconfig.xml:2: expected <localconfig>, found <config>',
      );
    });

    it('rejects text outside values, a missing end tag and content after the root', () => {
      expect(parseError('<localconfig>\nstray</localconfig>').message).toBe(
        'localconfig.xml:2: unexpected text between keys',
      );
      expect(parseError('<localconfig>\n<key name="k"/>\n').message).toBe(
        'localconfig.xml:3: <localconfig> is not closed (missing </localconfig>)',
      );
      expect(parseError('<localconfig/>\n<localconfig/>').message).toBe(
        'localconfig.xml:2: unexpected content after </localconfig>',
      );
    });

    it('rejects an unclosed comment or CDATA section', () => {
      expect(parseError('<localconfig>\n<!-- open').message).toBe(
        'localconfig.xml:2: comment is not closed with "-->"',
      );
      expect(parseError(doc('<key name="k"><value><![CDATA[x</value></key>')).message).toBe(
        'localconfig.xml:4: CDATA section is not closed with "]]>"',
      );
    });

    it('rejects markup inside a value', () => {
      expect(parseError(doc(key('k', 'a<b>c</b>'))).message).toBe(
        'localconfig.xml:5: unexpected markup inside <value> of key "k" (escape "<" as &lt;)',
      );
    });

    it('rejects an empty file', () => {
      expect(parseError('').message).toBe(
        'localconfig.xml:1: the file has no <localconfig> element',
      );
    });
  });
});
