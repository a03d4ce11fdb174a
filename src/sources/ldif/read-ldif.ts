/** The LDIF source's I/O edge: reads LDIF files into one DirectorySnapshot. */
import { readFile } from 'node:fs/promises';
import fg from 'fast-glob';
import { ProxyConfError } from '../../errors.js';
import type { DirectorySnapshot, EntryKind } from '../../model/snapshot.js';
import { buildSnapshot } from '../../model/build-snapshot.js';
import { classifyEntries } from '../../model/classify-entry.js';
import type { ParsedLdifEntry } from './parse-ldif.js';
import { parseLdif } from './parse-ldif.js';
import { describeReadError } from '../describe-read-error.js';

export { parseSourceSpec } from './parse-source-spec.js';
export type { SourceSpec } from './parse-source-spec.js';

/**
 * The files `ldif:` names, each glob (`exports/*.ldif`) replaced by the files it matches in name
 * order, so that a directory of exports reads as one directory; names without a wildcard stay as
 * given. A glob that matches no file is an error: a typo must not read as an empty directory.
 */
export async function expandLdifFiles(files: readonly string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const file of files) {
    if (!fg.isDynamicPattern(file)) {
      expanded.push(file);
      continue;
    }
    const matches = (await fg(file, { onlyFiles: true, dot: false })).sort();
    if (matches.length === 0) {
      throw new ProxyConfError('E_INPUT', `--source ldif:${file} matches no file`, {
        hint: 'check the directory and the pattern (quote it, so the shell does not expand it first): --source "ldif:exports/*.ldif"',
      });
    }
    expanded.push(...matches);
  }
  return expanded;
}

/**
 * The folders whose listing decides what the globs among `files` match (the part before the
 * first wildcard), for `--watch` to notice an export added or removed.
 */
export function ldifGlobDirs(files: readonly string[]): string[] {
  return files
    .filter((file) => fg.isDynamicPattern(file))
    .map((file) => fg.generateTasks(file)[0]?.base ?? '.');
}

/** Reads, parses and merges LDIF files (in the order given, globs expanded) into one snapshot. */
export async function readLdifSnapshot(
  patterns: readonly string[],
  kinds?: readonly EntryKind[],
  attributes?: readonly string[],
): Promise<DirectorySnapshot> {
  const files = await expandLdifFiles(patterns);
  if (files.length === 0) {
    throw new ProxyConfError('E_USAGE', 'no LDIF file given', {
      hint: 'use --source ldif:<file>[,<file>...]',
    });
  }
  const texts = await Promise.all(files.map((file) => readInputFile(file)));
  const entries = texts.flatMap((text, index) => {
    const file = files[index] ?? '';
    const parsed = parseLdif(text, file);
    return classifyEntries(attributes === undefined ? parsed : keepOnly(parsed, attributes), kinds);
  });
  return buildSnapshot(entries);
}

/** The entries with only the named attributes (case-insensitive), as an LDAP search returns them. */
function keepOnly(entries: readonly ParsedLdifEntry[], attributes: readonly string[]) {
  const wanted = new Set(attributes.map((name) => name.toLowerCase()));
  return entries.map((entry) => ({
    ...entry,
    attrs: Object.fromEntries(
      Object.entries(entry.attrs).filter(([name]) => wanted.has(name.toLowerCase())),
    ),
  }));
}

/** Reads a text file given on the command line; a failure becomes E_INPUT with a hint. */
async function readInputFile(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ProxyConfError('E_INPUT', `${file}: ${describeReadError(error)}`, {
      hint: 'check the path in --source ldif:<file>[,<file>...]; export the directory with `slapcat` or `ldapsearch -LLL`',
      cause: error,
    });
  }
  return decodeUtf8(bytes, file);
}

/** UTF-8 text, or E_LDIF naming the first line that is not UTF-8 (never U+FFFD in a value). */
function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const strict = new TextDecoder('utf-8', { fatal: true });
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        strict.decode(bytes.subarray(start, i));
      } catch {
        break;
      }
      line += 1;
      start = i + 1;
    }
    throw new ProxyConfError('E_LDIF', `${file}:${line}: the line is not UTF-8 text`, {
      hint: 'convert the file to UTF-8 (iconv -f <its encoding> -t UTF-8), or export it again with slapcat',
    });
  }
}
