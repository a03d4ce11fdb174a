/**
 * The bodies of plain and explode templates (docs/zimbra-notes.md "Header directives and
 * explosion").
 */
import type { DomainExplodeItem, ServerExplodeItem } from './types.js';
import type { LineExpander } from './expand-line.js';
import type { TemplateLine } from './template-lines.js';

/** What the body renderers share: the template's path, its expander and the output lines. */
export interface BodyContext {
  templatePath: string;
  expand: LineExpander;
  /** Output lines; each is followed by a newline in the file. */
  out: string[];
}

function writeLines(
  context: BodyContext,
  lines: readonly TemplateLine[],
  itemVars?: Readonly<Record<string, string>>,
): void {
  const { templatePath, expand, out } = context;
  for (const line of lines) {
    const text = expand(templatePath, line, itemVars);
    if (text !== undefined) out.push(text);
  }
}

/** Writes every line once, with the global variables only. */
export function renderPlainBody(context: BodyContext, lines: readonly TemplateLine[]): void {
  writeLines(context, lines);
}

/** Whether a domain item passes every `domain(...)` filter argument; unknown arguments pass. */
export function passesDomainFilter(item: DomainExplodeItem, args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === 'vhn' && item.vhn === '') return false;
    if (
      arg === 'sso' &&
      (item.clientCertMode === undefined ||
        item.clientCertMode === '' ||
        item.clientCertMode === 'off')
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Repeats the body per qualifying domain item. The first block has every line; later blocks only
 * the lines that do not start with `#` (ProxyConfGen replays a cache of non-comment lines). Each
 * block is followed by an empty line.
 */
export function renderDomainBody(
  context: BodyContext,
  body: readonly TemplateLine[],
  items: readonly DomainExplodeItem[],
  args: readonly string[],
): void {
  let replay: readonly TemplateLine[] | undefined;
  for (const item of items) {
    if (!passesDomainFilter(item, args)) continue;
    if (replay === undefined) {
      writeLines(context, body, item.vars);
      replay = body.filter((line) => !line.isComment);
    } else {
      writeLines(context, replay, item.vars);
    }
    context.out.push('');
  }
}

/** Repeats the body, without lines starting with `#`, per server running `service`; no separator. */
export function renderServerBody(
  context: BodyContext,
  body: readonly TemplateLine[],
  servers: readonly ServerExplodeItem[],
  service: string,
): void {
  const kept = body.filter((line) => !line.isComment);
  for (const server of servers) {
    if (server.services.includes(service)) writeLines(context, kept, server.vars);
  }
}
