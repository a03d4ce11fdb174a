/**
 * The doctor's two outputs: a human report grouped by check (colour only on a terminal), and the
 * stable JSON of `--json`: `{ version: 1, server, findings: [{ check, severity, subject,
 * evidence, explanation, fix }], summary: { ok, warn, fail } }`.
 */
import type { CheckId, DoctorReport, Finding, Severity } from './finding.js';
import { checkTitle } from './checks/index.js';

/** Options of {@link formatHumanReport}. */
export interface FormatReportOptions {
  /** ANSI colours for the severities. @default false */
  colour?: boolean;
  /** Wrap text at this many columns. @default 100 */
  width?: number;
  /** Show `ok` findings too. @default true */
  showOk?: boolean;
}

const LABEL: Readonly<Record<Severity, string>> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };
const COLOUR: Readonly<Record<Severity, string>> = { ok: '32', warn: '33', fail: '31' };

/** The report as JSON text (two-space indent, trailing newline). */
export function formatJsonReport(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The report for people: one section per check, the failures first within each. */
export function formatHumanReport(report: DoctorReport, options: FormatReportOptions = {}): string {
  const width = options.width ?? 100;
  const paint = (severity: Severity, text: string) =>
    options.colour === true ? `\u001b[${COLOUR[severity]}m${text}\u001b[0m` : text;
  const lines: string[] = [`zmproxy doctor for proxy ${report.server}`];
  const groups = new Map<CheckId, Finding[]>();
  for (const finding of report.findings) {
    const list = groups.get(finding.check) ?? [];
    list.push(finding);
    groups.set(finding.check, list);
  }
  const rank: Readonly<Record<Severity, number>> = { fail: 0, warn: 1, ok: 2 };
  for (const [check, findings] of groups) {
    const shown = findings
      .filter((f) => options.showOk !== false || f.severity !== 'ok')
      .sort((a, b) => rank[a.severity] - rank[b.severity]);
    if (shown.length === 0) continue;
    lines.push('', `${checkTitle(check)} (${check})`);
    for (const finding of shown) {
      const label = paint(finding.severity, LABEL[finding.severity].padEnd(4));
      lines.push(
        ...wrap(`${finding.subject}: ${finding.evidence}`, width - 8, `  ${label}  `, '        '),
      );
      if (finding.severity === 'ok') continue;
      if (finding.explanation !== '') {
        lines.push(...wrap(finding.explanation, width - 13, '        why: ', '             '));
      }
      if (finding.fix !== null) {
        // Never wrapped inside a command, so it can be pasted; a line ending in && continues.
        const commands = finding.fix.split(' && ');
        lines.push(
          ...commands.map(
            (command, i) =>
              `${i === 0 ? '        fix: ' : '             '}${command}${i < commands.length - 1 ? ' &&' : ''}`,
          ),
        );
      }
    }
  }
  const { ok, warn, fail } = report.summary;
  lines.push(
    '',
    `${paint('ok', `${ok} ok`)}, ${paint('warn', `${warn} warning${warn === 1 ? '' : 's'}`)}, ${paint('fail', `${fail} failure${fail === 1 ? '' : 's'}`)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Word-wraps `text`; the first line gets `first`, the others `rest` in front. */
function wrap(text: string, width: number, first: string, rest: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  out.push(line);
  return out.map((part, index) => `${index === 0 ? first : rest}${part}`);
}
