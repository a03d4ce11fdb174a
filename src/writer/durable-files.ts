/** Durable file primitives shared by the FileStore and the generation store. */
import { execFile } from 'node:child_process';
import { closeSync, fchmodSync, fchownSync, openSync, writeFileSync } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { promisify } from 'node:util';

/**
 * fsyncs a directory so the creations and renames in it survive a crash. Throws node:fs's own
 * error; each caller translates it for its context.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates a file that must not exist yet (`wx`), sets its mode before anything is written (a key
 * is never readable with a wider mode, whatever the umask), writes and fsyncs it. Throws
 * node:fs's own error.
 */
export async function writeNewFileDurable(
  path: string,
  content: string,
  mode: number,
  gid?: number,
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    // The group before any byte: a key readable by the group is readable by that group only.
    if (gid !== undefined) await handle.chown(-1, gid);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates a file that must not exist yet, with its mode (and group) set before any byte, and
 * writes it, synchronously and without an fsync: the caller makes a whole batch durable at once
 * with {@link syncFileSystem}. Synchronous on purpose: 20 000 small files cost ~1 s this way and
 * ~3 s through the thread pool. Throws node:fs's own error.
 */
export function writeNewFileUnsynced(
  path: string,
  content: string,
  mode: number,
  gid?: number,
): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    if (gid !== undefined) fchownSync(fd, -1, gid);
    writeFileSync(fd, content, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const run = promisify(execFile);

/**
 * Makes everything written to the file system holding `dir` durable: one syncfs(2) (coreutils
 * `sync -f`) instead of an fsync per file. syncfs writes back every dirty page and inode of that
 * file system, and `sync -f` fails when the write-back reports an error (Linux ≥ 5.8), so after
 * it returns the files written before it are on disk. See docs/scale.md "Durability".
 */
export async function syncFileSystem(dir: string): Promise<void> {
  await run('sync', ['-f', dir]);
}

/**
 * Throws when `dir` is a symlink: zmproxy writes, prunes and removes only in directories it owns,
 * never through a link someone put in their place (files could land, and `rm -r` could run,
 * anywhere the link points). A missing directory is fine: it is created as a real one.
 */
export async function refuseSymlinkedDirectory(dir: string): Promise<void> {
  let isLink: boolean;
  try {
    isLink = (await lstat(dir)).isSymbolicLink();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (isLink) throw new SymlinkedDirectoryError(dir);
}

/** A directory zmproxy owns was found to be a symlink. */
export class SymlinkedDirectoryError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`${path} is a symlink, not a directory; zmproxy does not write through links`);
    this.name = 'SymlinkedDirectoryError';
    this.path = path;
  }
}
