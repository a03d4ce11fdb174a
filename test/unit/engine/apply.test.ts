import { describe, expect, it } from 'vitest';
import type { ApplyDeps } from '../../../src/engine/apply.js';
import {
  checkGuard,
  computeGenerationFiles,
  computeGuardCounts,
  renderGenerationMarker,
  runApply,
} from '../../../src/engine/apply.js';
import type { Generation } from '../../../src/engine/generate.js';
import { ProxyConfError } from '../../../src/errors.js';
import { resolvePaths } from '../../../src/model/paths.js';
import { EMPTY_APPLY_STATE } from '../../../src/ports.js';
import type { ApplyState, GenerationMeta, NginxTestResult } from '../../../src/ports.js';

const PATHS = resolvePaths({ workdir: '/w', generationLayout: true });

function generation(content: string, vars: Record<string, string> = {}): Generation {
  return {
    files: [
      {
        path: '/w/conf/nginx.conf',
        content: 'http {\n    include zmproxy-generation.conf;\n}\n',
        mode: 0o644,
      },
      { path: 'includes/nginx.conf.web', content, mode: 0o644 },
    ],
    warnings: [],
    vars: new Map(
      Object.entries({
        'main.pidfile': '/w/log/nginx.pid',
        'main.logfile': '/w/log/nginx.log',
        'stock.generation.listen': '127.0.0.1:7078',
        'zmlookup.:handlers': 'http://10.0.0.1:7072/ http://10.0.0.2:7072/',
        ...vars,
      }),
    ),
    server: 'proxy',
    paths: PATHS,
    snapshot: {
      globalConfig: { dn: '', attributes: new Map() },
      servers: [],
      domains: [],
    } as never,
  };
}

/** An in-memory world: generations, a fake nginx serving what it last loaded, a clock. */
function world(
  options: {
    testOk?: boolean;
    running?: boolean;
    /** How long nginx -t takes (fake clock). */
    testMs?: number;
    /** How long the master takes to read a configuration after SIGHUP (fake clock). */
    reloadMs?: number;
  } = {},
) {
  let reloadBreaks = false;
  // A reload in progress: what nginx will serve, and from when (the master is busy until then).
  let pending: { target: string | undefined; at: number } | undefined;
  const settle = () => {
    if (pending !== undefined && now >= pending.at) {
      served = pending.target;
      pending = undefined;
    }
  };
  const dirs = new Map<
    string,
    { files: Map<string, { content: string; mode: number }>; meta: GenerationMeta }
  >();
  let current: string | undefined;
  let served: string | undefined;
  let now = 1_000_000;
  const events: string[] = [];
  let state: ApplyState = { ...EMPTY_APPLY_STATE, durations: {} };
  let locked = false;
  let render: () => Promise<Generation> = () => Promise.resolve(generation('a'));
  const deps: ApplyDeps = {
    render: () => render(),
    generations: {
      current: () => Promise.resolve(current),
      list: () => Promise.resolve([...dirs.keys()].sort((a, b) => Number(a) - Number(b))),
      readMeta: (id) => Promise.resolve(dirs.get(id)?.meta),
      readFiles: (id) => Promise.resolve(new Map(dirs.get(id)?.files ?? [])),
      stage: (id, files, _marker, meta) => {
        events.push(`stage ${id}`);
        dirs.set(id, {
          files: new Map(files.map((f) => [f.path, { content: f.content, mode: f.mode }])),
          meta,
        });
        return Promise.resolve(`/w/conf/nginx/generations/${id}/nginx.conf`);
      },
      switchTo: (id) => {
        events.push(`switch ${id}`);
        current = id;
        return Promise.resolve();
      },
      remove: (id) => {
        events.push(`remove ${id}`);
        dirs.delete(id);
        return Promise.resolve();
      },
    },
    nginx: {
      test: (): Promise<NginxTestResult> => {
        now += options.testMs ?? 0;
        return Promise.resolve(
          options.testOk === false
            ? { ok: false, output: 'nginx: [emerg] duplicate', timedOut: false }
            : { ok: true, output: '', timedOut: false },
        );
      },
      masterPid: () => Promise.resolve(options.running === false ? undefined : 42),
      reload: () => {
        events.push('reload');
        // A broken reload keeps serving what was served (as nginx does after a failed bind).
        const target = !reloadBreaks || current !== [...dirs.keys()].pop() ? current : served;
        if (options.reloadMs === undefined) served = target;
        // A second SIGHUP queues behind the reload the master is still doing.
        else pending = { target, at: Math.max(pending?.at ?? now, now) + options.reloadMs };
        return Promise.resolve();
      },
      servedGeneration: () => {
        settle();
        return Promise.resolve(served);
      },
      // CPU time grows while the master reads a configuration.
      masterCpuTicks: () => {
        settle();
        return Promise.resolve(pending === undefined ? 0 : Math.floor(now / 10));
      },
      errorLogMark: () => Promise.resolve(0),
      errorsSince: () => Promise.resolve([]),
    },
    lock: {
      acquire: () => {
        if (locked) return Promise.resolve({ holder: 'pid 1' });
        locked = true;
        return Promise.resolve({
          release: () => {
            locked = false;
            return Promise.resolve();
          },
        });
      },
    },
    state: {
      read: () => Promise.resolve(state),
      write: (next) => {
        state = next;
        return Promise.resolve();
      },
    },
    clock: {
      now: () => now,
      sleep: (ms) => {
        now += ms;
        return Promise.resolve();
      },
    },
  };
  return {
    deps,
    events,
    dirs,
    get current() {
      return current;
    },
    get served() {
      return served;
    },
    set served(id: string | undefined) {
      served = id;
    },
    get state() {
      return state;
    },
    setRender(fn: () => Promise<Generation>) {
      render = fn;
    },
    advance(ms: number) {
      now += ms;
    },
    lock() {
      locked = true;
    },
    breakReloads() {
      reloadBreaks = true;
    },
  };
}

