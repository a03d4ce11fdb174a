/**
 * What `zmproxy doctor` reports: findings, each naming the check that made it, a severity, the
 * thing it is about, the evidence seen, why it matters and the command that fixes it
 * (docs/architecture.md "The CLI contract"). The JSON form is the stable contract of `zmproxy
 * doctor --json`.
 */

/** How bad a finding is: `fail` makes the doctor exit 1. */
export type Severity = 'ok' | 'warn' | 'fail';

/** A check's stable id, e.g. `lookup-handlers` (src/doctor/checks/index.ts lists them); scripts match it. */
export type CheckId = string;

/** One finding of one check. */
export interface Finding {
  check: CheckId;
  severity: Severity;
  /** What the finding is about: a server, a domain, a file, `global config`. */
  subject: string;
  /** What was seen, with the values. */
  evidence: string;
  /** Why it matters for a Zimbra proxy; empty for most `ok` findings. */
  explanation: string;
  /** The exact command (or commands, joined with ` && `) that fixes it; null when none is needed. */
  fix: string | null;
}

/** Counts of findings per severity. */
export interface FindingSummary {
  ok: number;
  warn: number;
  fail: number;
}

/** The whole result of a doctor run; its JSON is the `--json` output. */
export interface DoctorReport {
  /** Schema version of this object; bumped only on incompatible changes. */
  version: 1;
  /** The proxy server the checks ran for (its cn). */
  server: string;
  /** Findings in check order (src/doctor/checks/index.ts), in the order each check made them. */
  findings: Finding[];
  summary: FindingSummary;
}

/** A finding with no fix, for `ok` results. */
export function okFinding(check: CheckId, subject: string, evidence: string): Finding {
  return { check, severity: 'ok', subject, evidence, explanation: '', fix: null };
}

/** Counts findings by severity. */
export function summarizeFindings(findings: readonly Finding[]): FindingSummary {
  const summary: FindingSummary = { ok: 0, warn: 0, fail: 0 };
  for (const finding of findings) summary[finding.severity] += 1;
  return summary;
}

/** Sorts findings into the given check order, keeping each check's own order. */
export function orderFindings(findings: readonly Finding[], order: readonly CheckId[]): Finding[] {
  const rank = new Map(order.map((id, index) => [id, index]));
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort(
      (a, b) =>
        (rank.get(a.finding.check) ?? 0) - (rank.get(b.finding.check) ?? 0) || a.index - b.index,
    )
    .map(({ finding }) => finding);
}

/** `zmprov mcf …` or `zmprov ms <server> …`, depending on where a value was found. */
export function modifyCommand(
  from: { kind: string } | undefined,
  name: string,
  change: string,
): string {
  return from === undefined || from.kind === 'globalConfig'
    ? `zmprov mcf ${change}`
    : `zmprov ms ${name} ${change}`;
}
