/**
 * A small, strict parser for Zimbra's localconfig.xml: `<localconfig>` holding `<key name="…">`
 * elements with at most one `<value>` each. It accepts exactly that shape (plus an XML
 * declaration, comments, CDATA and the predefined and numeric entities) and names the line of
 * anything else, instead of pulling in a general XML dependency.
 */
import { ProxyConfError } from '../../errors.js';
import type { LocalConfig } from '../../model/localconfig-defaults.js';

const NAMED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const WHITESPACE = /[ \t\n]*/y;

const FORMAT_HINT =
  'localconfig.xml holds <localconfig> with <key name="..."><value>...</value></key> elements; fix the file or rewrite it with `zmlocalconfig -e key=value`';

/** A start tag as read: its name, attributes, and whether it closed itself (`<value/>`). */
interface StartTag {
  name: string;
  attrs: ReadonlyMap<string, string>;
  selfClosing: boolean;
  pos: number;
}

/** Parses localconfig.xml text into key → value; throws E_LOCALCONFIG naming `file:line`. */
export function parseLocalConfig(xml: string, file: string): LocalConfig {
  return new LocalConfigParser(xml, file).parse();
}

class LocalConfigParser {
  readonly #text: string;
  readonly #file: string;
  #pos = 0;

  constructor(xml: string, file: string) {
    // XML end-of-line handling: CRLF and lone CR read as LF (line numbers stay the same).
    this.#text = xml.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    this.#file = file;
  }

  parse(): LocalConfig {
    this.#skipWhitespace();
    if (this.#text.startsWith('<?xml', this.#pos)) {
      const end = this.#text.indexOf('?>', this.#pos);
      if (end < 0) this.#fail(this.#pos, 'the XML declaration is not closed with "?>"');
      this.#pos = end + 2;
    }
    this.#skipMisc();
    if (this.#pos >= this.#text.length)
      this.#fail(this.#pos, 'the file has no <localconfig> element');
    const root = this.#readStartTag();
    if (root.name !== 'localconfig') {
      this.#fail(root.pos, `expected <localconfig>, found <${root.name}>`);
    }
    const values = new Map<string, string>();
    if (!root.selfClosing) this.#readKeys(values);
    this.#skipMisc();
    if (this.#pos < this.#text.length) {
      this.#fail(this.#pos, 'unexpected content after </localconfig>');
    }
    return values;
  }

  #readKeys(values: Map<string, string>): void {
    /** Key name to the position of its first <key> tag (turned into a line only on error). */
    const keyPositions = new Map<string, number>();
    for (;;) {
      this.#skipMisc();
      if (this.#pos >= this.#text.length) {
        this.#fail(this.#pos, '<localconfig> is not closed (missing </localconfig>)');
      }
      if (this.#text.startsWith('</', this.#pos)) {
        this.#readEndTag('localconfig');
        return;
      }
      if (this.#text.charCodeAt(this.#pos) !== 0x3c /* '<' */) {
        this.#fail(this.#pos, 'unexpected text between keys');
      }
      const tag = this.#readStartTag();
      if (tag.name !== 'key') {
        this.#fail(tag.pos, `unexpected element <${tag.name}> inside <localconfig> (only <key>)`);
      }
      const name = tag.attrs.get('name');
      if (name === undefined || name === '') {
        this.#fail(tag.pos, '<key> has no name attribute');
      }
      const first = keyPositions.get(name);
      if (first !== undefined) {
        this.#fail(
          tag.pos,
          `key "${name}" is defined twice (first on line ${this.#lineAt(first)})`,
        );
      }
      keyPositions.set(name, tag.pos);
      values.set(name, tag.selfClosing ? '' : this.#readKeyBody(name));
    }
  }

