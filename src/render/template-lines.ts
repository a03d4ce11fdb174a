/** Splitting a template into lines, precompiled once per render (docs/zimbra-notes.md "Lines"). */
import { compileTokens } from './interpolate.js';

/** One template line, with what the engine needs to know about it computed once. */
export interface TemplateLine {
  text: string;
  /** 1-based line number in the template (after the Handlebars pass, for `.hbs` templates). */
  number: number;
  /** Whether the line contains `${` at all; a line without it is written as is. */
  hasToken: boolean;
  /** Whether the raw line starts with `#` (no trimming: an indented comment does not count). */
  isComment: boolean;
  /** Literals and token names for the fast path, when the line allows it (see compileTokens). */
  segments: readonly string[] | undefined;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Splits text into lines as Java's BufferedReader.readLine does: `\n`, `\r\n` and `\r` end a
 * line, and a final terminator does not start another (empty) line.
 */
export function splitTemplateLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Precompiles lines, numbering them from `firstNumber`. */
export function compileLines(lines: readonly string[], firstNumber = 1): TemplateLine[] {
  return lines.map((text, index) => {
    const hasToken = text.includes('${');
    return {
      text,
      number: firstNumber + index,
      hasToken,
      isComment: text.startsWith('#'),
      segments: hasToken ? compileTokens(text) : undefined,
    };
  });
}
