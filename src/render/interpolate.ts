/**
 * `${name}` substitution with ProxyConfGen's semantics (docs/zimbra-notes.md "`${name}`
 * substitution").
 */

/**
 * A safety net, not the loop detector: loops are found by the variables involved (see
 * {@link fillTemplate}), so a long finite expansion (10 001 tokens on a line, a value doubled 13
 * times) renders as in Zimbra. A line past this many substitutions, or past
 * {@link MAX_EXPANDED_LINE_LENGTH} characters, is refused instead of exhausting memory.
 */
export const DEFAULT_MAX_SUBSTITUTIONS_PER_LINE = 1_000_000;

/** Characters one expanded line may reach (Zimbra would go on until the JVM runs out of heap). */
export const MAX_EXPANDED_LINE_LENGTH = 64 * 1024 * 1024;

/** A `${name}` (or `!{name}`) token found in a line. */
export interface Token {
  /** Index of the opening `$` (or `!`). */
  start: number;
  /** Index just past the closing `}`. */
  end: number;
  name: string;
}

const CLOSE = 125; // '}'

/**
 * Finds the token Java's `matches()` of `(.*)<open>\{([^\}]+)\}(.*)` (DOTALL) would pick: the
 * greedy prefix makes it the LAST opener that is followed by a non-empty run of non-`}` characters
 * and a `}`. Searching backwards with lastIndexOf keeps this linear instead of backtracking.
 *
 * `searchFrom` is the highest start index to consider (callers use it to skip a suffix already
 * known to hold no token).
 */
export function findLastToken(
  line: string,
  opener = '${',
  searchFrom = line.length - opener.length,
): Token | undefined {
  if (searchFrom < 0) return undefined;
  let pos = line.lastIndexOf(opener, searchFrom);
  if (pos < 0) return undefined;
  // The first `}` at or after the candidate's name start. A smaller candidate's first `}` is either
  // before the previous candidate's name start or the same one, so after the first indexOf only
  // the gap between candidates is scanned: linear even for `${${${…` without any `}`.
  let nameStart = pos + opener.length;
  let close = line.indexOf('}', nameStart);
  for (;;) {
    // `${}` (empty name) is not a token, and without any `}` there is none either.
    if (close > nameStart) {
      return { start: pos, end: close + 1, name: line.slice(nameStart, close) };
    }
    if (pos === 0) return undefined;
    const previousNameStart = nameStart;
    pos = line.lastIndexOf(opener, pos - 1);
    if (pos < 0) return undefined;
    nameStart = pos + opener.length;
    for (let i = previousNameStart - 1; i >= nameStart; i--) {
      if (line.charCodeAt(i) === CLOSE) close = i;
    }
  }
}

/** What {@link fillTemplate} returns. */
export type FillResult =
  | { ok: true; text: string }
  /**
   * `cycle`: a token lies wholly inside an expansion of the same variable, so the expansion repeats
   * for ever; `chain` is the path of variables from the first to the repeated one (`a → b → a`).
   * `limit`: more substitutions (or characters) than allowed; `variable` is the one being expanded.
   */
  | { ok: false; reason: 'cycle' | 'limit'; variable: string; chain: readonly string[] };

/** One substituted value still being scanned: its variable and where its text now lies. */
interface ActiveExpansion {
  name: string;
  start: number;
  end: number;
}

/**
 * Expands every `${name}` token of a line, last token first, rescanning after each substitution as
 * StringUtil.fillTemplate (Zimbra/zm-mailbox
 * common/src/java/com/zimbra/common/util/StringUtil.java). `resolve` supplies the value of a name
 * (it decides what an unknown name becomes).
 *
 * Conscious fix: Zimbra loops for ever when a value (directly or through others) contains its own
 * token. Because tokens are taken last-first and everything right of a token is already final, the
 * values being expanded form a stack of nested text ranges. A token found wholly inside the range
 * of an expansion of the same name will be expanded again inside its own copy, and so on without
 * end: that is reported as a cycle with the variables involved. A token that merely touches such a
 * range (built from a value's `$` and the text after it) is not a cycle by itself; the limits catch
 * what this rule does not.
 */
