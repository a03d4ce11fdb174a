import { describe, expect, it } from 'vitest';
import type { FillResult } from '../../../src/render/index.js';
import {
  compileTokens,
  fillCompiled,
  fillTemplate,
  findLastToken,
} from '../../../src/render/interpolate.js';

/** Resolves from a plain object; unknown names become "" as in Zimbra. */
function from(vars: Record<string, string>): (name: string) => string {
  return (name) => (Object.hasOwn(vars, name) ? vars[name]! : '');
}

function fill(line: string, vars: Record<string, string>, max?: number): string {
  const result = fillTemplate(line, from(vars), max);
  if (!result.ok) throw new Error(`runaway on ${result.variable}`);
  return result.text;
}

/** StringUtil.fillTemplate's algorithm, written with the same regex and a substitution limit. */
function referenceFill(line: string, resolve: (name: string) => string, max: number): FillResult {
  const pattern = /^([\s\S]*)\$\{([^}]+)\}([\s\S]*)$/;
  let text = line;
  let count = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [, prefix, name, suffix] = match as unknown as [string, string, string, string];
    if (++count > max) return { ok: false, variable: name };
    text = prefix + resolve(name) + suffix;
  }
  return { ok: true, text };
}

/** A small deterministic PRNG (mulberry32) so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fillTemplate', () => {
  it('replaces every token of a line', () => {
    expect(fill('listen ${vip}${port} ssl;', { vip: '10.0.0.1:', port: '443' })).toBe(
      'listen 10.0.0.1:443 ssl;',
    );
  });

  it('replaces the last token first', () => {
    const order: string[] = [];
    fillTemplate('${a} ${b} ${c}', (name) => {
      order.push(name);
      return name;
    });
    expect(order).toEqual(['c', 'b', 'a']);
  });

  it('expands tokens found in a value by rescanning the whole line', () => {
    expect(fill('${listen}', { listen: 'listen ${host}:${port};', host: 'h', port: '443' })).toBe(
      'listen h:443;',
    );
  });

  it('builds a new token from a value and the text around it', () => {
    // `${a` + value of b (`x`) + `}` becomes `${ax}`.
    expect(fill('${a${b}}', { b: 'x', ax: 'joined' })).toBe('joined');
  });

  it('takes the name up to the first closing brace', () => {
    expect(fill('${a{b}c}', { 'a{b': 'V' })).toBe('Vc}');
  });

  it('accepts any character but a closing brace in a name', () => {
    expect(
      fill('${web.upstream.:servers} ${mail.sasl_host_from_ip}', {
        'web.upstream.:servers': 'S',
        'mail.sasl_host_from_ip': 'T',
      }),
    ).toBe('S T');
  });

  it('leaves an empty name alone', () => {
    expect(fill('a ${} b', {})).toBe('a ${} b');
  });

  it('treats ${ followed by ${} as a token named "${"', () => {
    // The regex finds no name in the inner `${}`, so the outer opener's name runs to the `}`.
    expect(fill('${${}', { '${': 'X' })).toBe('X');
  });

  it('leaves a backslash-escaped token verbatim', () => {
    expect(fill('# see $\\{listen.:addresses\\}', { 'listen.:addresses': 'x' })).toBe(
      '# see $\\{listen.:addresses\\}',
    );
  });

  it('leaves nginx variables without braces untouched', () => {
    expect(fill('proxy_set_header Host $host:$1;', {})).toBe('proxy_set_header Host $host:$1;');
  });

  it('inserts multi-line values verbatim', () => {
    expect(fill('    ${servers}', { servers: 'server a;\n        server b;\n' })).toBe(
      '    server a;\n        server b;\n',
    );
  });

  it('expands an unknown name to what the resolver returns', () => {
    expect(fill('[${nope}]', {})).toBe('[]');
  });

  it('gives up with the variable name when a value contains its own token', () => {
    expect(fillTemplate('x ${loop} y', from({ loop: 'again ${loop}' }), 100)).toEqual({
      ok: false,
      variable: 'loop',
    });
  });

  it('allows exactly the configured number of substitutions', () => {
    const vars = { a: '${b}', b: '${c}', c: 'end' };
    expect(fillTemplate('${a}', from(vars), 3)).toEqual({ ok: true, text: 'end' });
    expect(fillTemplate('${a}', from(vars), 2)).toEqual({ ok: false, variable: 'c' });
  });

  it('matches the regex-based algorithm on random text', () => {
    const next = random(20240611);
    const mismatches: unknown[] = [];
    let changed = 0;
    let runaway = 0;
    let fast = 0;
    // Single characters of the alphabet `$ { } a b \ newline`, plus a few ready-made tokens so
    // that most samples substitute something and some values recurse.
    const pieces = ['$', '{', '}', 'a', 'b', '\\', '\n', '${', '${a}', '${b}', '${ab}', '${${}'];
    const pick = (length: number) =>
      Array.from({ length }, () => pieces[Math.floor(next() * pieces.length)]!).join('');
    for (let round = 0; round < 300; round++) {
      // A fresh variable map per round: short names and random values, some of them tokens.
      const vars: Record<string, string> = {};
      for (const name of ['a', 'b', 'ab', 'ba', '$', '{', 'a{', 'a$', '\\', 'a\nb', '${']) {
        if (next() < 0.7) vars[name] = pick(Math.floor(next() * 4));
      }
      const resolve = from(vars);
      for (let sample = 0; sample < 100; sample++) {
        const line = pick(Math.floor(next() * 16));
        const expected = JSON.stringify(referenceFill(line, resolve, 50));
        const actual = JSON.stringify(fillTemplate(line, resolve, 50));
        if (actual !== expected) mismatches.push({ line, vars, expected, actual });
        // The fast path, where it applies, must agree too.
        const segments = compileTokens(line);
        const compiled = segments && fillCompiled(segments, resolve, 50);
        if (compiled !== undefined) {
          fast++;
          const viaFastPath = JSON.stringify({ ok: true, text: compiled });
          if (viaFastPath !== expected) mismatches.push({ line, vars, expected, viaFastPath });
        }
        if (expected.startsWith('{"ok":false')) runaway++;
        else if (expected !== JSON.stringify({ ok: true, text: line })) changed++;
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    // The samples must exercise substitution, the fast path and the guard, not just pass through.
    expect(changed).toBeGreaterThan(10_000);
    expect(runaway).toBeGreaterThan(1_000);
    expect(fast).toBeGreaterThan(1_000);
  });
});

describe('findLastToken', () => {
  it('finds the last opener that has a non-empty name and a closing brace', () => {
    expect(findLastToken('${a} ${b} ${} ${')).toEqual({ start: 5, end: 9, name: 'b' });
  });

  it('finds nothing in a long run of openers without a closing brace, quickly', () => {
    const line = '${'.repeat(200_000);
    const started = performance.now();
    expect(findLastToken(line)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('finds header directives with another opener', () => {
    expect(findLastToken('x !{explode server(docs)} y', '!{')?.name).toBe('explode server(docs)');
  });
});
