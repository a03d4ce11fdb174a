/**
 * The rewrite loop's one run (`zmproxyconfgen --apply`): render → compare with the generation
 * nginx serves → sanity guard → stage a complete generation directory → `nginx -t` on it →
 * switch the `current` symlink (one rename) → reload → confirm nginx serves the new generation →
 * on any failure switch back and reload the previous one. Nothing changed → nothing written,
 * nothing reloaded. Everything outside the process goes through ports (GenerationStore,
 * NginxControl, RunLock, ApplyStateStore, Clock).
 */
import { createHash } from 'node:crypto';
import type { Warning } from '../errors.js';
import { formatProblem, ProblemsError, ProxyConfError } from '../errors.js';
import { GENERATION_MARKER_FILE } from '../model/paths.js';
import { EMPTY_APPLY_STATE } from '../ports.js';
import type {
  ApplyState,
  ApplyStateStore,
  Clock,
  GenerationFile,
  GenerationMeta,
  GenerationStore,
  NginxControl,
  RunLock,
} from '../ports.js';
import type { ApplyOutcome } from './apply-outcomes.js';
import { APPLY_OUTCOME_RULES } from './apply-outcomes.js';
import type { DiskFile } from '../plan/plan-changes.js';
import { changedPaths } from '../plan/plan-changes.js';
import type { Generation } from './generate.js';

export type { ApplyOutcome } from './apply-outcomes.js';

/** Options of {@link runApply}. */
export interface ApplyOptions {
  /** Random delay before the run, in seconds, so that a fleet does not reload at once. @default 0 */
  splaySeconds?: number;
  /**
   * Minimum time between two reloads, in ms. A change found earlier waits (one-shot) or is
   * deferred (`deferInsteadOfWait`); the run then renders again, so later changes are coalesced
   * into the same reload, never dropped. @default 0
   */
  minReloadIntervalMs?: number;
  /** Return `deferred` instead of sleeping through the minimum interval (the daemon). @default false */
  deferInsteadOfWait?: boolean;
  /** How long to wait for another run's lock; 0: give up at once (`locked`). @default 0 */
  lockWaitMs?: number;
  /** Largest share (0–1) a guarded list may shrink by before publishing is refused. @default 0.5 */
  maxShrink?: number;
  /** Publish even when the sanity guard objects. @default false */
  force?: boolean;
  /**
   * How long nginx may take to serve the new generation after the reload, in ms, at least: the
   * wait is max(this, 3 × the measured `nginx -t` time of the tree), since the master reads the
   * whole configuration again. Past it, the run waits on while the master is still busy (its CPU
   * time grows), up to {@link ApplyOptions.busyLimitMs}, so that a rollback never queues behind
   * a reload nginx is still doing. @default 10000
   */
  confirmTimeoutMs?: number;
  /** The longest wait for a master that is still busy reloading, in ms. @default 300000 */
  busyLimitMs?: number;
  /**
   * Without a generation marker in the templates: how long the error log must stay free of
   * `[emerg]` after the reload (nginx retries a failing bind for 2.5 s). @default 3000
   */
  settleMs?: number;
  /** Generations kept on disk, the current one included. @default 5 */
  keep?: number;
  /** Publish and validate, but do not signal nginx. @default false */
  noReload?: boolean;
  /** Cuts waits short (SIGTERM in the daemon). */
  signal?: AbortSignal | undefined;
}

/** The adapters {@link runApply} uses. */
export interface ApplyDeps {
  /** One complete generation rendered with the generation layout (paths.generationLayout). */
  render: () => Promise<Generation>;
  generations: GenerationStore;
  nginx: NginxControl;
  lock: RunLock;
  state: ApplyStateStore;
  clock: Clock;
  /** @default Math.random */
  random?: () => number;
}

/** One line per outcome, for help texts and the README (from {@link APPLY_OUTCOME_RULES}). */
export const APPLY_OUTCOMES: Readonly<Record<ApplyOutcome, string>> = Object.fromEntries(
  Object.entries(APPLY_OUTCOME_RULES).map(([outcome, rule]) => [outcome, rule.text]),
) as Record<ApplyOutcome, string>;