describe('runApply', () => {
  it('reports a state file it cannot write as a warning and still returns the pass', async () => {
    const w = world();
    w.deps.state = {
      ...w.deps.state,
      write: () => Promise.reject(new Error('ENOSPC: no space left')),
    };
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('reloaded');
    expect(result.warnings.map((x) => x.message)).toContainEqual(
      'cannot write the apply state: ENOSPC: no space left',
    );
  });

  it('publishes the first generation, reloads and confirms it', async () => {
    const w = world();
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('reloaded');
    expect(w.events).toEqual(['stage 1', 'switch 1', 'reload']);
    expect(w.served).toBe('1');
    expect(w.state.reloads).toBe(1);
  });

  it('writes nothing and reloads nothing when nothing changed', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.events.length = 0;
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('unchanged');
    expect(w.events).toEqual([]);
  });

  it('keeps the old generation when nginx -t fails, and the failed one for inspection', async () => {
    const w = world();
    await runApply({}, w.deps);
    const servedHash = w.state.configHash;
    const failing = world({ testOk: false });
    Object.assign(failing.deps, { generations: w.deps.generations, state: w.deps.state });
    w.setRender(() => Promise.resolve(generation('b')));
    failing.deps.render = w.deps.render;
    const result = await runApply({}, failing.deps);
    expect(result.outcome).toBe('validation-failed');
    expect(result.message).toMatch(/generation 2 \(kept for inspection in .*2\); generation 1/);
    expect(w.current).toBe('1');
    expect(w.dirs.has('2')).toBe(true);
    expect(w.state.validationFailures).toBe(1);
    // The metrics show the served generation with its own hash, not the refused one's.
    expect(w.state.generation).toBe('1');
    expect(w.state.configHash).toBe(servedHash);
    expect(result.hash).not.toBe(servedHash);
    // The next attempt replaces it: failed generations do not pile up.
    w.setRender(() => Promise.resolve(generation('c')));
    await runApply({}, failing.deps);
    expect(w.dirs.has('2')).toBe(false);
    expect(w.dirs.has('3')).toBe(true);
  });

  it('switches back and reloads the previous generation when the new one is not served', async () => {
    const w = world();
    await runApply({}, w.deps);
    expect(w.served).toBe('1');
    w.breakReloads();
    w.setRender(() => Promise.resolve(generation('b')));
    const result = await runApply({ confirmTimeoutMs: 200 }, w.deps);
    expect(result.outcome).toBe('rolled-back');
    expect(w.current).toBe('1');
    expect(w.served).toBe('1');
    expect(w.events.slice(-4)).toEqual(['reload', 'switch 1', 'reload', 'remove 2']);
  });

  it('reports a locked run without touching anything', async () => {
    const w = world();
    w.lock();
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('locked');
    expect(w.events).toEqual([]);
  });

  it('reports an unreachable directory and leaves files untouched', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.events.length = 0;
    w.setRender(() => Promise.reject(new ProxyConfError('E_LDAP_CONNECT', 'connect ECONNREFUSED')));
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('directory-unavailable');
    expect(w.events).toEqual([]);
    expect(w.state.directoryFailures).toBe(1);
  });

  it('refuses to publish when the lookup handlers disappear, unless forced', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.setRender(() => Promise.resolve(generation('b', { 'zmlookup.:handlers': '' })));
    expect((await runApply({}, w.deps)).outcome).toBe('refused');
    expect(w.current).toBe('1');
    expect((await runApply({ force: true }, w.deps)).outcome).toBe('reloaded');
    expect(w.current).toBe('2');
  });

  it('waits out the minimum reload interval and publishes what changed meanwhile', async () => {
    const w = world();
    await runApply({ minReloadIntervalMs: 10_000 }, w.deps);
    let renders = 0;
    w.setRender(() => Promise.resolve(generation(++renders === 1 ? 'b' : 'c')));
    const result = await runApply({ minReloadIntervalMs: 10_000 }, w.deps);
    expect(result.outcome).toBe('reloaded');
    expect(renders).toBe(2);
    expect(w.dirs.get('2')?.files.get('includes/nginx.conf.web')?.content).toBe('c');
  });

  it('defers instead of waiting for the daemon', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.setRender(() => Promise.resolve(generation('b')));
    const result = await runApply(
      { minReloadIntervalMs: 10_000, deferInsteadOfWait: true },
      w.deps,
    );
    expect(result.outcome).toBe('deferred');
    expect(result.retryAt).toBeGreaterThan(0);
    expect(w.current).toBe('1');
  });

  it('reloads an unchanged generation that nginx does not serve yet (a run killed mid-switch)', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.setRender(() => Promise.resolve(generation('b')));
    await runApply({ noReload: true }, w.deps);
    expect(w.current).toBe('2');
    expect(w.served).toBe('1');
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('resynced');
    expect(w.served).toBe('2');
  });

  it('publishes without reloading when nginx is not running', async () => {
    const w = world({ running: false });
    expect((await runApply({}, w.deps)).outcome).toBe('published');
    expect(w.events).toEqual(['stage 1', 'switch 1']);
  });

  it('keeps the configured number of generations', async () => {
    const w = world();
    for (const text of ['a', 'b', 'c', 'd', 'e']) {
      w.setRender(() => Promise.resolve(generation(text)));
      await runApply({ keep: 3 }, w.deps);
    }
    expect([...w.dirs.keys()]).toEqual(['3', '4', '5']);
  });
});

