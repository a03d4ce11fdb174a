/** Where a template's output goes (docs/zimbra-notes.md "Files and paths"). */

/** Suffix of every template file, as ProxyConfGen's fixed template suffix. */
export const TEMPLATE_SUFFIX = '.template';
/** Suffix of a template rendered with Handlebars before the `${}` pass. */
export const HANDLEBARS_SUFFIX = '.template.hbs';

/** Where one template is written, or why it cannot be. */
export type OutputTarget =
  | {
      ok: true;
      /** Absolute output path. */
      path: string;
      /** Whether it is the main file (`<confDir>/<configPrefix>`), the one that gets the marker. */
      main: boolean;
      /** Whether the template is rendered with Handlebars first. */
      handlebars: boolean;
    }
  | { ok: false; message: string };

/** Naming options, a subset of RenderOptions. */
export interface OutputNameOptions {
  confDir: string;
  includesDir: string;
  configPrefix: string;
  templatePrefix: string;
}

/**
 * Maps `<templatePrefix>.template` to `<confDir>/<configPrefix>` and `<templatePrefix>.<name>.template`
 * to `<includesDir>/<configPrefix>.<name>`; a `.template.hbs` file is named as if `.hbs` were absent.
 */
export function computeOutputTarget(
  templateName: string,
  options: OutputNameOptions,
): OutputTarget {
  const handlebars = templateName.endsWith(HANDLEBARS_SUFFIX);
  const suffix = handlebars ? HANDLEBARS_SUFFIX : TEMPLATE_SUFFIX;
  if (!handlebars && !templateName.endsWith(TEMPLATE_SUFFIX)) {
    return { ok: false, message: `does not end with ${TEMPLATE_SUFFIX} or ${HANDLEBARS_SUFFIX}` };
  }
  const stem = templateName.slice(0, -suffix.length);
  const prefix = options.templatePrefix;
  if (stem === prefix) {
    return {
      ok: true,
      path: joinPath(options.confDir, options.configPrefix),
      main: true,
      handlebars,
    };
  }
  if (!stem.startsWith(`${prefix}.`) || stem.length === prefix.length + 1) {
    return {
      ok: false,
      message: `does not start with the template prefix "${prefix}." (set it with -P)`,
    };
  }
  const name = stem.slice(prefix.length + 1);
  return {
    ok: true,
    path: joinPath(options.includesDir, `${options.configPrefix}.${name}`),
    main: false,
    handlebars,
  };
}

// Plain string join: the core stays free of path modules, and output paths are POSIX paths.
function joinPath(directory: string, file: string): string {
  return `${directory.replace(/\/+$/, '')}/${file}`;
}