/** What a run did. */
export interface ApplyResult {
  outcome: ApplyOutcome;
  /** The generation `current` points at after the run. */
  generation?: string | undefined;
  /** The generation `current` pointed at before the run. */
  previous?: string | undefined;
  /** sha256 of the generation's files. */
  hash?: string | undefined;
  /** Relative paths created, changed or removed compared with the previous generation. */
  changed: string[];
  message: string;
  /** nginx -t output, error-log lines, guard reasons. */
  details: string[];
  /** Seconds per phase: render, validate, reload, total. */
  durations: Record<string, number>;
  warnings: Warning[];
  /** Epoch ms after which a deferred change may be published. */
  retryAt?: number | undefined;
  /** The error behind `error` and `directory-unavailable`. */
  error?: unknown;
  /** Milliseconds a successful `nginx -t` of this run took. */
  testMs?: number | undefined;
}

const DIRECTORY_CODES: ReadonlySet<string> = new Set(['E_LDAP_CONNECT', 'E_LDAP_AUTH', 'E_LDIF']);

/** LDAP down or refusing the bind, LDIF unreadable or broken: the directory cannot be read. */
function isDirectoryUnavailable(error: unknown): boolean {
  if (!(error instanceof ProxyConfError)) return false;
  if (DIRECTORY_CODES.has(error.code)) return true;
  // A file that cannot be read (E_INPUT with the errno error as its cause).
  const cause = error.cause as { code?: unknown } | undefined;
  return (
    error.code === 'E_INPUT' && typeof cause?.code === 'string' && /^E[A-Z]+$/.test(cause.code)
  );
}

/** The lists the sanity guard watches, by the variable holding them. */
const GUARDED_LISTS: readonly { name: string; variable: string; pattern: RegExp }[] = [
  { name: 'lookup handlers', variable: 'zmlookup.:handlers', pattern: /\S+/g },
  { name: 'http upstream servers', variable: 'web.upstream.:servers', pattern: /\bserver\s+\S+/g },
  {
    name: 'https upstream servers',
    variable: 'web.ssl.upstream.:servers',
    pattern: /\bserver\s+\S+/g,
  },
];

/** Sizes of the guarded lists of a generation's variables. */
export function computeGuardCounts(vars: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const list of GUARDED_LISTS) {
    const value = vars.get(list.variable);
    if (value === undefined) continue;
    counts[list.name] = (value.match(list.pattern) ?? []).length;
  }
  return counts;
}

/** Why publishing `next` after `previous` is refused (empty: it is not). */
export function checkGuard(
  previous: Readonly<Record<string, number>> | undefined,
  next: Readonly<Record<string, number>>,
  maxShrink: number,
): string[] {
  const reasons: string[] = [];
  for (const [name, before] of Object.entries(previous ?? {})) {
    const after = next[name] ?? 0;
    if (before <= 0 || after >= before) continue;
    if (after === 0) reasons.push(`${name}: ${before} → 0, the list would become empty`);
    else if ((before - after) / before > maxShrink) {
      reasons.push(
        `${name}: ${before} → ${after}, shrinks by ${Math.round(((before - after) / before) * 100)}% (more than --max-shrink ${maxShrink})`,
      );
    }
  }
  return reasons;
}

/**
 * A generation's planned files as paths relative to the generation directory: the main file
 * (`<confDir>/<prefix>`) goes to the top, everything the generation layout made relative stays.
 */
export function computeGenerationFiles(generation: Generation): GenerationFile[] {
  const { paths } = generation;
  const main = `${paths.confDir}/${paths.configPrefix}`;
  return generation.files.map((file) => {
    const path = file.path === main ? paths.configPrefix : file.path;
    if (path.startsWith('/') || path.split('/').includes('..')) {
      throw new ProxyConfError(
        'E_INTERNAL',
        `cannot place ${file.path} inside a generation directory`,
        { hint: 'render with the generation layout (paths.generationLayout)' },
      );
    }
    return { path, content: file.content, mode: file.mode, gid: file.gid };
  });
}