export function fillTemplate(
  line: string,
  resolve: (name: string) => string,
  maxSubstitutions = DEFAULT_MAX_SUBSTITUTIONS_PER_LINE,
): FillResult {
  let text = line;
  let count = 0;
  const active: ActiveExpansion[] = [];
  let token = findLastToken(text);
  while (token !== undefined) {
    // Ranges that do not hold the whole token are finished: the scan only moves left of them.
    while (active.length > 0) {
      const top = active[active.length - 1]!;
      if (top.start <= token.start && token.end <= top.end) break;
      active.pop();
    }
    const name = token.name;
    const repeated = active.findIndex((expansion) => expansion.name === name);
    if (repeated >= 0) {
      const chain = [...active.slice(repeated).map((expansion) => expansion.name), name];
      return { ok: false, reason: 'cycle', variable: name, chain };
    }
    if (++count > maxSubstitutions) {
      return { ok: false, reason: 'limit', variable: name, chain: [name] };
    }
    const value = resolve(name);
    const delta = value.length - (token.end - token.start);
    if (text.length + delta > MAX_EXPANDED_LINE_LENGTH) {
      return { ok: false, reason: 'limit', variable: name, chain: [name] };
    }
    text = text.slice(0, token.start) + value + text.slice(token.end);
    for (const expansion of active) expansion.end += delta;
    active.push({ name, start: token.start, end: token.start + value.length });
    // The suffix after the replaced token held no token before and its characters are unchanged,
    // so the next token starts at most one character before it (a `$` ending the value or the
    // prefix, followed by a `{` starting the suffix).
    token = findLastToken(text, '${', token.start + value.length - 1);
  }
  return { ok: true, text };
}

/**
 * Splits a line into `[literal, name, literal, …, literal]` when its tokens are independent: no
 * name contains `$` or `{`, and no `${` remains in the literal text, even with tokens removed.
 * Such a line expands to its literals and values joined, as long as every value is inert (see
 * {@link fillCompiled}); any other line returns undefined and needs {@link fillTemplate}.
 */
export function compileTokens(line: string): string[] | undefined {
  const segments: string[] = [];
  let literals = '';
  let from = 0;
  for (let open = line.indexOf('${'); open >= 0; open = line.indexOf('${', from)) {
    const close = line.indexOf('}', open + 2);
    if (close < 0) return undefined;
    const name = line.slice(open + 2, close);
    if (name === '' || name.includes('$') || name.includes('{')) return undefined;
    const literal = line.slice(from, open);
    segments.push(literal, name);
    literals += literal;
    from = close + 1;
  }
  const last = line.slice(from);
  segments.push(last);
  literals += last;
  // With empty values, literals on both sides of a token meet: `$${a}{b}` must not become `${b}`.
  return literals.includes('${') ? undefined : segments;
}

// A value without `$`, `{` and `}` can neither create a token nor close an earlier one.
function isInert(value: string): boolean {
  return !value.includes('$') && !value.includes('{') && !value.includes('}');
}

/**
 * The fast path of {@link fillTemplate} for a line compiled by {@link compileTokens}: when every
 * value is inert, the rescans of the Java algorithm only ever find the next token to the left, so
 * joining literals and values gives the same text. Returns undefined when a value is not inert
 * (or the line has more tokens than the limit); the caller then runs {@link fillTemplate}.
 * Values are resolved right to left, the order fillTemplate asks for them.
 */
export function fillCompiled(
  segments: readonly string[],
  resolve: (name: string) => string,
  maxSubstitutions = DEFAULT_MAX_SUBSTITUTIONS_PER_LINE,
): string | undefined {
  if ((segments.length - 1) / 2 > maxSubstitutions) return undefined;
  const values: string[] = new Array<string>(segments.length);
  for (let i = segments.length - 2; i >= 1; i -= 2) {
    const value = resolve(segments[i]!);
    if (!isInert(value)) return undefined;
    values[i] = value;
  }
  let text = segments[0]!;
  for (let i = 1; i < segments.length; i += 2) text += values[i]! + segments[i + 1]!;
  return text;
}
