import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWarning, WARNING_CODES } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('warning codes', () => {
  const codes = Object.keys(WARNING_CODES).sort();

  it('are listed in docs/warnings.md, each once, and nothing else is', () => {
    const doc = readFileSync(join(ROOT, 'docs/warnings.md'), 'utf8');
    const listed = [...doc.matchAll(/^\| `(W_[A-Z0-9_]+)` +\|/gm)].map((match) => match[1]);
    expect([...listed].sort()).toEqual(codes);
  });

  it('are each raised somewhere in src/ (no stale code)', () => {
    const text = sourceFiles(join(ROOT, 'src'))
      .filter((file) => !file.endsWith('/errors.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(codes.filter((code) => !text.includes(`'${code}'`))).toEqual([]);
  });

  it('are printed before the message', () => {
    expect(formatWarning({ code: 'W_CERT_EXPIRING', message: 'x: expires soon' })).toBe(
      'warning[W_CERT_EXPIRING]: x: expires soon',
    );
  });
});
