import { describe, expect, it } from 'vitest';
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
type ReferenceResult = { ok: true; text: string } | { ok: false; variable: string };

function referenceFill(
  line: string,
  resolve: (name: string) => string,
  max: number,
): ReferenceResult {
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

  it('reports a value that contains its own token as a cycle, at once', () => {
    expect(fillTemplate('x ${loop} y', from({ loop: 'again ${loop}' }))).toEqual({
      ok: false,
      reason: 'cycle',
      variable: 'loop',
      chain: ['loop', 'loop'],
    });
  });

  it('names every variable of a longer cycle', () => {
    expect(fillTemplate('${a}', from({ a: '<${b}>', b: '${c}', c: 'x${a}' }))).toMatchObject({
      ok: false,
      reason: 'cycle',
      chain: ['a', 'b', 'c', 'a'],
    });
  });

  it('renders a long finite expansion: 10 001 tokens on one line', () => {
    const line = '${a}'.repeat(10_001);
    expect(fill(line, { a: 'x' })).toBe('x'.repeat(10_001));
  });

  it('renders a value doubled 13 times (8 192 characters, 16 383 substitutions)', () => {
    const vars: Record<string, string> = { n13: 'x' };
    for (let i = 12; i >= 0; i--) vars[`n${i}`] = `\${n${i + 1}}\${n${i + 1}}`;
    expect(fill('${n0}', vars)).toBe('x'.repeat(8_192));
  });

  it('expands a token rebuilt from a value and the text after it when that ends', () => {
    // `$${a}` with a = `{a}` gives `${a}` once more, which then gives `{a}`: finite in Zimbra too.
    expect(fill('$${a}', { a: '{a}' })).toBe('{a}');
  });

  it('allows exactly the configured number of substitutions', () => {
    const vars = { a: '${b}', b: '${c}', c: 'end' };
    expect(fillTemplate('${a}', from(vars), 3)).toEqual({ ok: true, text: 'end' });
    expect(fillTemplate('${a}', from(vars), 2)).toEqual({
      ok: false,
      reason: 'limit',
      variable: 'c',
      chain: ['c'],
    });
  });

  it('matches the regex-based algorithm on random text', () => {
    const next = random(20240611);
    const mismatches: unknown[] = [];
    let changed = 0;
    let runaway = 0;
    let fast = 0;
    let cycles = 0;
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
        const reference = referenceFill(line, resolve, 60);
        const expected = JSON.stringify(reference.ok ? reference : { ok: false });
        const result = fillTemplate(line, resolve, 60);
        const actual = JSON.stringify(result.ok ? result : { ok: false });
        // Every finite expansion gives Zimbra's text; a cycle is reported only where Zimbra's
        // algorithm really runs past any limit.
        if (actual !== expected) mismatches.push({ line, vars, expected, actual });
        if (!result.ok && result.reason === 'cycle') cycles++;
        // The fast path, where it applies, must agree too.
        const segments = compileTokens(line);
        const compiled = segments && fillCompiled(segments, resolve, 60);
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
    // Most runaways are caught as cycles, long before the limit.
    expect(cycles).toBeGreaterThan(runaway * 0.9);
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
