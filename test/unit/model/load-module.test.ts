import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NginxDirective } from '../../../src/model/load-module.js';
import { findIncludes, nginxDirectives } from '../../../src/model/load-module.js';

/** nginx's tokenising, a character at a time: the plain reference the fast one must equal. */
function reference(text: string): NginxDirective[] {
  const directives: NginxDirective[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '#' && !inWord) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      inWord = true;
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        word += text[i] ?? '';
      }
    } else if (c === ';' || c === '{' || c === '}') {
      endWord();
      const [name, ...args] = words;
      if (name !== undefined) directives.push({ name, args });
      words = [];
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      if (c === '\\' && i + 1 < text.length) i++;
      word += text[i] ?? '';
      inWord = true;
    }
  }
  return directives;
}

describe('nginxDirectives', () => {
  it('tokenises quotes, escapes, comments and blocks as nginx does', () => {
    const text = `load_module "/a b/m.so"; # c ; d\nhttp { include a\\;b.conf; x 'q"#;'a#b ; }\n`;
    expect(nginxDirectives(text)).toEqual([
      { name: 'load_module', args: ['/a b/m.so'] },
      { name: 'http', args: [] },
      { name: 'include', args: ['a;b.conf'] },
      { name: 'x', args: ['q"#;a#b'] },
    ]);
    expect(findIncludes(text)).toEqual(['a;b.conf']);
  });

  it('gives what the character-at-a-time reference gives, on random texts', () => {
    const alphabet = ['a', 'b', ' ', '\n', '\t', ';', '{', '}', '#', '"', "'", '\\', 'x', '\u00a0'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 40);
      const text = Array.from(
        { length },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
      expect({ text, directives: nginxDirectives(text) }).toEqual({
        text,
        directives: reference(text),
      });
    }
  });

  it('gives what the reference gives on every golden output', () => {
    const root = new URL('../../golden/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (!name.endsWith('.ts')) files.push(path);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(nginxDirectives(text)).toEqual(reference(text));
    }
  });
});
