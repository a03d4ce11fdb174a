/**
 * The `--watch` daemon's loop: poll a cheap fingerprint of the inputs (LDIF mtimes or LDAP
 * entryCSN/modifyTimestamp, localconfig and template mtimes); run a full pass when it changed,
 * when a pass is pending (deferred by the reload interval, failed), when forced (SIGHUP), and
 * every `fullIntervalMs` anyway (DNS answers and anything the fingerprint cannot see). A pass
 * renders everything and compares the generation hash, so the fingerprint only decides when.
 * A failing pass keeps the last good generation and is retried with exponential backoff; when
 * the inputs change after a failure (the admin fixed the value), or the probe answers again after
 * failing (LDAP is back), the backoff starts over and the pass runs at the next poll; the probe
 * runs every interval even during the backoff, so that costs at most one interval.
 */
import type { Clock } from '../ports.js';
import type { ApplyResult } from './apply.js';
import { APPLY_OUTCOME_RULES } from './apply-outcomes.js';
import { describeRun, failureProblems, failureReason } from './run-status.js';

/** What a failing pass "saw" when the probe itself failed (LDAP down). */
const PROBE_FAILED = '\0probe-failed';

/** Options of {@link runWatch}. */
export interface WatchOptions {
  /** Time between two polls of the fingerprint, in ms. @default 10000 */
  intervalMs?: number;
  /** A full pass at least this often, in ms. @default 300000 */
  fullIntervalMs?: number;
  /** First retry delay after a failed pass, in ms; doubles up to `maxBackoffMs`. @default 1000 */
  minBackoffMs?: number;
  /** @default 300000 */
  maxBackoffMs?: number;
  /** Ends the loop (SIGTERM); the running pass finishes first. */
  signal: AbortSignal;
}

/** What {@link runWatch} uses. */
export interface WatchDeps {
  /** One pass (runApply with the daemon's options). */
  pass: () => Promise<ApplyResult>;
  /** The cheap fingerprint of the inputs; throws when the directory cannot be asked. */
  fingerprint: () => Promise<string>;
  clock: Clock;
  /** One JSON log line per pass. */
  log: (line: Record<string, unknown>) => void;
  /** Registers the "force a pass now" trigger (SIGHUP); returns nothing. */
  onForce: (trigger: () => void) => void;
  /** Called after every pass (metrics). */
  afterPass?: (result: ApplyResult) => void | Promise<void>;
}

/** Runs until `options.signal` aborts. */
export async function runWatch(options: WatchOptions, deps: WatchDeps): Promise<void> {
  const { clock } = deps;
  const interval = options.intervalMs ?? 10_000;
  const fullInterval = options.fullIntervalMs ?? 300_000;
  const minBackoff = options.minBackoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 300_000;
  let wake = new AbortController();
  let forced = true;
  deps.onForce(() => {
    forced = true;
    wake.abort();
  });
  options.signal.addEventListener('abort', () => wake.abort(), { once: true });

  let lastFingerprint: string | undefined;
  let lastFullAt = -Infinity;
  let failures = 0;
  let retryAt: number | undefined;
  /**
   * The fingerprint the last failing pass saw (PROBE_FAILED when the probe failed too); a
   * different one means the inputs were edited, or the directory came back.
   */
  let failedFingerprint: string | undefined;
  /** The probe failed since the last failing pass: its first success is a change too. */
  let probeFailedSinceFailure = false;
  let pass = 0;
  while (!options.signal.aborted) {
    let fingerprint: string | undefined;
    let probeError: string | undefined;
    try {
      fingerprint = await deps.fingerprint();
    } catch (error) {
      probeError = error instanceof Error ? error.message : String(error);
    }
    const now = clock.now();
    let delay = interval;
    if (probeError !== undefined && failedFingerprint !== undefined) probeFailedSinceFailure = true;
    const editedSinceFailure =
      failedFingerprint !== undefined &&
      fingerprint !== undefined &&
      (fingerprint !== failedFingerprint || probeFailedSinceFailure);
    const due =
      forced ||
      probeError !== undefined ||
      fingerprint !== lastFingerprint ||
      (retryAt !== undefined && now >= retryAt) ||
      now - lastFullAt >= fullInterval ||
      editedSinceFailure;
    if (editedSinceFailure) failures = 0;
    if (due && (retryAt === undefined || now >= retryAt || forced || editedSinceFailure)) {
      const reason = forced
        ? 'forced'
        : probeError !== undefined
          ? 'probe-failed'
          : editedSinceFailure || (retryAt === undefined && fingerprint !== lastFingerprint)
            ? 'inputs-changed'
            : retryAt !== undefined
              ? 'retry'
              : 'periodic';
      forced = false;
      pass += 1;
      const result = await deps.pass();
      lastFullAt = clock.now();
      deps.log({
        time: new Date(clock.now()).toISOString(),
        pass,
        reason,
        outcome: result.outcome,
        generation: result.generation,
        previous: result.previous,
        hash: result.hash,
        changed: result.changed.length,
        durations: result.durations,
        // Every problem of a failed render, not only "1 problem found".
        message: describeRun(result),
        ...(APPLY_OUTCOME_RULES[result.outcome].success ? {} : { failure: failureReason(result) }),
        ...(failureProblems(result).length > 0 ? { problems: failureProblems(result) } : {}),
        ...(result.details.length > 0 ? { details: result.details } : {}),
        ...(probeError !== undefined ? { probeError } : {}),
      });
      try {
        await deps.afterPass?.(result);
      } catch (error) {
        // A metrics file that cannot be written must not end the daemon.
        deps.log({
          time: new Date(clock.now()).toISOString(),
          pass,
          event: 'after-pass-failed',
          message: error instanceof Error ? error.message : String(error),
        });
      }
      if (APPLY_OUTCOME_RULES[result.outcome].retry === 'backoff') {
        failures += 1;
        const backoff = Math.min(maxBackoff, minBackoff * 2 ** (failures - 1));
        retryAt = clock.now() + backoff;
        // Keep polling meanwhile: an edit of the inputs ends the backoff.
        delay = Math.min(interval, backoff);
        failedFingerprint = fingerprint ?? PROBE_FAILED;
        probeFailedSinceFailure = probeError !== undefined;
      } else if (APPLY_OUTCOME_RULES[result.outcome].retry === 'retry-at') {
        failures = 0;
        failedFingerprint = undefined;
        probeFailedSinceFailure = false;
        retryAt = result.retryAt ?? clock.now() + interval;
        delay = Math.max(0, Math.min(interval, retryAt - clock.now()));
      } else {
        failures = 0;
        failedFingerprint = undefined;
        probeFailedSinceFailure = false;
        retryAt = undefined;
        lastFingerprint = fingerprint;
      }
    } else if (retryAt !== undefined) {
      delay = Math.max(0, Math.min(interval, retryAt - now));
    }
    if (options.signal.aborted) break;
    await clock.sleep(delay, wake.signal);
    if (wake.signal.aborted) wake = new AbortController();
  }
}
