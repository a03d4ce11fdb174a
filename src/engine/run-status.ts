/**
 * The status of the last --apply/--watch run as the fleet sees it (`/zmproxy-status.json` on the
 * marker server, `zmproxy fleet status`), and why a failed run failed: every problem in the log
 * line, and counters by reason for the metrics.
 */
import { formatProblem, ProblemsError, ProxyConfError } from '../errors.js';
import type { ApplyResult } from './apply.js';
import { APPLY_OUTCOME_RULES } from './apply-outcomes.js';
import type { FleetIdentity, FleetRunStatus } from './fleet-identity.js';

/** Outcomes after which nginx serves exactly what the run rendered. */
const SERVES_RENDERED: ReadonlySet<string> = new Set(['reloaded', 'unchanged', 'resynced']);

/** Outcomes that mean the configuration could not be rendered or published. */
function failed(result: ApplyResult): boolean {
  const rule = APPLY_OUTCOME_RULES[result.outcome];
  return !rule.success && rule.retry === 'backoff';
}

/** The reason label of a failed run: the error code, or the outcome when there is no error. */
export function failureReason(result: ApplyResult): string {
  return result.error instanceof ProxyConfError ? result.error.code : result.outcome;
}

/** Every problem of a failed render, formatted (empty for other failures). */
export function failureProblems(result: ApplyResult): string[] {
  return result.error instanceof ProblemsError ? result.error.problems.map(formatProblem) : [];
}

/**
 * The message of a run, with every problem of a failed render spelled out ("2 problems found:
 * zimbraX on server a: …; zimbraY …") instead of only their number.
 */
export function describeRun(result: ApplyResult): string {
  const problems = failureProblems(result);
  return problems.length === 0 ? result.message : `${result.message}: ${problems.join('; ')}`;
}

/** The status after `result`, from the one before it (counters carry over). */
export function nextRunStatus(
  previous: FleetRunStatus | undefined,
  result: ApplyResult,
  rendered: FleetIdentity | undefined,
  now: number,
): FleetRunStatus {
  const next: FleetRunStatus = {
    server: rendered?.server ?? previous?.server,
    outcome: result.outcome,
    lastRunAt: now,
    lastSuccessAt: previous?.lastSuccessAt,
    lastError: previous?.lastError,
    lastErrorAt: previous?.lastErrorAt,
    renderedRevision: rendered?.revision ?? previous?.renderedRevision,
    renderedConfigHash: rendered?.directoryHash ?? previous?.renderedConfigHash,
    servedRevision: previous?.servedRevision,
    servedConfigHash: previous?.servedConfigHash,
    servedSince: previous?.servedSince,
    failures: { ...previous?.failures },
    problems: { ...previous?.problems },
  };
  // nginx now serves what this run rendered: published and reloaded, or the same files.
  if (rendered !== undefined && SERVES_RENDERED.has(result.outcome)) {
    if (next.servedConfigHash !== rendered.directoryHash) next.servedSince = now;
    next.servedConfigHash = rendered.directoryHash;
    next.servedRevision = rendered.revision;
  }
  if (APPLY_OUTCOME_RULES[result.outcome].success) {
    next.lastSuccessAt = now;
    next.lastError = undefined;
    next.lastErrorAt = undefined;
  } else if (failed(result)) {
    next.lastError = describeRun(result);
    next.lastErrorAt = now;
    const reason = failureReason(result);
    next.failures![reason] = (next.failures![reason] ?? 0) + 1;
    if (result.error instanceof ProblemsError) {
      for (const problem of result.error.problems) {
        next.problems![problem.subject] = (next.problems![problem.subject] ?? 0) + 1;
      }
    }
  }
  return next;
}

/** Parses a status file's text; undefined when damaged. */
export function parseRunStatus(text: string): FleetRunStatus | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const status = value as FleetRunStatus;
    return typeof status.outcome === 'string' ? status : undefined;
  } catch {
    return undefined;
  }
}
