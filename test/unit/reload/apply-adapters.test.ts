import { spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatApplyMetrics } from '../../../src/engine/apply-metrics.js';
import { contentHash } from '../../../src/plan/plan-changes.js';
import { createGenerationStore } from '../../../src/reload/generation-store.js';
import { createRunLock } from '../../../src/reload/run-lock.js';
import { testdir } from '../../helpers/testdir.js';

const META = { hash: 'h', createdAt: 0, server: 's', counts: {} };

describe('generation store', () => {
  it('stages a complete directory and switches the current symlink to it', async () => {
    const dir = testdir();
    const store = createGenerationStore({
      liveDir: join(dir, 'current'),
      generationsDir: join(dir, 'generations'),
    });
    expect(await store.current()).toBeUndefined();
    const main = await store.stage(
      '1',
      [
        { path: 'nginx.conf', content: 'main\n', mode: 0o644 },
        { path: 'domaincerts/a.key', content: 'key\n', mode: 0o600 },
      ],
      'marker\n',
      { id: '1', ...META },
    );
    expect(main).toBe(join(dir, 'generations/1/nginx.conf'));
    expect(statSync(join(dir, 'generations/1/domaincerts/a.key')).mode & 0o777).toBe(0o600);
    await store.switchTo('1');
    expect(readlinkSync(join(dir, 'current'))).toBe('generations/1');
    expect(lstatSync(join(dir, 'current')).isSymbolicLink()).toBe(true);
    expect(await store.current()).toBe('1');
    expect([...(await store.readFiles('1')).keys()].sort()).toEqual([
      'domaincerts/a.key',
      'nginx.conf',
    ]);
    expect((await store.readMeta('1'))?.hash).toBe('h');
    await store.remove('1');
    expect(await store.list()).toEqual(['1']);
  });
});

describe('generation store: manifest', () => {
  async function staged() {
    const dir = testdir();
    const store = createGenerationStore({
      liveDir: join(dir, 'current'),
      generationsDir: join(dir, 'generations'),
    });
    await store.stage(
      '1',
      [
        { path: 'nginx.conf', content: 'main\n', mode: 0o644 },
        { path: 'domaincerts/a.key', content: 'key\n', mode: 0o600 },
      ],
      'marker\n',
      { id: '1', ...META },
    );
    return { dir, store };
  }

  it('gives hashes, not contents, for the files its manifest vouches for', async () => {
    const { store } = await staged();
    const files = await store.readFiles('1');
    expect(files.get('nginx.conf')).toEqual({ hash: contentHash('main\n'), mode: 0o644 });
    expect(files.get('domaincerts/a.key')).toEqual({ hash: contentHash('key\n'), mode: 0o600 });
  });

  it('reads a file changed behind its back, and every file when the manifest is damaged', async () => {
    const { dir, store } = await staged();
    writeFileSync(join(dir, 'generations/1/nginx.conf'), 'edited by hand\n');
    const edited = await store.readFiles('1');
    expect(edited.get('nginx.conf')).toEqual({ content: 'edited by hand\n', mode: 0o644 });
    expect(edited.get('domaincerts/a.key')?.hash).toBe(contentHash('key\n'));
    writeFileSync(join(dir, 'generations/1/zmproxy-manifest.json'), '{"version":1,"files":');
    const damaged = await store.readFiles('1');
    expect(damaged.get('domaincerts/a.key')).toEqual({ content: 'key\n', mode: 0o600 });
  });
});

describe('generation store: symlinked directories', () => {
  function setup() {
    const dir = testdir();
    const elsewhere = testdir();
    mkdirSync(join(dir, 'nginx'));
    const store = createGenerationStore({
      liveDir: join(dir, 'nginx/current'),
      generationsDir: join(dir, 'nginx/generations'),
    });
    return { dir, elsewhere, store };
  }
  const stageOne = (store: ReturnType<typeof createGenerationStore>, id: string) =>
    store.stage(id, [{ path: 'k.key', content: 'secret\n', mode: 0o600 }], 'm\n', {
      id,
      ...META,
    });

  it('refuses to stage into a generations directory replaced by a link', async () => {
    const { dir, elsewhere, store } = setup();
    symlinkSync(elsewhere, join(dir, 'nginx/generations'));
    await expect(stageOne(store, '1')).rejects.toMatchObject({ code: 'E_WRITE' });
    await expect(stageOne(store, '1')).rejects.toThrow(/is a symlink/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('refuses to prune through a link, and leaves the link target alone', async () => {
    const { dir, elsewhere, store } = setup();
    await stageOne(store, '1');
    await stageOne(store, '2');
    await store.switchTo('2');
    mkdirSync(join(elsewhere, '1'));
    writeFileSync(join(elsewhere, '1/keep'), 'x');
    rmSync(join(dir, 'nginx/generations/1'), { recursive: true });
    renameSync(join(dir, 'nginx/generations'), join(dir, 'nginx/old'));
    symlinkSync(elsewhere, join(dir, 'nginx/generations'));
    await expect(store.remove('1')).rejects.toMatchObject({ code: 'E_WRITE' });
    await expect(store.list()).rejects.toMatchObject({ code: 'E_WRITE' });
    expect(readdirSync(join(elsewhere, '1'))).toEqual(['keep']);
  });

  it('refuses a conf/nginx directory replaced by a link', async () => {
    const { dir, elsewhere, store } = setup();
    rmSync(join(dir, 'nginx'), { recursive: true });
    symlinkSync(elsewhere, join(dir, 'nginx'));
    await expect(stageOne(store, '1')).rejects.toMatchObject({ code: 'E_WRITE' });
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('run lock', () => {
  it('lets one holder in and tells the next one who holds it', async () => {
    const file = join(testdir(), 'lock');
    const first = await createRunLock(file).acquire(0);
    expect('release' in first).toBe(true);
    const second = await createRunLock(file).acquire(150);
    expect(second).toMatchObject({
      holder: expect.stringContaining(`pid ${process.pid}`) as string,
    });
    if ('release' in first) await first.release();
    const third = await createRunLock(file).acquire(0);
    expect('release' in third).toBe(true);
  });

  it('breaks the lock of a process that is gone', async () => {
    const file = join(testdir(), 'lock');
    const dead = spawnSync('true').pid ?? 999_999;
    writeFileSync(file, `${dead} 1 ${Date.now()}\n`);
    const lock = await createRunLock(file).acquire(0);
    expect('release' in lock).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(`${process.pid} `);
  });
});

describe('metrics', () => {
  it('prints counters, the config hash and phase durations in Prometheus text', () => {
    const text = formatApplyMetrics({
      runs: 3,
      reloads: 2,
      reloadFailures: 0,
      validationFailures: 1,
      guardRefusals: 0,
      directoryFailures: 0,
      durations: { render: 0.02, total: 0.3 },
      lastSuccessAt: 1_700_000_000_000,
      configHash: 'abc',
      generation: '7',
    });
    expect(text).toContain('zmproxy_apply_reloads_total 2');
    expect(text).toContain('zmproxy_apply_validation_failures_total 1');
    expect(text).toContain('zmproxy_apply_config_info{hash="abc",generation="7"} 1');
    expect(text).toContain('zmproxy_apply_last_success_timestamp_seconds 1700000000');
    expect(text).toContain('zmproxy_apply_duration_seconds{phase="render"} 0.02');
  });
});