  /** The content of `<key>` up to `</key>`: nothing, or one `<value>`. */
  #readKeyBody(key: string): string {
    let value: string | undefined;
    for (;;) {
      this.#skipMisc();
      if (this.#pos >= this.#text.length) {
        this.#fail(this.#pos, `<key name="${key}"> is not closed (missing </key>)`);
      }
      if (this.#text.startsWith('</', this.#pos)) {
        this.#readEndTag('key');
        return value ?? '';
      }
      if (this.#text.charCodeAt(this.#pos) !== 0x3c /* '<' */) {
        this.#fail(this.#pos, `unexpected text inside <key name="${key}"> (outside <value>)`);
      }
      const tag = this.#readStartTag();
      if (tag.name !== 'value') {
        this.#fail(tag.pos, `unexpected element <${tag.name}> inside <key> (only <value>)`);
      }
      if (value !== undefined) {
        this.#fail(tag.pos, `key "${key}" has more than one <value>`);
      }
      value = tag.selfClosing ? '' : this.#readValueText(key);
    }
  }

  /** Character data of `<value>` up to `</value>`: text, entities, CDATA; comments skipped. */
  #readValueText(key: string): string {
    const text = this.#text;
    const pieces: string[] = [];
    let runStart = this.#pos;
    for (;;) {
      const next = indexOfMarkup(text, this.#pos);
      if (next < 0)
        this.#fail(this.#pos, `<value> of key "${key}" is not closed (missing </value>)`);
      pieces.push(text.slice(runStart, next));
      this.#pos = next;
      if (text.charCodeAt(next) === 0x26 /* '&' */) {
        pieces.push(this.#readEntity());
      } else if (text.startsWith('<![CDATA[', next)) {
        const end = text.indexOf(']]>', next + 9);
        if (end < 0) this.#fail(next, 'CDATA section is not closed with "]]>"');
        pieces.push(text.slice(next + 9, end));
        this.#pos = end + 3;
      } else if (text.startsWith('<!--', next)) {
        this.#skipComment();
      } else if (text.startsWith('</', next)) {
        this.#readEndTag('value');
        return pieces.join('');
      } else {
        this.#fail(next, `unexpected markup inside <value> of key "${key}" (escape "<" as &lt;)`);
      }
      runStart = this.#pos;
    }
  }

  /** Decodes `&name;`, `&#NN;` or `&#xNN;` at the cursor. */
  #readEntity(): string {
    const start = this.#pos;
    const end = this.#text.indexOf(';', start);
    const body = end < 0 || end - start > 12 ? undefined : this.#text.slice(start + 1, end);
    if (body === undefined) this.#fail(start, 'a "&" that starts no entity (escape it as &amp;)');
    this.#pos = end + 1;
    const named = NAMED_ENTITIES.get(body);
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body);
    if (numeric === null) this.#fail(start, `unknown entity "&${body};"`);
    const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2]);
    if (!isXmlChar(code)) this.#fail(start, `"&${body};" is not a valid XML character`);
    return String.fromCodePoint(code);
  }

  #readStartTag(): StartTag {
    const pos = this.#pos;
    if (this.#text.charCodeAt(pos) !== 0x3c /* '<' */) this.#fail(pos, 'expected an element');
    if (this.#text.startsWith('<!DOCTYPE', pos) || this.#text.startsWith('<?', pos)) {
      this.#fail(pos, 'DOCTYPE declarations and processing instructions are not supported here');
    }
    this.#pos++;
    const name = this.#readName('an element name');
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.#pos;
      this.#skipWhitespace();
      if (this.#text.startsWith('/>', this.#pos)) {
        this.#pos += 2;
        return { name, attrs, selfClosing: true, pos };
      }
      if (this.#text.startsWith('>', this.#pos)) {
        this.#pos += 1;
        return { name, attrs, selfClosing: false, pos };
      }
      if (this.#pos === before) this.#fail(this.#pos, `malformed tag <${name}>`);
      const attr = this.#readName(`an attribute name in <${name}>`);
      this.#skipWhitespace();
      this.#expect('=', `"=" after attribute ${attr} in <${name}>`);
      this.#skipWhitespace();
      if (attrs.has(attr)) this.#fail(pos, `attribute ${attr} appears twice in <${name}>`);
      attrs.set(attr, this.#readAttributeValue(attr));
    }
  }

  #readAttributeValue(attr: string): string {
    const quote = this.#text[this.#pos];
    if (quote !== '"' && quote !== "'") this.#fail(this.#pos, `the value of ${attr} is not quoted`);
    const start = ++this.#pos;
    const end = this.#text.indexOf(quote, start);
    if (end < 0) this.#fail(start, `the value of ${attr} is not closed with ${quote}`);
    const pieces: string[] = [];
    let runStart = start;
    for (let i = start; i < end; i++) {
      const c = this.#text.charCodeAt(i);
      if (c === 0x3c /* '<' */)
        this.#fail(i, `"<" inside the value of ${attr} (escape it as &lt;)`);
      if (c === 0x26 /* '&' */) {
        pieces.push(this.#text.slice(runStart, i));
        this.#pos = i;
        pieces.push(this.#readEntity());
        i = this.#pos - 1;
        runStart = this.#pos;
      }
    }
    pieces.push(this.#text.slice(runStart, end));
    this.#pos = end + 1;
    return pieces.join('');
  }

  #readEndTag(name: string): void {
    const pos = this.#pos;
    this.#pos += 2;
    const found = this.#readName('an element name after "</"');
    if (found !== name) this.#fail(pos, `</${found}> where </${name}> was expected`);
    this.#skipWhitespace();
    this.#expect('>', `">" to close </${name}`);
  }

  #readName(what: string): string {
    NAME.lastIndex = this.#pos;
    const match = NAME.exec(this.#text);
    if (match === null) this.#fail(this.#pos, `expected ${what}`);
    this.#pos = NAME.lastIndex;
    return match[0];
  }

  #expect(token: string, what: string): void {
    if (!this.#text.startsWith(token, this.#pos)) this.#fail(this.#pos, `expected ${what}`);
    this.#pos += token.length;
  }

  #skipWhitespace(): void {
    WHITESPACE.lastIndex = this.#pos;
    WHITESPACE.exec(this.#text);
    this.#pos = WHITESPACE.lastIndex;
  }

  /** Skips whitespace and comments. */
  #skipMisc(): void {
    for (;;) {
      this.#skipWhitespace();
      if (!this.#text.startsWith('<!--', this.#pos)) return;
      this.#skipComment();
    }
  }

  #skipComment(): void {
    const end = this.#text.indexOf('-->', this.#pos + 4);
    if (end < 0) this.#fail(this.#pos, 'comment is not closed with "-->"');
    this.#pos = end + 3;
  }

  #lineAt(pos: number): number {
    let line = 1;
    for (let i = this.#text.indexOf('\n'); i >= 0 && i < pos; i = this.#text.indexOf('\n', i + 1)) {
      line++;
    }
    return line;
  }

  #fail(pos: number, message: string): never {
    throw new ProxyConfError('E_LOCALCONFIG', `${this.#file}:${this.#lineAt(pos)}: ${message}`, {
      hint: FORMAT_HINT,
    });
  }
}

const MARKUP = /[&<]/g;

/** The next `&` or `<` at or after `from`, or -1. */
function indexOfMarkup(text: string, from: number): number {
  MARKUP.lastIndex = from;
  return MARKUP.exec(text)?.index ?? -1;
}

/** XML 1.0 `Char`: what a character reference may produce. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}
