/** Expands one template line against the variables, collecting problems instead of throwing. */
import type { Problem, Warning } from '../errors.js';
import type { FillResult } from './interpolate.js';
import { MAX_EXPANDED_LINE_LENGTH, fillCompiled, fillTemplate } from './interpolate.js';
import type { TemplateLine } from './template-lines.js';

/** Variables of one explode repetition (`vhn`, `server_id`, …), laid over the global ones. */
export type ItemVars = Readonly<Record<string, string>>;

/** Expands a line; undefined when it could not be expanded (a problem was recorded). */
export type LineExpander = (
  templatePath: string,
  line: TemplateLine,
  itemVars?: ItemVars,
) => string | undefined;

/** Settings of {@link createLineExpander}. */
export interface LineExpanderOptions {
  lenient: boolean;
  maxSubstitutionsPerLine: number;
}

/** Where problems and warnings of a render go. */
export interface ExpansionReport {
  problems: Problem[];
  warnings: Warning[];
}

const LENIENT_HINT =
  'correct the name in the template (zmproxyconfgen -d lists the variables), or run with --lenient to expand unknown variables to "" as Zimbra does';

/** Creates the line expander of one render; it reports each unknown name once per file:line. */
export function createLineExpander(
  vars: ReadonlyMap<string, string>,
  options: LineExpanderOptions,
  report: ExpansionReport,
): LineExpander {
  // An explode template expands the same line once per item: report each place only once.
  const reported = new Set<string>();
  // The line being expanded; one resolve function serves every line (no closure per line).
  let currentItem: ItemVars | undefined;
  let currentPath = '';
  let currentLine = 0;

  const resolve = (name: string): string => {
    // Conscious fix: item variables are looked up here, per repetition, instead of being written
    // into the global map as ProxyConfGen does, so `vhn`, `ssl.crt`, … never leak into the
    // templates rendered after an explode template.
    if (currentItem !== undefined && Object.hasOwn(currentItem, name)) {
      return currentItem[name] ?? '';
    }
    const value = vars.get(name);
    if (value !== undefined) return value;
    const currentEntry = `${currentPath}:${currentLine}`;
    const key = `unknown\0${name}\0${currentEntry}`;
    if (!reported.has(key)) {
      reported.add(key);
      if (options.lenient) {
        // Zimbra's behaviour: the name expands to "" and generation goes on.
        report.warnings.push({
          code: 'W_TEMPLATE_VARIABLE_UNKNOWN',
          message: `\${${name}} is not a known variable; expanded to "" (${currentEntry})`,
        });
      } else {
        // Conscious fix: Zimbra only logs this; a typo would silently drop part of a directive.
        report.problems.push({
          subject: `\${${name}}`,
          entry: currentEntry,
          message: `\${${name}} is not a known variable`,
          hint: LENIENT_HINT,
        });
      }
    }
    return '';
  };

  return (templatePath, line, itemVars) => {
    if (!line.hasToken) return line.text;
    currentItem = itemVars;
    currentPath = templatePath;
    currentLine = line.number;
    if (line.segments !== undefined) {
      const text = fillCompiled(line.segments, resolve, options.maxSubstitutionsPerLine);
      if (text !== undefined) return text;
    }
    const result = fillTemplate(line.text, resolve, options.maxSubstitutionsPerLine);
    if (result.ok) return result.text;
    const currentEntry = `${templatePath}:${line.number}`;
    const key = `runaway\0${currentEntry}`;
    if (!reported.has(key)) {
      reported.add(key);
      report.problems.push(runawayProblem(result, currentEntry, options.maxSubstitutionsPerLine));
    }
    return undefined;
  };
}

/** The problem for a line whose expansion loops or outgrows the limits. */
function runawayProblem(
  result: Extract<FillResult, { ok: false }>,
  entry: string,
  maxSubstitutions: number,
): Problem {
  const subject = `\${${result.variable}}`;
  if (result.reason === 'cycle') {
    const chain = result.chain.join(' → ');
    return {
      subject,
      entry,
      message: `variable expansion does not terminate: ${subject} expands to itself (${chain})`,
      hint: `change the value of one of ${result.chain.slice(0, -1).join(', ')} (-c overrides too) so that it no longer leads back to ${subject}`,
    };
  }
  return {
    subject,
    entry,
    message: `variable expansion too large: more than ${maxSubstitutions} substitutions or ${MAX_EXPANDED_LINE_LENGTH} characters on one line`,
    hint: `check the value of ${result.variable} and of the variables it refers to (-c overrides too)`,
  };
}
