/**
 * An LDIF file as a DirectoryStore: reads like the LDIF source, and writes modifications back
 * into the same file, rewriting only the changed attribute lines (see planLdifEdit), atomically
 * (temp file in the same directory, then rename) and with the file's mode kept.
 */
import { readFile, stat } from 'node:fs/promises';
import { ProxyConfError } from '../../errors.js';
import type { DirectoryStore, EntryAddition, EntryModification } from '../../ports.js';
import { describeReadError } from '../describe-read-error.js';
import { readLdifSnapshot } from '../ldif/read-ldif.js';
import { writeFileAtomic } from '../../writer/file-store.js';
import { formatLdifAttribute } from './format-ldif-line.js';
import { normalizeDn, planLdifEdit } from './plan-ldif-edit.js';

export { planLdifEdit, normalizeDn } from './plan-ldif-edit.js';
export { formatLdifAttribute, foldLdifLine, needsBase64 } from './format-ldif-line.js';

/** Creates the store over one LDIF file. */
export function createLdifStore(file: string): DirectoryStore {
  return {
    description: `ldif:${file}`,
    load: (kinds) => readLdifSnapshot([file], kinds),
    modify: (modifications) => modifyLdifFile(file, modifications),
    add: (entries) => addToLdifFile(file, entries),
    close: () => Promise.resolve(),
  };
}

/** The LDIF file's text and permission bits (kept when the file is replaced). */
async function readLdifFile(file: string): Promise<{ text: string; mode: number }> {
  try {
    const [text, mode] = await Promise.all([
      readFile(file, 'utf8'),
      stat(file).then((info) => info.mode & 0o7777),
    ]);
    return { text, mode };
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `${file}: ${describeReadError(error)}`, {
      hint: 'check the path in --source ldif:<file>',
      cause: error,
    });
  }
}

/** Reads the file, plans the edit (all or nothing) and replaces the file when its text changed. */
async function modifyLdifFile(
  file: string,
  modifications: readonly EntryModification[],
): Promise<void> {
  if (modifications.length === 0) return;
  const { text, mode } = await readLdifFile(file);
  const next = planLdifEdit(text, file, modifications);
  if (next !== text) await writeFileAtomic(file, next, mode);
}

/** Appends new entries to the file; an entry whose DN is already there is refused, nothing written. */
async function addToLdifFile(file: string, entries: readonly EntryAddition[]): Promise<void> {
  if (entries.length === 0) return;
  const { text, mode } = await readLdifFile(file);
  const existing = new Set(
    [...text.matchAll(/^dn: (.*)$/gm)].map((match) => normalizeDn(match[1] ?? '')),
  );
  const blocks: string[] = [];
  for (const entry of entries) {
    if (existing.has(normalizeDn(entry.dn))) {
      if (entry.ifMissing === true) continue;
      throw new ProxyConfError('E_INPUT', `${entry.dn} already exists in ${file}`, {
        hint: 'change it with zmprov ms/md instead',
      });
    }
    const lines = [
      ...formatLdifAttribute('dn', entry.dn),
      ...Object.entries(entry.attributes).flatMap(([name, values]) =>
        values.flatMap((value) => formatLdifAttribute(name, value)),
      ),
    ];
    blocks.push(`${lines.join('\n')}\n`);
  }
  if (blocks.length === 0) return;
  const separator = text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  await writeFileAtomic(file, `${text}${separator}${blocks.join('\n')}`, mode);
}
