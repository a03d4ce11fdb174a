/**
 * The reload half of an `--apply` publish: signal nginx, then confirm it serves the generation
 * (the marker answers its id, or the error log stays calm), waiting on while the master is still
 * busy; and the pruning of old generations once one is confirmed.
 */
import type { GenerationStore } from '../ports.js';
import type { ApplyDeps, ApplyOptions } from './apply.js';

/** What a reload is to confirm. */
export interface ReloadTarget {
  pid: number;
  id: string;
  markerListen: string | undefined;
  logFile: string;
  testMs: number | undefined;
}

/** Whether nginx serves the target, and if not why. */
export type Confirmation = { ok: true } | { ok: false; reason: string; details: string[] };

/**
 * SIGHUP, then wait until the marker answers `id` (or, without a marker, the log stays calm). The
 * wait grows with the tree: 3 × its `nginx -t` time, at least `confirmTimeoutMs`; past that, it
 * goes on while the master is still busy reading the configuration (its CPU time grows), so that
 * the caller never rolls back, and queues a second reload, behind one nginx is still doing.
 */
export async function reloadAndConfirm(
  options: ApplyOptions,
  deps: ApplyDeps,
  target: ReloadTarget,
): Promise<Confirmation> {
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
export async function pruneGenerations(
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
