/** The LDIF source's I/O edge: reads LDIF files into one DirectorySnapshot. */
import { readFile } from 'node:fs/promises';
import { ProxyConfError } from '../../errors.js';
import type { DirectorySnapshot, EntryKind } from '../../model/snapshot.js';
import { buildSnapshot } from '../../model/build-snapshot.js';
import { classifyEntries } from '../../model/classify-entry.js';
import { parseLdif } from './parse-ldif.js';
import { describeReadError } from '../describe-read-error.js';

export { parseSourceSpec } from './parse-source-spec.js';
export type { SourceSpec } from './parse-source-spec.js';

/** Reads, parses and merges LDIF files (in the order given) into one snapshot. */
export async function readLdifSnapshot(
  files: readonly string[],
  kinds?: readonly EntryKind[],
): Promise<DirectorySnapshot> {
  if (files.length === 0) {
    throw new ProxyConfError('E_USAGE', 'no LDIF file given', {
      hint: 'use --source ldif:<file>[,<file>...]',
    });
  }
  const texts = await Promise.all(files.map((file) => readInputFile(file)));
  const entries = texts.flatMap((text, index) => {
    const file = files[index] ?? '';
    return classifyEntries(parseLdif(text, file), kinds);
  });
  return buildSnapshot(entries);
}

/** Reads a text file given on the command line; a failure becomes E_INPUT with a hint. */
async function readInputFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `${file}: ${describeReadError(error)}`, {
      hint: 'check the path in --source ldif:<file>[,<file>...]; export the directory with `slapcat` or `ldapsearch -LLL`',
      cause: error,
    });
  }
}
