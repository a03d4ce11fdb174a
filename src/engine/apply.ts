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
import type { Confirmation, ReloadTarget } from './apply-reload.js';
import type { FleetIdentity } from './fleet-identity.js';
import type { CanaryGate } from './canary.js';
import { fleetStatusFile, markerSafeIdentity } from './fleet-identity.js';
import { pruneGenerations, reloadAndConfirm } from './apply-reload.js';

export type { ApplyOutcome } from './apply-outcomes.js';
export { confirmTimeout } from './apply-reload.js';

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
  /** `--canary-wait`: publish a new revision only once the canary serves it (engine/canary.ts). */
  canary?: CanaryGate | undefined;
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

/**
 * The marker include: a loopback-only server answering the generation id (`/zmproxy-generation`,
 * the body the reload confirmation reads), and with a fleet identity also who and what it serves
 * (`/zmproxy-generation.json`, X-Zmproxy-* headers) and the last run's status file
 * (`/zmproxy-status.json`, read from disk on each request: it changes without a reload).
 */
export function renderGenerationMarker(
  id: string,
  listen: string,
  fleet?: { identity: FleetIdentity; statusFile: string; publishedAt: number },
): string {
  const identity = fleet === undefined ? undefined : markerSafeIdentity(fleet.identity);
  const json =
    identity === undefined || fleet === undefined
      ? undefined
      : `{\\"generation\\":\\"${id}\\",\\"server\\":\\"${identity.server}\\",\\"revision\\":\\"${identity.revision}\\",\\"configHash\\":\\"${identity.directoryHash}\\",\\"publishedAt\\":${fleet.publishedAt}}`;
  const headers =
    identity === undefined
      ? []
      : [
          `        add_header    X-Zmproxy-Server "${identity.server}";`,
          `        add_header    X-Zmproxy-Revision "${identity.revision}";`,
          `        add_header    X-Zmproxy-Config-Hash "${identity.directoryHash}";`,
        ];
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
    ...headers,
    `        return        200 "${id}\\n";`,
    '    }',
    ...(json === undefined || fleet === undefined
      ? []
      : [
          '    location = /zmproxy-generation.json {',
          '        default_type  application/json;',
          `        return        200 "${json}\\n";`,
          '    }',
          '    location = /zmproxy-status.json {',
          '        default_type  application/json;',
          `        alias         "${fleet.statusFile}";`,
          '    }',
        ]),
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

/**
 * One run of the rewrite loop, as a sequence of named steps: lock → render → compare → guard →
 * publish → state. Each step takes what the ones before it produced and either hands on its
 * own product or ends the run with a result. Never throws for what it can report as an outcome.
 */
export async function runApply(options: ApplyOptions, deps: ApplyDeps): Promise<ApplyResult> {
  const started = deps.clock.now();
  const lock = await lockStep(options, deps);
  if ('outcome' in lock) return finish(lock, deps.clock.now() - started);
  const state = await readState(deps.state);
  let result: ApplyResult;
  try {
    result = await runSteps(options, deps, state);
  } catch (error) {
    result = errorResult(error);
  }
  // The lock is released only after the state is written: the state belongs to the holder.
  try {
    return await stateStep(deps, state, finish(result, deps.clock.now() - started));
  } finally {
    await lock.release();
  }
}

/** render → compare → guard → publish, under the lock. */
async function runSteps(
  options: ApplyOptions,
  deps: ApplyDeps,
  state: ApplyState,
): Promise<ApplyResult> {
  const run: RunContext = { durations: {}, details: [] };
  const rendered = await renderStep(deps, run);
  if ('outcome' in rendered) return rendered;
  const compared = await compareStep(options, deps, run, state, rendered);
  if ('outcome' in compared) return compared;
  const { previous } = compared;
  if (compared.changed.length === 0 && previous !== undefined) {
    // Nothing to publish: keep the live generation (and make sure nginx serves it).
    return await resyncStep(options, deps, run, { ...compared, previous }, state.lastTestMs);
  }
  const guarded = guardStep(options, run, compared);
  if ('outcome' in guarded) return guarded;
  const released = await canaryStep(options, run, guarded);
  if (released !== undefined) return released;
  return await publishStep(options, deps, run, guarded);
}

/** What every step of one run shares: the phase durations and the result's details. */
interface RunContext {
  durations: Record<string, number>;
  details: string[];
}

/** The total duration, on every result. */
function finish(result: ApplyResult, totalMs: number): ApplyResult {
  result.durations['total'] = seconds(totalMs);
  return result;
}

function errorResult(error: unknown): ApplyResult {
  return {
    outcome: 'error',
    changed: [],
    message: error instanceof Error ? error.message : String(error),
    details: [],
    durations: {},
    warnings: [],
    error,
  };
}

// ---- lock ---------------------------------------------------------------------------------

/** The splay delay, then the run lock: its release, or the `locked` result. */
async function lockStep(
  options: ApplyOptions,
  deps: ApplyDeps,
): Promise<{ release: () => Promise<void> } | ApplyResult> {
  const { clock } = deps;
  const splay = Math.max(0, options.splaySeconds ?? 0);
  if (splay > 0) await clock.sleep((deps.random ?? Math.random)() * splay * 1000, options.signal);
  const lock = await deps.lock.acquire(options.lockWaitMs ?? 0);
  if (!('holder' in lock)) return lock;
  return {
    outcome: 'locked',
    changed: [],
    message: `another run holds the lock (${lock.holder})`,
    details: [],
    durations: {},
    warnings: [],
  };
}

/** Reads the state, tolerating a missing or damaged file (counters restart at 0). */
async function readState(store: ApplyStateStore): Promise<ApplyState> {
  try {
    return { ...EMPTY_APPLY_STATE, ...(await store.read()) };
  } catch {
    return { ...EMPTY_APPLY_STATE };
  }
}

// ---- render -------------------------------------------------------------------------------

/** A generation rendered for --apply, with what the later steps need of it. */
interface Rendered {
  generation: Generation;
  files: GenerationFile[];
  hash: string;
  counts: Record<string, number>;
}

/** Renders the generation; a directory that cannot be read or any problem ends the run. */
async function renderStep(deps: ApplyDeps, run: RunContext): Promise<Rendered | ApplyResult> {
  const at = deps.clock.now();
  try {
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
  } catch (error) {
    const unavailable = isDirectoryUnavailable(error);
    return {
      ...run,
      outcome: unavailable ? 'directory-unavailable' : 'error',
      changed: [],
      message: error instanceof Error ? error.message : String(error),
      // Name every problem: "1 problem found" alone tells the admin nothing.
      details: error instanceof ProblemsError ? error.problems.map(formatProblem) : [],
      warnings: [],
      error,
    };
  } finally {
    run.durations['render'] = seconds(deps.clock.now() - at);
  }
}

// ---- compare ------------------------------------------------------------------------------

/** The rendered generation against the one `current` names. */
interface Compared {
  rendered: Rendered;
  /** The generation `current` names, undefined on the first run. */
  previous: string | undefined;
  previousMeta: GenerationMeta | undefined;
  /** Relative paths created, changed or removed. */
  changed: string[];
  pidFile: string;
  logFile: string;
}

/**
 * Compares the rendered files with the served generation (by the hashes of its manifest where
 * it has one). A change found before the minimum reload interval is over waits for it (or ends
 * the run `deferred`), and is then rendered again so that every change made meanwhile goes into
 * this one reload.
 */
async function compareStep(
  options: ApplyOptions,
  deps: ApplyDeps,
  run: RunContext,
  state: ApplyState,
  first: Rendered,
): Promise<Compared | ApplyResult> {
  const { clock, generations } = deps;
  const previous = await generations.current();
  const previousMeta = previous === undefined ? undefined : await generations.readMeta(previous);
  const compare = async (rendered: Rendered): Promise<Compared> => {
    const current =
      previous === undefined ? new Map<string, DiskFile>() : await generations.readFiles(previous);
    return {
      rendered,
      previous,
      previousMeta,
      changed: computeChangedPaths(rendered.files, current),
      pidFile: rendered.generation.vars.get('main.pidfile') ?? '',
      logFile: rendered.generation.vars.get('main.logfile') ?? '',
    };
  };
  const compared = await compare(first);
  const interval = options.minReloadIntervalMs ?? 0;
  const readyAt = (state.lastReloadAt ?? -Infinity) + interval;
  // Only a run that publishes something waits; `previous === undefined` always publishes.
  const publishes = compared.changed.length > 0 || previous === undefined;
  if (!publishes || interval <= 0 || clock.now() >= readyAt) return compared;
  if (options.deferInsteadOfWait === true) {
    return {
      ...run,
      outcome: 'deferred',
      generation: previous,
      previous,
      hash: first.hash,
      changed: compared.changed,
      message: `${compared.changed.length} file(s) changed; published after the minimum reload interval`,
      warnings: first.generation.warnings,
      retryAt: readyAt,
    };
  }
  await clock.sleep(readyAt - clock.now(), options.signal);
  const again = await renderStep(deps, run);
  return 'outcome' in again ? again : await compare(again);
}

/** Nothing changed on disk: still make sure nginx serves `current` (after a kill mid-switch). */
async function resyncStep(
  options: ApplyOptions,
  deps: ApplyDeps,
  run: RunContext,
  compared: Compared & { previous: string },
  testMs: number | undefined,
): Promise<ApplyResult> {
  const { rendered, previous, previousMeta } = compared;
  const unchanged: ApplyResult = {
    outcome: 'unchanged',
    generation: previous,
    previous,
    hash: rendered.hash,
    changed: [],
    details: [],
    durations: run.durations,
    message: `nothing changed: generation ${previous} is up to date`,
    warnings: rendered.generation.warnings,
  };
  const listen = previousMeta?.markerListen;
  if (options.noReload === true || listen === undefined) return unchanged;
  const pid = await deps.nginx.masterPid(compared.pidFile);
  if (pid === undefined) return unchanged;
  const served = await deps.nginx.servedGeneration(listen);
  // Nothing answers: nginx runs some other configuration; reloading would not fix that.
  if (served === undefined || served === previous) return unchanged;
  const at = deps.clock.now();
  const confirmed = await reloadAndConfirm(options, deps, {
    pid,
    id: previous,
    markerListen: listen,
    logFile: compared.logFile,
    testMs,
  });
  run.durations['reload'] = seconds(deps.clock.now() - at);
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

// ---- guard --------------------------------------------------------------------------------

/** A change the sanity guard lets through, with where its marker listens. */
interface Guarded extends Compared {
  /** The marker's loopback listen address, undefined when the templates include no marker. */
  markerListen: string | undefined;
}

/**
 * Rollout control (engine/canary.ts): a new revision waits until the canary proxy serves it;
 * the `canary-pending` result, or undefined to publish.
 */
async function canaryStep(
  options: ApplyOptions,
  run: RunContext,
  guarded: Guarded,
): Promise<ApplyResult | undefined> {
  const { rendered, previous, changed } = guarded;
  const identity = rendered.generation.identity;
  if (options.canary === undefined || identity === undefined) return undefined;
  const held = await options.canary.check(identity);
  if (held === undefined) return undefined;
  return {
    ...run,
    outcome: 'canary-pending',
    generation: previous,
    previous,
    hash: rendered.hash,
    changed,
    details: held.details,
    message: `${held.message}; generation ${previous ?? '(none)'} still served`,
    warnings: rendered.generation.warnings,
    retryAt: held.retryAt,
  };
}

/** Refuses a generation whose guarded lists shrink too much (unless forced). */
function guardStep(
  options: ApplyOptions,
  run: RunContext,
  compared: Compared,
): Guarded | ApplyResult {
  const { rendered, previous, previousMeta, changed } = compared;
  const reasons = checkGuard(previousMeta?.counts, rendered.counts, options.maxShrink ?? 0.5);
  if (reasons.length > 0 && options.force !== true) {
    return {
      ...run,
      outcome: 'refused',
      generation: previous,
      previous,
      hash: rendered.hash,
      changed,
      details: reasons,
      message: `refusing to publish: ${reasons.join('; ')}`,
      warnings: rendered.generation.warnings,
    };
  }
  const markerListen = includesMarker(rendered.files)
    ? (rendered.generation.vars.get('stock.generation.listen') ?? '')
    : undefined;
  if (markerListen !== undefined && !LOOPBACK_LISTEN.test(markerListen)) {
    throw new ProxyConfError(
      'E_INPUT',
      `stock.generation.listen must be a loopback address and port (got "${markerListen}")`,
      { hint: '-c stock.generation.listen=127.0.0.1:7078' },
    );
  }
  return { ...compared, markerListen };
}

// ---- publish ------------------------------------------------------------------------------

/**
 * Stages the generation under a fresh id, tests it with `nginx -t`, switches `current` to it,
 * reloads and confirms; a reload nginx does not confirm switches back to the previous one.
 */
async function publishStep(
  options: ApplyOptions,
  deps: ApplyDeps,
  run: RunContext,
  guarded: Guarded,
): Promise<ApplyResult> {
  const staged = await stageAndTest(deps, run, guarded);
  if ('outcome' in staged) return staged;
  const { id, testMs } = staged;
  const { previous, changed, rendered } = guarded;
  await deps.generations.switchTo(id);
  const published = {
    ...run,
    generation: id,
    previous,
    hash: rendered.hash,
    changed,
    warnings: rendered.generation.warnings,
    testMs,
  };
  const pid = options.noReload === true ? undefined : await deps.nginx.masterPid(guarded.pidFile);
  if (pid === undefined) {
    await pruneGenerations(deps.generations, id, options.keep ?? 5);
    return {
      ...published,
      outcome: 'published',
      message:
        options.noReload === true
          ? `generation ${id} published, not reloaded (--no-reload)`
          : `generation ${id} published; nginx is not running, nothing reloaded`,
    };
  }
  const reloadAt = deps.clock.now();
  const target = { pid, logFile: guarded.logFile, testMs };
  const confirmed = await reloadAndConfirm(options, deps, {
    ...target,
    id,
    markerListen: guarded.markerListen,
  });
  run.durations['reload'] = seconds(deps.clock.now() - reloadAt);
  if (confirmed.ok) {
    await pruneGenerations(deps.generations, id, options.keep ?? 5);
    return {
      ...published,
      outcome: 'reloaded',
      message: `generation ${id} published and served (${changed.length} file(s) changed)`,
    };
  }
  const failed = { ...target, id, markerListen: guarded.markerListen };
  const result = await rollBack(options, deps, guarded, failed, confirmed);
  run.durations['reload'] = seconds(deps.clock.now() - reloadAt);
  return { ...published, ...result };
}

/** Stages the complete tree under a fresh id and runs `nginx -t` on it. */
async function stageAndTest(
  deps: ApplyDeps,
  run: RunContext,
  guarded: Guarded,
): Promise<{ id: string; testMs: number } | ApplyResult> {
  const { clock, generations, nginx } = deps;
  const { rendered, previous, changed, markerListen } = guarded;
  const ids = await generations.list();
  const id = String(
    Math.max(
      0,
      ...[...ids, previous ?? '0'].map((value) => Number(value)).filter(Number.isFinite),
    ) + 1,
  );
  const meta: GenerationMeta = {
    id,
    hash: rendered.hash,
    createdAt: clock.now(),
    server: rendered.generation.server,
    counts: rendered.counts,
    markerListen,
    // Fleet identity (engine/fleet-identity.ts): who serves which directory revision.
    revision: rendered.generation.identity?.revision,
    directoryHash: rendered.generation.identity?.directoryHash,
  };
  const identity = rendered.generation.identity;
  const marker = renderGenerationMarker(
    id,
    markerListen ?? '127.0.0.1:7078',
    identity === undefined
      ? undefined
      : {
          identity,
          statusFile: fleetStatusFile(rendered.generation.paths.confDir),
          publishedAt: meta.createdAt,
        },
  );
  // A generation nginx -t refused stays on disk for inspection until the next one is staged.
  for (const old of ids) {
    if (old !== previous && Number(old) > Number(previous ?? 0)) await generations.remove(old);
  }
  const stageAt = clock.now();
  const mainFile = await generations.stage(id, rendered.files, marker, meta);
  run.durations['stage'] = seconds(clock.now() - stageAt);
  const validateAt = clock.now();
  const test = await nginx.test(mainFile);
  const testMs = clock.now() - validateAt;
  run.durations['validate'] = seconds(testMs);
  if (test.ok) return { id, testMs };
  const kept = mainFile.slice(0, Math.max(0, mainFile.lastIndexOf('/')));
  return {
    ...run,
    outcome: 'validation-failed',
    generation: previous,
    previous,
    hash: rendered.hash,
    changed,
    details: test.output === '' ? [] : test.output.split('\n'),
    message: test.timedOut
      ? `nginx -t did not finish in time on generation ${id} (kept for inspection in ${kept}); generation ${previous ?? '(none)'} still served`
      : `nginx -t failed on generation ${id} (kept for inspection in ${kept}); generation ${previous ?? '(none)'} still served`,
    warnings: rendered.generation.warnings,
  };
}

/** The previous generation goes back behind `current` and is reloaded and confirmed. */
async function rollBack(
  options: ApplyOptions,
  deps: ApplyDeps,
  guarded: Guarded,
  failed: ReloadTarget,
  confirmed: Confirmation & { ok: false },
): Promise<Pick<ApplyResult, 'outcome' | 'generation' | 'details' | 'message'>> {
  const { previous, previousMeta } = guarded;
  const { id } = failed;
  const details = confirmed.details;
  if (previous === undefined) {
    return {
      outcome: 'rollback-failed',
      generation: id,
      details,
      message: `the reload of generation ${id} failed and there is no previous generation to go back to: ${confirmed.reason}`,
    };
  }
  await deps.generations.switchTo(previous);
  const back = await reloadAndConfirm(options, deps, {
    ...failed,
    id: previous,
    markerListen: previousMeta?.markerListen,
  });
  await deps.generations.remove(id);
  if (back.ok) {
    return {
      generation: previous,
      outcome: 'rolled-back',
      details,
      message: `the reload of generation ${id} failed (${confirmed.reason}); generation ${previous} switched back and served`,
    };
  }
  return {
    generation: previous,
    outcome: 'rollback-failed',
    details: [...details, ...back.details],
    message: `the reload of generation ${id} failed (${confirmed.reason}) and generation ${previous} is not confirmed either (${back.reason})`,
  };
}

// ---- state --------------------------------------------------------------------------------

/**
 * Writes the run's counters and timestamps. A state file that cannot be written (a full disk)
 * is reported with the result, never thrown: the pass itself is done, the daemon keeps running.
 */
async function stateStep(
  deps: ApplyDeps,
  state: ApplyState,
  result: ApplyResult,
): Promise<ApplyResult> {
  try {
    await deps.state.write(updateState(state, result, deps.clock.now()));
  } catch (error) {
    result.warnings.push({
      code: 'W_APPLY_STATE_UNWRITABLE',
      message: `cannot write the apply state: ${error instanceof Error ? error.message : String(error)}`,
      hint: 'check the free space and permissions of the workdir',
    });
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
