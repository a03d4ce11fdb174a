/**
 * Reads template files from a directory, choosing them as the directory's template set says:
 * - a directory with a `zmproxy-template-set` file (our stock set, or a copy of it) is scanned:
 *   `<prefix>.template` and every `<prefix>.*.template` / `….template.hbs` is rendered;
 * - any other directory is taken as Zimbra's own set and rendered as ProxyConfGen renders it: its
 *   fixed list of templates, each of which must exist; other files there are not rendered.
 * docs/templates.md says why.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyConfError } from '../errors.js';
import { TEMPLATE_SET_MARKER } from '../model/paths.js';
import type { TemplateStore } from '../ports.js';
import type { TemplateSource } from '../render/types.js';

export { TEMPLATE_SET_MARKER };

const HTTP_MODES = ['http', 'https', 'both', 'redirect', 'mixed'] as const;

/**
 * The include templates ProxyConfGen (Zimbra 10.1) expands after `<prefix>.template`, in its
 * order, without the prefix and suffix (Zimbra/zm-mailbox
 * store/src/java/com/zimbra/cs/util/ProxyConfGen.java, the expandTemplate calls of main()).
 */
export const ZIMBRA_INCLUDE_TEMPLATES: readonly string[] = [
  'main',
  'memcache',
  'zmlookup',
  'mail',
  'mail.imap',
  'mail.imap.default',
  'mail.imaps',
  'mail.imaps.default',
  'mail.pop3',
  'mail.pop3.default',
  'mail.pop3s',
  'mail.pop3s.default',
  'web',
  'web.http',
  'web.http.default',
  'web.https',
  'web.https.default',
  'web.sso',
  'web.sso.default',
  'web.admin',
  'web.admin.default',
  ...HTTP_MODES.map((mode) => `web.http.mode-${mode}`),
  ...HTTP_MODES.map((mode) => `web.https.mode-${mode}`),
  'docs.common',
  'docs.upstream',
  'onlyoffice.common',
  'onlyoffice.upstream',
];

/** Creates the node:fs TemplateStore. */
export function createTemplateStore(): TemplateStore {
  return { readTemplates };
}

/** The templates to render from the directory, the main template first. */
export async function readTemplates(
  dir: string,
  templatePrefix: string,
): Promise<TemplateSource[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new ProxyConfError('E_INPUT', `cannot read the template directory ${dir}`, {
      cause,
      hint: 'give the template directory with -t DIR (Zimbra: /opt/zimbra/conf/nginx/templates)',
    });
  }
  const selected = names.includes(TEMPLATE_SET_MARKER)
    ? scanTemplateSet(names, dir, templatePrefix)
    : zimbraTemplateList(names, dir, templatePrefix);
  return Promise.all(
    selected.map(async (name) => {
      const path = join(dir, name);
      return { name, path, text: decodeTemplate(await readFile(path), path) };
    }),
  );
}

/** Our template sets: every template of the prefix, the main one first, then by name. */
function scanTemplateSet(names: readonly string[], dir: string, templatePrefix: string): string[] {
  const main = `${templatePrefix}.template`;
  const selected = names
    .filter(
      (name) => name === main || name === `${main}.hbs` || isIncludeTemplate(name, templatePrefix),
    )
    .sort((a, b) => (isMain(a, main) ? -1 : isMain(b, main) ? 1 : a < b ? -1 : a > b ? 1 : 0));
  if (!selected.some((name) => isMain(name, main))) {
    throw new ProxyConfError('E_INPUT', `no ${main} in ${dir}`, {
      hint: 'point -t at a template directory, or set the template prefix with -P',
    });
  }
  return selected;
}

/** Zimbra's set: its fixed list, every one required (Zimbra stops at the first one missing). */
function zimbraTemplateList(
  names: readonly string[],
  dir: string,
  templatePrefix: string,
): string[] {
  const wanted = [
    `${templatePrefix}.template`,
    ...ZIMBRA_INCLUDE_TEMPLATES.map((name) => `${templatePrefix}.${name}.template`),
  ];
  const present = new Set(names);
  const missing = wanted.filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new ProxyConfError(
      'E_INPUT',
      `${dir} is read as Zimbra's template set (it has no ${TEMPLATE_SET_MARKER} file), and ${missing.length} of the ${wanted.length} templates ProxyConfGen renders ${missing.length === 1 ? 'is' : 'are'} missing: ${missing.join(', ')}`,
      {
        hint: `restore them from the zimbra-proxy package (Zimbra fails on a missing template too), or, for a template set of your own, create an empty ${join(dir, TEMPLATE_SET_MARKER)} so every template in the directory is rendered`,
      },
    );
  }
  return wanted;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Template text as UTF-8. Invalid bytes are refused with the line that holds them: Java's decoder
 * and ours would replace them by different numbers of U+FFFD, and neither is what the author meant.
 */
export function decodeTemplate(bytes: Uint8Array, path: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    // A line break byte never occurs inside a multi-byte sequence, so lines can be checked alone.
    let lineStart = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, lineStart);
      const lineBytes = bytes.subarray(lineStart, end < 0 ? bytes.length : end);
      try {
        STRICT_UTF8.decode(lineBytes);
      } catch {
        throw new ProxyConfError('E_INPUT', `${path}:${line}: the template is not valid UTF-8`, {
          hint: `re-save the file as UTF-8 (iconv -f LATIN1 -t UTF-8 can convert it) or remove the bytes that are not text on line ${line}`,
        });
      }
      if (end < 0) break;
      lineStart = end + 1;
    }
    throw new ProxyConfError('E_INPUT', `${path}: the template is not valid UTF-8`, {
      hint: 're-save the file as UTF-8',
    });
  }
}

function isMain(name: string, main: string): boolean {
  return name === main || name === `${main}.hbs`;
}

function isIncludeTemplate(name: string, prefix: string): boolean {
  return (
    name.startsWith(`${prefix}.`) && (name.endsWith('.template') || name.endsWith('.template.hbs'))
  );
}
