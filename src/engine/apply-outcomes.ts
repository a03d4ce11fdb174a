/**
 * The one table of how an `--apply` run can end. The CLI's exit codes and help text, the state
 * file's counters, and the `--watch` loop's retry rule are all read from it, so an outcome means
 * the same thing everywhere.
 */
import type { ApplyState } from '../ports.js';

/** How a run ended. */
export type ApplyOutcome =
  | 'unchanged'
  | 'resynced'
  | 'reloaded'
  | 'published'
  | 'deferred'
  | 'validation-failed'
  | 'refused'
  | 'rolled-back'
  | 'rollback-failed'
  | 'directory-unavailable'
  | 'locked'
  | 'canary-pending'
  | 'error';

/** The state file's failure counters an outcome can increment. */
type FailureCounter = Extract<
  keyof ApplyState,
  'validationFailures' | 'guardRefusals' | 'reloadFailures' | 'directoryFailures'
>;

/** Everything an outcome means. */
export interface OutcomeRule {
  /** Exit code of a one-shot `--apply`. */
  exit: number;
  /** The exit code's meaning in `--help` (outcomes sharing a code share the first text). */
  exitText: string;
  /** Counts as a success (the state file's `lastSuccessAt`). */
  success: boolean;
  /** The state file counter it increments, if any. */
  counter?: FailureCounter;
  /**
   * What `--watch` does next: `backoff` retries with exponential backoff (an edit of the inputs
   * ends it), `retry-at` waits for the run's `retryAt`, `poll` goes on polling.
   */
  retry: 'backoff' | 'retry-at' | 'poll';
  /** One line for help texts and the README. */
  text: string;
}

export const APPLY_OUTCOME_RULES: Readonly<Record<ApplyOutcome, OutcomeRule>> = {
  unchanged: {
    exit: 0,
    exitText: 'no change',
    success: true,
    retry: 'poll',
    text: 'nothing changed: nothing written, nothing reloaded',
  },
  // A one-shot run waits out the reload interval instead of deferring; the daemon never exits.
  deferred: {
    exit: 0,
    exitText: 'no change',
    success: true,
    retry: 'retry-at',
    text: 'a change waits for the minimum reload interval (daemon only)',
  },
  reloaded: {
    exit: 10,
    exitText: 'changed and reloaded',
    success: true,
    retry: 'poll',
    text: 'a new generation was published, nginx reloaded and serves it',
  },
  published: {
    exit: 10,
    exitText: 'changed and reloaded',
    success: true,
    retry: 'poll',
    text: 'a new generation was published; nginx is not running (or --no-reload), not reloaded',
  },
  'validation-failed': {
    exit: 11,
    exitText: 'nginx -t failed (old kept)',
    success: false,
    counter: 'validationFailures',
    retry: 'backoff',
    text: 'nginx -t failed on the staged generation; the old one is kept',
  },
  refused: {
    exit: 12,
    exitText: 'sanity guard refused',
    success: false,
    counter: 'guardRefusals',
    retry: 'backoff',
    text: 'the sanity guard refused to publish (a guarded list became empty or shrank)',
  },
  'rolled-back': {
    exit: 13,
    exitText: 'reload failed (rolled back)',
    success: false,
    counter: 'reloadFailures',
    retry: 'backoff',
    text: 'the reload failed; the previous generation was switched back and serves again',
  },
  'rollback-failed': {
    exit: 14,
    exitText: 'rollback failed',
    success: false,
    counter: 'reloadFailures',
    retry: 'backoff',
    text: 'the reload failed and the previous generation could not be confirmed either',
  },
  'directory-unavailable': {
    exit: 15,
    exitText: 'directory unavailable',
    success: false,
    counter: 'directoryFailures',
    retry: 'backoff',
    text: 'the directory (LDAP or LDIF) could not be read; files untouched',
  },
  locked: {
    exit: 16,
    exitText: 'locked',
    success: false,
    retry: 'retry-at',
    text: 'another run holds the lock',
  },
  resynced: {
    exit: 17,
    exitText: 'nothing changed but nginx served another generation (reloaded, current confirmed)',
    success: true,
    retry: 'poll',
    text: 'nothing changed, but nginx served another generation than current (an interrupted run, a reload behind the tool): reloaded, current confirmed served',
  },
  'canary-pending': {
    exit: 18,
    exitText: 'waiting for the canary (old kept)',
    success: false,
    retry: 'retry-at',
    text: 'a new revision waits until the canary proxy has served it for --canary-wait seconds; the old generation is kept',
  },
  error: {
    exit: 1,
    exitText: 'error',
    success: false,
    retry: 'backoff',
    text: 'the generation failed (invalid input, template or write error); nothing published',
  },
};

/** `0 no change, 10 changed and reloaded, …, 1 error`: each exit code once, in table order. */
export function applyExitSummary(): string {
  const seen = new Map<number, string>();
  for (const rule of Object.values(APPLY_OUTCOME_RULES)) {
    if (!seen.has(rule.exit)) seen.set(rule.exit, rule.exitText);
  }
  return [...seen].map(([code, text]) => `${code} ${text}`).join(', ');
}
