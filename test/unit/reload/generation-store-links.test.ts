import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATION_MARKER_FILE } from '../../../src/model/paths.js';
import { contentHash } from '../../../src/plan/plan-changes.js';
import type { GenerationStoreOptions } from '../../../src/reload/generation-store.js';
import { createGenerationStore, TRASH_DIR } from '../../../src/reload/generation-store.js';
import { testdir } from '../../helpers/testdir.js';

const META = { hash: 'h', createdAt: 0, server: 's', counts: {} };

function setup(more: Partial<GenerationStoreOptions> = {}) {
  const dir = testdir();
  const generations = join(dir, 'generations');
  const store = createGenerationStore({
    liveDir: join(dir, 'current'),
    generationsDir: generations,
    ...more,
  });
  const inode = (id: string, path: string) => statSync(join(generations, id, path)).ino;
  const text = (id: string, path: string) => readFileSync(join(generations, id, path), 'utf8');
  return { dir, generations, store, inode, text };
}

const FIRST = [
  { path: 'nginx.conf', content: 'main\n', mode: 0o644 },
  { path: 'domaincerts/a.crt', content: 'crt a\n', mode: 0o644 },
  { path: 'domaincerts/a.key', content: 'key a\n', mode: 0o600 },
  { path: 'domaincerts/b.key', content: 'key b\n', mode: 0o600 },
];
const SECOND = [
  { path: 'nginx.conf', content: 'main, changed\n', mode: 0o644 },
  { path: 'domaincerts/a.crt', content: 'crt a\n', mode: 0o644 },
  { path: 'domaincerts/a.key', content: 'key a\n', mode: 0o600 },
  // Same bytes, another mode: a link would share the mode, so it is written.
  { path: 'domaincerts/b.key', content: 'key b\n', mode: 0o640 },
  { path: 'domaincerts/c.key', content: 'key c\n', mode: 0o600 },
];

describe('generation store: staging links unchanged files', () => {
  it('hard-links the files identical to the served generation and writes the others', async () => {
    const { store, inode, text } = setup();
    await store.stage('1', FIRST, 'marker 1\n', { id: '1', ...META });
    await store.switchTo('1');
    await store.stage('2', SECOND, 'marker 2\n', { id: '2', ...META });
    expect(inode('2', 'domaincerts/a.crt')).toBe(inode('1', 'domaincerts/a.crt'));
    expect(inode('2', 'domaincerts/a.key')).toBe(inode('1', 'domaincerts/a.key'));
    expect(inode('2', 'nginx.conf')).not.toBe(inode('1', 'nginx.conf'));
    expect(inode('2', 'domaincerts/b.key')).not.toBe(inode('1', 'domaincerts/b.key'));
    expect(inode('2', GENERATION_MARKER_FILE)).not.toBe(inode('1', GENERATION_MARKER_FILE));
    for (const file of SECOND) expect(text('2', file.path)).toBe(file.content);
    expect(text('2', GENERATION_MARKER_FILE)).toBe('marker 2\n');
    expect(text('1', 'nginx.conf')).toBe('main\n');
    // The new manifest vouches for linked and written files alike.
    const files = await store.readFiles('2');
    for (const file of SECOND) {
      expect(files.get(file.path)).toEqual({ hash: contentHash(file.content), mode: file.mode });
    }
  });

  it('writes a file whose served copy was edited behind its back', async () => {
    const { generations, store, inode, text } = setup();
    await store.stage('1', FIRST, 'marker 1\n', { id: '1', ...META });
    await store.switchTo('1');
    writeFileSync(join(generations, '1/domaincerts/a.key'), 'edited\n');
    await store.stage('2', SECOND, 'marker 2\n', { id: '2', ...META });
    expect(inode('2', 'domaincerts/a.key')).not.toBe(inode('1', 'domaincerts/a.key'));
    expect(text('2', 'domaincerts/a.key')).toBe('key a\n');
    expect(inode('2', 'domaincerts/a.crt')).toBe(inode('1', 'domaincerts/a.crt'));
  });

  it('falls back to writing when a link fails', async () => {
    const attempts: string[] = [];
    const { store, inode, text } = setup({
      linkFile: (_existing, created) => {
        attempts.push(created);
        throw Object.assign(new Error('EXDEV: cross-device link not permitted'), {
          code: 'EXDEV',
        });
      },
    });
    await store.stage('1', FIRST, 'marker 1\n', { id: '1', ...META });
    await store.switchTo('1');
    await store.stage('2', SECOND, 'marker 2\n', { id: '2', ...META });
    expect(attempts.length).toBe(2);
    // Tried for the two unchanged files, each written instead, with its own mode.
    expect(attempts.map((path) => path.slice(path.indexOf('/2/') + 3))).toEqual([
      'domaincerts/a.crt',
      'domaincerts/a.key',
    ]);
    for (const file of SECOND) expect(text('2', file.path)).toBe(file.content);
    expect(inode('2', 'domaincerts/a.key')).not.toBe(inode('1', 'domaincerts/a.key'));
    expect(statSync(attempts[1]!).mode & 0o777).toBe(0o600);
    expect((await store.readFiles('2')).get('domaincerts/a.key')).toEqual({
      hash: contentHash('key a\n'),
      mode: 0o600,
    });
  });
});

describe('generation store: pruning', () => {
  it('takes a removed generation out at once and deletes it in the background', async () => {
    const { generations, store, inode } = setup();
    await store.stage('1', FIRST, 'marker 1\n', { id: '1', ...META });
    await store.switchTo('1');
    await store.stage('2', SECOND, 'marker 2\n', { id: '2', ...META });
    await store.switchTo('2');
    const shared = inode('2', 'domaincerts/a.key');
    await store.remove('2');
    expect(await store.list()).toEqual(['1', '2']);
    await store.remove('1');
    expect(await store.list()).toEqual(['2']);
    expect(existsSync(join(generations, '1'))).toBe(false);
    for (let i = 0; i < 200 && readdirSync(join(generations, TRASH_DIR)).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(readdirSync(join(generations, TRASH_DIR))).toEqual([]);
    // The served generation's link to a shared file survives.
    expect(inode('2', 'domaincerts/a.key')).toBe(shared);
    expect(readFileSync(join(generations, '2/domaincerts/a.key'), 'utf8')).toBe('key a\n');
  });
});
