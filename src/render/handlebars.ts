/**
 * The Handlebars pass for `*.template.hbs` templates: runs before the `${}` pass
 * (docs/architecture.md "The pipeline").
 */
import Handlebars from 'handlebars';

/** Our own Handlebars instance, so helpers registered here never leak into other users of the package. */
const handlebars = Handlebars.create();

// Handlebars passes its options object as the last argument of every helper.
function helperArguments(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

// Truthiness as `{{#if}}` sees it: an empty list is false.
function isTruthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value);
}

handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
handlebars.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
handlebars.registerHelper('not', (value: unknown) => !isTruthy(value));
handlebars.registerHelper('and', (...args: unknown[]) => helperArguments(args).every(isTruthy));
handlebars.registerHelper('or', (...args: unknown[]) => helperArguments(args).some(isTruthy));
// `{{join list}}` joins with a space (nginx's argument separator); `{{join list ", "}}` with any
// text.
handlebars.registerHelper('join', (...args: unknown[]) => {
  const [list, separator] = helperArguments(args);
  if (!Array.isArray(list)) return '';
  return list.map(String).join(typeof separator === 'string' ? separator : ' ');
});

/** What {@link renderHandlebars} returns. */
export type HandlebarsResult = { ok: true; text: string } | { ok: false; message: string };

/** Renders a Handlebars template without HTML escaping; compile and runtime errors are returned. */
export function renderHandlebars(
  text: string,
  context: Readonly<Record<string, unknown>>,
): HandlebarsResult {
  try {
    const template = handlebars.compile(text, { noEscape: true, strict: false });
    return { ok: true, text: template(context) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