describe('generation helpers', () => {
  it('places the main file at the top of the generation directory', () => {
    expect(computeGenerationFiles(generation('x')).map((file) => file.path)).toEqual([
      'nginx.conf',
      'includes/nginx.conf.web',
    ]);
  });

  it('counts lookup handlers and upstream servers', () => {
    expect(
      computeGuardCounts(
        new Map([
          ['zmlookup.:handlers', 'http://a/ http://b/'],
          ['web.upstream.:servers', 'server    a:8080;\n    server    b:8080;'],
        ]),
      ),
    ).toEqual({ 'lookup handlers': 2, 'http upstream servers': 2 });
  });

  it('objects to an emptied list and to a shrink beyond the share', () => {
    expect(checkGuard({ x: 4 }, { x: 0 }, 0.5)).toHaveLength(1);
    expect(checkGuard({ x: 4 }, { x: 1 }, 0.5)).toHaveLength(1);
    expect(checkGuard({ x: 4 }, { x: 2 }, 0.5)).toEqual([]);
    expect(checkGuard(undefined, { x: 0 }, 0.5)).toEqual([]);
  });

  it('serves the generation id on the loopback listener only', () => {
    const marker = renderGenerationMarker('7', '127.0.0.1:7078');
    expect(marker).toContain('listen      127.0.0.1:7078;');
    expect(marker).toContain('return        200 "7\\n";');
    expect(marker).toContain('deny        all;');
  });

  it('waits for a reload slower than 10 s when nginx -t of the tree was slow too', async () => {
    const w = world({ testMs: 5_000, reloadMs: 12_000 });
    await runApply({}, w.deps);
    w.events.length = 0;
    w.setRender(() => Promise.resolve(generation('b')));
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('reloaded');
    expect(w.served).toBe('2');
    expect(w.events.filter((e) => e === 'reload')).toHaveLength(1);
    expect(w.state.lastTestMs).toBe(5_000);
  });

  it('never rolls back behind a reload nginx is still doing: it waits while the master is busy', async () => {
    const w = world({ reloadMs: 25_000 });
    await runApply({}, w.deps);
    w.events.length = 0;
    w.setRender(() => Promise.resolve(generation('b')));
    const result = await runApply({ confirmTimeoutMs: 10_000 }, w.deps);
    expect(result.outcome).toBe('reloaded');
    expect(w.events.filter((e) => e === 'reload')).toHaveLength(1);
    expect(w.events).not.toContain('switch 1');
  });

  it('rolls back once the master stays busy past the limit, and says how long it waited', async () => {
    const w = world({ reloadMs: 1_000 });
    await runApply({}, w.deps);
    const slow = world({ reloadMs: 600_000 });
    Object.assign(slow.deps, { generations: w.deps.generations, state: w.deps.state });
    w.setRender(() => Promise.resolve(generation('b')));
    slow.deps.render = w.deps.render;
    slow.served = '1';
    const result = await runApply({ confirmTimeoutMs: 10_000, busyLimitMs: 60_000 }, slow.deps);
    // The old generation is still what the busy master serves: the switch back is confirmed.
    expect(result.outcome).toBe('rolled-back');
    expect(result.message).toMatch(/after 6\d{4} ms \(confirmation time 10000 ms\)/);
  });

  it('a no-change run that finds nginx serving another generation reloads it: resynced', async () => {
    const w = world();
    await runApply({}, w.deps);
    w.setRender(() => Promise.resolve(generation('b')));
    await runApply({}, w.deps);
    // nginx was reloaded behind the tool's back onto generation 1.
    w.served = '1';
    const result = await runApply({}, w.deps);
    expect(result.outcome).toBe('resynced');
    expect(result.message).toContain('nginx served generation 1 while 2 is current');
    expect(w.served).toBe('2');
    expect(w.state.reloads).toBe(3);
  });
});
