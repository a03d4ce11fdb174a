/**
 * The template engine: every template to one output file, as ProxyConfGen expands them
 * (docs/zimbra-notes.md "The template engine").
 */
import type { Problem } from '../errors.js';
import type { BodyContext } from './explode.js';
import { renderDomainBody, renderPlainBody, renderServerBody } from './explode.js';
import type { ExpansionReport, LineExpander } from './expand-line.js';
import { createLineExpander } from './expand-line.js';
import { renderHandlebars } from './handlebars.js';
import { parseHeader } from './header.js';
import { DEFAULT_MAX_SUBSTITUTIONS_PER_LINE } from './interpolate.js';
import { computeOutputTarget } from './output-name.js';
import { compileLines, splitTemplateLines } from './template-lines.js';
import type {
  RenderInput,
  RenderOptions,
  RenderResult,
  RenderedFile,
  TemplateSource,
} from './types.js';

/**
 * The result marker ProxyConfGen appends to the main file on success (docs/zimbra-notes.md "Errors
 * and the result marker").
 */
export const SUCCESS_MARKER = '\n#__SUCCESS__\n';

/**
 * Renders every template to its output file. Problems of all templates are collected; any problem
 * means no file at all.
 */
export function renderTemplates(input: RenderInput, options: RenderOptions): RenderResult {
  const report: ExpansionReport = { problems: [], warnings: [] };
  const expand = createLineExpander(
    input.vars,
    {
      lenient: options.lenient ?? false,
      maxSubstitutionsPerLine: normaliseLimit(options.maxSubstitutionsPerLine),
    },
    report,
  );
  let handlebarsContext: Readonly<Record<string, unknown>> | undefined;
  const files: RenderedFile[] = [];
  const writers = new Map<string, string>();

  for (const template of input.templates) {
    const target = computeOutputTarget(template.name, options);
    if (!target.ok) {
      report.problems.push({
        subject: template.name,
        entry: template.path,
        message: target.message,
      });
      continue;
    }
    const other = writers.get(target.path);
    if (other !== undefined) {
      report.problems.push({
        subject: template.name,
        entry: template.path,
        message: `writes ${target.path}, as ${other} does`,
        hint: 'keep only one of the two templates',
      });
      continue;
    }
    writers.set(target.path, template.name);

    let text = template.text;
    if (target.handlebars) {
      // The caller's own `vars` key, if it has one, wins over the global variables.
      handlebarsContext ??= { vars: Object.fromEntries(input.vars), ...input.handlebarsContext };
      const rendered = renderHandlebars(text, handlebarsContext);
      if (!rendered.ok) {
        report.problems.push({
          subject: template.name,
          entry: template.path,
          message: `Handlebars: ${rendered.message}`,
        });
        continue;
      }
      text = rendered.text;
    }

    const content = renderText(template, text, input, expand, report.problems);
    if (content === undefined) continue;
    files.push({
      path: target.path,
      // Conscious fix: the marker is opt-in; only zmproxyctl's start check reads it, nginx ignores
      // it.
      content: target.main && options.marker === true ? content + SUCCESS_MARKER : content,
      template: template.name,
    });
  }

  if (report.problems.length > 0) {
    return { ok: false, problems: report.problems, warnings: report.warnings };
  }
  return { ok: true, files, warnings: report.warnings };
}

/** Renders one template's (post-Handlebars) text; undefined when its header is illegal. */
function renderText(
  template: TemplateSource,
  text: string,
  input: RenderInput,
  expand: LineExpander,
  problems: Problem[],
): string | undefined {
  const lines = splitTemplateLines(text);
  // Zimbra fails on an empty template (it reads a null first line); an empty file is the obvious
  // intent.
  if (lines.length === 0) return '';
  const context: BodyContext = { templatePath: template.path, expand, out: [] };
  const header = parseHeader(lines[0] ?? '');
  // The header line is never written: the body starts at line 2.
  const body = () => compileLines(lines.slice(1), 2);

  switch (header.kind) {
    case 'none':
      renderPlainBody(context, compileLines(lines));
      break;
    case 'domain':
    case 'legacy':
      // Without per-virtual-hostname generation the file is empty. ProxyConfGen does not check the
      // flag for the legacy form, but it loads no domain at all then, which comes to the same.
      if (input.perVirtualHostname) {
        renderDomainBody(
          context,
          body(),
          input.domains,
          header.kind === 'domain' ? header.args : [],
        );
      }
      break;
    case 'server':
      renderServerBody(context, body(), input.servers, header.service);
      break;
    case 'error':
      // Conscious fix: ProxyConfGen returns an empty file for any non-server `explode` directive
      // when per-virtual-hostname generation is off, so a broken header goes unnoticed until the
      // flag is turned on; we report it whatever the flag says.
      problems.push({
        subject: template.name,
        entry: `${template.path}:1`,
        message: header.message,
        hint: 'the first line may hold only !{explode domain(<args>)} or !{explode server(<service>)}',
      });
      return undefined;
  }
  return context.out.length === 0 ? '' : `${context.out.join('\n')}\n`;
}

function normaliseLimit(limit: number | undefined): number {
  return limit === undefined || Number.isNaN(limit) || limit < 0
    ? DEFAULT_MAX_SUBSTITUTIONS_PER_LINE
    : limit;
}
