/** Reads template files from a directory. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProxyConfError } from '../errors.js';
import type { TemplateStore } from '../ports.js';
import type { TemplateSource } from '../render/types.js';

/** Creates the node:fs TemplateStore. */
export function createTemplateStore(): TemplateStore {
  return { readTemplates };
}

/** Every template of the prefix in the directory, the main template first, then by name. */
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
  return Promise.all(
    selected.map(async (name) => {
      const path = join(dir, name);
      return { name, path, text: await readFile(path, 'utf8') };
    }),
  );
}

function isMain(name: string, main: string): boolean {
  return name === main || name === `${main}.hbs`;
}

function isIncludeTemplate(name: string, prefix: string): boolean {
  return (
    name.startsWith(`${prefix}.`) && (name.endsWith('.template') || name.endsWith('.template.hbs'))
  );
}
