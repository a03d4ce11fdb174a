/**
 * Manifests: what zmproxy wrote (each file's content hash, mode, size, mtime and inode), so that
 * a later run compares hashes instead of reading 20 000 files back. A record vouches for a file
 * only while the file's size, mtime, inode and mode are still the recorded ones (the check
 * git's index uses): a file changed behind zmproxy's back is read again. A missing or damaged manifest
 * vouches for nothing.
 */
import type { Stats } from 'node:fs';
import { lstatSync, readFileSync } from 'node:fs';
import { contentHash } from '../plan/plan-changes.js';

const MANIFEST_VERSION = 1;

/** What a manifest knows of one file. */
export interface ManifestRecord {
  hash: string;
  mode: number;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Records by path (relative to a generation, or absolute for the flat tree). */
export type Manifest = Map<string, ManifestRecord>;

const isRecord = (value: unknown): value is ManifestRecord => {
  const r = value as Partial<ManifestRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.hash === 'string' &&
    typeof r.mode === 'number' &&
    typeof r.size === 'number' &&
    typeof r.mtimeMs === 'number' &&
    typeof r.ino === 'number'
  );
};

/** The manifest at `path`, or undefined when it is missing or damaged. */
export function readManifest(path: string): Manifest | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
      version?: unknown;
      files?: unknown;
    };
    if (parsed.version !== MANIFEST_VERSION || typeof parsed.files !== 'object') return undefined;
    const entries = Object.entries(parsed.files as Record<string, unknown>);
    if (!entries.every(([, record]) => isRecord(record))) return undefined;
    return new Map(entries as [string, ManifestRecord][]);
  } catch {
    return undefined;
  }
}

/** The manifest's text. */
export function formatManifest(manifest: ReadonlyMap<string, ManifestRecord>): string {
  return `${JSON.stringify({ version: MANIFEST_VERSION, files: Object.fromEntries(manifest) })}\n`;
}

/** The record of a file just written with `content` (one lstat, no read). */
export function recordFile(
  fullPath: string,
  content: string,
  hash = contentHash(content),
): ManifestRecord {
  const stats = lstatSync(fullPath);
  return {
    hash,
    mode: stats.mode & 0o777,
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ino: stats.ino,
  };
}

/**
 * Whether the file at `fullPath` can stand for a new file of `hash`, `mode` and group `gid`
 * (undefined: the process's own group) by a hard link: the record has that content and mode, the
 * file is still the one the record describes (one lstat, no read), and it is owned by this
 * process's user and that group (a link shares the inode, owner and group included).
 */
export function linkable(
  record: ManifestRecord | undefined,
  fullPath: string,
  hash: string,
  mode: number,
  gid: number | undefined,
): boolean {
  if (record === undefined || record.hash !== hash || record.mode !== mode) return false;
  try {
    const stats = lstatSync(fullPath);
    return matches(stats, record) && stats.uid === owner.uid && stats.gid === (gid ?? owner.gid);
  } catch {
    return false;
  }
}

/** This process's user and group: what a file it writes gets (each lookup is a system call). */
const owner = { uid: process.geteuid?.(), gid: process.getegid?.() };

const matches = (stats: Stats, record: ManifestRecord): boolean =>
  stats.isFile() &&
  stats.size === record.size &&
  stats.mtimeMs === record.mtimeMs &&
  stats.ino === record.ino &&
  (stats.mode & 0o777) === record.mode;

/** Whether the file at `fullPath` is still the one `record` describes (one lstat, no read). */
export function vouches(record: ManifestRecord | undefined, fullPath: string): boolean {
  if (record === undefined) return false;
  try {
    return matches(lstatSync(fullPath), record);
  } catch {
    return false;
  }
}