/** sha256 over every file's path, mode and content, in path order. */
export function computeGenerationHash(files: readonly GenerationFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${file.mode.toString(8)}\0${file.content.length}\0`);
    hash.update(file.content);
  }
  return hash.digest('hex');
}

/** The paths that differ between two file sets (created, changed or removed): see changedPaths. */
export function computeChangedPaths(
  next: readonly GenerationFile[],
  current: ReadonlyMap<string, DiskFile>,
): string[] {
  return changedPaths(next, current);
}

const LOOPBACK_LISTEN = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):(\d{1,5})$/;

/** The marker include: a loopback-only server answering the generation id. */
export function renderGenerationMarker(id: string, listen: string): string {
  return [
    '# Written by zmproxyconfgen --apply: which generation nginx serves.',
    'server {',
    `    listen      ${listen};`,
    '    access_log  off;',
    '    allow       127.0.0.0/8;',
    '    allow       ::1;',
    '    deny        all;',
    '    location = /zmproxy-generation {',
    '        default_type  text/plain;',
    `        return        200 "${id}\\n";`,
    '    }',
    '    location / {',
    '        return  404;',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** Whether the rendered files include the generation marker (our stock templates do). */
function includesMarker(files: readonly GenerationFile[]): boolean {
  const include = new RegExp(
    `^\\s*include\\s+${GENERATION_MARKER_FILE.replace(/\./g, '\\.')};`,
    'm',
  );
  return files.some((file) => include.test(file.content));
}

/** Reads the state, tolerating a missing or damaged file (counters restart at 0). */
async function readState(store: ApplyStateStore): Promise<ApplyState> {
  try {
    return { ...EMPTY_APPLY_STATE, ...(await store.read()) };
  } catch {
    return { ...EMPTY_APPLY_STATE };
  }
}

/** One run of the rewrite loop. Never throws for what it can report as an outcome. */
export async function runApply(options: ApplyOptions, deps: ApplyDeps): Promise<ApplyResult> {
  const { clock } = deps;
  const started = clock.now();
  const splay = Math.max(0, options.splaySeconds ?? 0);
  if (splay > 0) await clock.sleep((deps.random ?? Math.random)() * splay * 1000, options.signal);

  const lock = await deps.lock.acquire(options.lockWaitMs ?? 0);
  if ('holder' in lock) {
    return {
      outcome: 'locked',
      changed: [],
      message: `another run holds the lock (${lock.holder})`,
      details: [],
      durations: { total: seconds(clock.now() - started) },
      warnings: [],
    };
  }
  const state = await readState(deps.state);
  let result: ApplyResult;
  try {
    result = await runLocked(options, deps, state);
  } catch (error) {
    result = {
      outcome: 'error',
      changed: [],
      message: error instanceof Error ? error.message : String(error),
      details: [],
      durations: {},
      warnings: [],
      error,
    };
  }
  // The lock is released only after the state is written: the state belongs to the holder.
  result.durations['total'] = seconds(clock.now() - started);
  try {
    await deps.state.write(updateState(state, result, clock.now()));
  } catch (error) {
    // The pass itself is done (and published or not); a state file that cannot be written (a
    // full disk) is reported with the result, never thrown: the daemon keeps running.
    result.warnings.push({
      message: `cannot write the apply state: ${error instanceof Error ? error.message : String(error)}`,
      hint: 'check the free space and permissions of the workdir',
    });
  } finally {
    await lock.release();
  }
  return result;
}

function updateState(state: ApplyState, result: ApplyResult, now: number): ApplyState {
  const next: ApplyState = { ...state, runs: state.runs + 1, lastRunAt: now };
  next.lastResult = result.outcome;
  next.durations = result.durations;
  const rule = APPLY_OUTCOME_RULES[result.outcome];
  if (rule.success) next.lastSuccessAt = now;
  if (rule.counter !== undefined) next[rule.counter] += 1;
  if (['reloaded', 'resynced', 'published'].includes(result.outcome)) {
    next.lastReloadAt = now;
    if (result.outcome !== 'published') next.reloads += 1;
  }
  if (result.testMs !== undefined) next.lastTestMs = result.testMs;
  // The hash of what is served: a refused, rolled-back or deferred configuration is not.
  const served = ['unchanged', 'resynced', 'reloaded', 'published'].includes(result.outcome);
  if (served && result.hash !== undefined) next.configHash = result.hash;
  if (result.generation !== undefined) next.generation = result.generation;
  return next;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

interface Rendered {
  generation: Generation;
  files: GenerationFile[];
  hash: string;
  counts: Record<string, number>;
}

async function renderOnce(deps: ApplyDeps): Promise<Rendered> {
  const generation = await deps.render();
  if (!generation.paths.generationLayout) {
    throw new ProxyConfError('E_INTERNAL', 'apply needs a generation rendered for --apply', {
      hint: 'render with paths.generationLayout: true',
    });
  }
  const files = computeGenerationFiles(generation);
  return {
    generation,
    files,
    hash: computeGenerationHash(files),
    counts: computeGuardCounts(generation.vars),
  };
}

async function runLocked(
  options: ApplyOptions,
  deps: ApplyDeps,
  state: ApplyState,
): Promise<ApplyResult> {
  const { clock, generations, nginx } = deps;
  const durations: Record<string, number> = {};
  const base = { durations, details: [] as string[] };

  const render = async (): Promise<Rendered | ApplyResult> => {
    const at = clock.now();
    try {
      return await renderOnce(deps);
    } catch (error) {
      const unavailable = isDirectoryUnavailable(error);
      return {
        ...base,
        outcome: unavailable ? 'directory-unavailable' : 'error',
        changed: [],
        message: error instanceof Error ? error.message : String(error),
        // Name every problem: "1 problem found" alone tells the admin nothing.
        details: error instanceof ProblemsError ? error.problems.map(formatProblem) : [],
        warnings: [],
        error,
      };
    } finally {
      durations['render'] = seconds(clock.now() - at);
    }
  };
  let rendered = await render();
  if ('outcome' in rendered) return rendered;

  const previous = await generations.current();
  const previousMeta = previous === undefined ? undefined : await generations.readMeta(previous);
  let current =
    previous === undefined
      ? new Map<string, DiskFile>()
      : await generations.readFiles(previous);
  let changed = computeChangedPaths(rendered.files, current);
  const pidFile = rendered.generation.vars.get('main.pidfile') ?? '';
  const logFile = rendered.generation.vars.get('main.logfile') ?? '';

  // The minimum interval between reloads: wait (or defer), then render again so that every
  // change made meanwhile goes into this one reload.
  const interval = options.minReloadIntervalMs ?? 0;
  const readyAt = (state.lastReloadAt ?? -Infinity) + interval;
  // Only a run that publishes something waits; `previous === undefined` always publishes.
  const publishes = changed.length > 0 || previous === undefined;
  if (publishes && interval > 0 && clock.now() < readyAt) {
    if (options.deferInsteadOfWait === true) {
      return {
        ...base,
        outcome: 'deferred',
        generation: previous,
        previous,
        hash: rendered.hash,
        changed,
        message: `${changed.length} file(s) changed; published after the minimum reload interval`,
        warnings: rendered.generation.warnings,
        retryAt: readyAt,
      };
    }
    await clock.sleep(readyAt - clock.now(), options.signal);
    rendered = await render();
    if ('outcome' in rendered) return rendered;
    current = previous === undefined ? current : await generations.readFiles(previous);
    changed = computeChangedPaths(rendered.files, current);
  }
  // Nothing to publish: keep the live generation (recoverIfStale repairs it if nginx lost it).
  if (changed.length === 0 && previous !== undefined) {
    return await recoverIfStale(options, deps, {
      ...base,
      rendered: rendered,
      previous,
      previousMeta,
      pidFile,
      logFile,
      testMs: state.lastTestMs,
    });
  }
  const { generation, files, hash, counts } = rendered;
  const warnings = generation.warnings;

  const reasons = checkGuard(previousMeta?.counts, counts, options.maxShrink ?? 0.5);
  if (reasons.length > 0 && options.force !== true) {
    return {
      ...base,
      outcome: 'refused',
      generation: previous,
      previous,
      hash,
      changed,
      details: reasons,
      message: `refusing to publish: ${reasons.join('; ')}`,
      warnings,
    };
  }

  const markerListen = includesMarker(files)
    ? (generation.vars.get('stock.generation.listen') ?? '')
    : undefined;
  if (markerListen !== undefined && !LOOPBACK_LISTEN.test(markerListen)) {
    throw new ProxyConfError(
      'E_INPUT',
      `stock.generation.listen must be a loopback address and port (got "${markerListen}")`,
      { hint: '-c stock.generation.listen=127.0.0.1:7078' },
    );
  }

  // Stage the complete tree under a fresh id.
  const ids = await generations.list();
  const id = String(
    Math.max(
      0,
      ...[...ids, previous ?? '0'].map((value) => Number(value)).filter(Number.isFinite),
    ) + 1,
  );
  const meta: GenerationMeta = {
    id,
    hash,
    createdAt: clock.now(),
    server: generation.server,
    counts,
    markerListen,
  };
  const marker = renderGenerationMarker(id, markerListen ?? '127.0.0.1:7078');
  // A generation nginx -t refused stays on disk for inspection until the next one is staged.
  for (const old of ids) {
    if (old !== previous && Number(old) > Number(previous ?? 0)) await generations.remove(old);
  }
  const mainFile = await generations.stage(id, files, marker, meta);

  const validateAt = clock.now();
  const test = await nginx.test(mainFile);
  const testMs = clock.now() - validateAt;
  durations['validate'] = seconds(testMs);
  if (!test.ok) {
    const kept = mainFile.slice(0, Math.max(0, mainFile.lastIndexOf('/')));
    return {
      ...base,
      outcome: 'validation-failed',
      generation: previous,
      previous,
      hash,
      changed,
      details: test.output === '' ? [] : test.output.split('\n'),
      message: test.timedOut
        ? `nginx -t did not finish in time on generation ${id} (kept for inspection in ${kept}); generation ${previous ?? '(none)'} still served`
        : `nginx -t failed on generation ${id} (kept for inspection in ${kept}); generation ${previous ?? '(none)'} still served`,
      warnings,
    };
  }

  await generations.switchTo(id);
  const published = { ...base, generation: id, previous, hash, changed, warnings, testMs };
  const pid = options.noReload === true ? undefined : await nginx.masterPid(pidFile);
  if (pid === undefined) {
    await pruneGenerations(generations, id, options.keep ?? 5);
    return {
      ...published,
      outcome: 'published',
      message:
        options.noReload === true
          ? `generation ${id} published, not reloaded (--no-reload)`
          : `generation ${id} published; nginx is not running, nothing reloaded`,
    };
  }

  const reloadAt = clock.now();
  const confirmed = await reloadAndConfirm(options, deps, {
    pid,
    id,
    markerListen,
    logFile,
    testMs,
  });
  durations['reload'] = seconds(clock.now() - reloadAt);
  if (confirmed.ok) {
    await pruneGenerations(generations, id, options.keep ?? 5);
    return {
      ...published,
      outcome: 'reloaded',
      message: `generation ${id} published and served (${changed.length} file(s) changed)`,
    };
  }

  // Roll back: the previous generation goes back behind `current` and is reloaded.
  const details = confirmed.details;
  if (previous === undefined) {
    return {
      ...published,
      outcome: 'rollback-failed',
      details,
      message: `the reload of generation ${id} failed and there is no previous generation to go back to: ${confirmed.reason}`,
    };
  }
  await generations.switchTo(previous);
  const back = await reloadAndConfirm(options, deps, {
    pid,
    id: previous,
    markerListen: previousMeta?.markerListen,
    logFile,
    testMs,
  });
  await generations.remove(id);
  durations['reload'] = seconds(clock.now() - reloadAt);
  if (back.ok) {
    return {
      ...published,
      generation: previous,
      outcome: 'rolled-back',
      details,
      message: `the reload of generation ${id} failed (${confirmed.reason}); generation ${previous} switched back and served`,
    };
  }
  return {
    ...published,
    generation: previous,
    outcome: 'rollback-failed',
    details: [...details, ...back.details],
    message: `the reload of generation ${id} failed (${confirmed.reason}) and generation ${previous} is not confirmed either (${back.reason})`,
  };
}

/** Nothing changed on disk: still make sure nginx serves `current` (after a kill mid-switch). */
async function recoverIfStale(
  options: ApplyOptions,
  deps: ApplyDeps,
  context: {
    durations: Record<string, number>;
    details: string[];
    rendered: Rendered;
    previous: string;
    previousMeta: GenerationMeta | undefined;
    pidFile: string;
    logFile: string;
    testMs: number | undefined;
  },
): Promise<ApplyResult> {
  const { rendered, previous, previousMeta, durations } = context;
  const unchanged: ApplyResult = {
    outcome: 'unchanged',
    generation: previous,
    previous,
    hash: rendered.hash,
    changed: [],
    details: [],
    durations,
    message: `nothing changed: generation ${previous} is up to date`,
    warnings: rendered.generation.warnings,
  };
  const listen = previousMeta?.markerListen;
  if (options.noReload === true || listen === undefined) return unchanged;
  const pid = await deps.nginx.masterPid(context.pidFile);
  if (pid === undefined) return unchanged;
  const served = await deps.nginx.servedGeneration(listen);
  // Nothing answers: nginx runs some other configuration; reloading would not fix that.
  if (served === undefined || served === previous) return unchanged;
  const at = deps.clock.now();
  const confirmed = await reloadAndConfirm(options, deps, {
    pid,
    id: previous,
    markerListen: listen,
    logFile: context.logFile,
    testMs: context.testMs,
  });
  durations['reload'] = seconds(deps.clock.now() - at);
  if (confirmed.ok) {
    return {
      ...unchanged,
      outcome: 'resynced',
      message: `nothing changed, but nginx served generation ${served} while ${previous} is current: reloaded, generation ${previous} confirmed served`,
    };
  }
  return {
    ...unchanged,
    outcome: 'rollback-failed',
    details: confirmed.details,
    message: `nginx serves generation ${served}, and reloading generation ${previous} failed: ${confirmed.reason}`,
  };
}

/**
 * SIGHUP, then wait until the marker answers `id` (or, without a marker, the log stays calm). The
 * wait grows with the tree: 3 × its `nginx -t` time, at least `confirmTimeoutMs`; past that, it
 * goes on while the master is still busy reading the configuration (its CPU time grows), so that
 * the caller never rolls back, and queues a second reload, behind one nginx is still doing.
 */
async function reloadAndConfirm(
  options: ApplyOptions,
  deps: ApplyDeps,
  target: {
    pid: number;
    id: string;
    markerListen: string | undefined;
    logFile: string;
    testMs: number | undefined;
  },
): Promise<{ ok: true } | { ok: false; reason: string; details: string[] }> {
  const { clock, nginx } = deps;
  const mark = await nginx.errorLogMark(target.logFile);
  const signalledAt = clock.now();
  try {
    await nginx.reload(target.pid);
  } catch (error) {
    return {
      ok: false,
      reason: `cannot signal nginx (pid ${target.pid}): ${error instanceof Error ? error.message : String(error)}`,
      details: [],
    };
  }
  const timeout = confirmTimeout(options, target.testMs);
  const busyLimit = Math.max(timeout, options.busyLimitMs ?? 300_000);
  const settle = options.settleMs ?? 3000;
  const busy = masterBusyTracker(deps, target.pid);
  let served: string | undefined;
  for (;;) {
    const errors = await nginx.errorsSince(target.logFile, mark);
    if (errors.length > 0) {
      return { ok: false, reason: 'nginx logged an error while reloading', details: errors };
    }
    const elapsed = clock.now() - signalledAt;
    if (target.markerListen === undefined) {
      if (elapsed >= settle) return { ok: true };
    } else {
      served = await nginx.servedGeneration(target.markerListen);
      if (served === target.id) return { ok: true };
    }
    if (elapsed >= timeout && !(elapsed < busyLimit && (await busy(clock.now())))) {
      return {
        ok: false,
        reason: `nginx still serves generation ${served ?? '(no answer)'} after ${Math.round(elapsed)} ms (confirmation time ${timeout} ms), not ${target.id}`,
        details: [],
      };
    }
    if (options.signal?.aborted === true) {
      return { ok: false, reason: 'interrupted while waiting for nginx', details: [] };
    }
    await clock.sleep(50);
  }
}

/** The confirmation time of a reload: max(confirmTimeoutMs, 3 × the tree's nginx -t time). */
export function confirmTimeout(options: ApplyOptions, testMs: number | undefined): number {
  return Math.max(options.confirmTimeoutMs ?? 10_000, 3 * (testMs ?? 0));
}

/**
 * Whether the master used CPU within the last second: a master reading a large configuration
 * burns CPU until it starts its new workers; an idle one (a reload that is done, or that nginx
 * never started) does not. Unknown CPU time counts as idle.
 */
function masterBusyTracker(deps: ApplyDeps, pid: number): (now: number) => Promise<boolean> {
  const samples: { at: number; ticks: number }[] = [];
  return async (now) => {
    const ticks = await deps.nginx.masterCpuTicks(pid);
    if (ticks === undefined) return false;
    samples.push({ at: now, ticks });
    while (samples.length > 1 && now - samples[0]!.at > 1000) samples.shift();
    const oldest = samples[0]!;
    // One sample is no evidence: wait for a second look, at most a second later.
    if (samples.length === 1) return true;
    return ticks > oldest.ticks;
  };
}

/** Keeps `current` and the `keep - 1` newest generations before it; removes the rest. */
async function pruneGenerations(
  generations: GenerationStore,
  current: string,
  keep: number,
): Promise<void> {
  const ids = (await generations.list()).map(Number).sort((a, b) => a - b);
  const now = Number(current);
  const older = ids.filter((id) => id < now);
  const kept = new Set([now, ...older.slice(Math.max(0, older.length - (keep - 1)))]);
  for (const id of ids) if (!kept.has(id)) await generations.remove(String(id));
}
