/** FileStore on node:fs: atomic writes with the mode set before the file becomes visible. */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { ProxyConfError } from '../errors.js';
import type { FileStore } from '../ports.js';
import { contentHash } from '../plan/plan-changes.js';
import { mapConcurrent } from './map-concurrent.js';
import {
  refuseSymlinkedDirectory,
  syncDirectory,
  syncFileSystem,
  writeNewFileDurable,
  writeNewFileUnsynced,
} from './durable-files.js';
import type { Manifest, ManifestRecord } from './manifest.js';
import { formatManifest, readManifest, recordFile, vouches } from './manifest.js';

/** Creates the node:fs FileStore. */
export function createFileStore(): FileStore {
  // What readPlanned found in the manifest, so that recordPlanned keeps those records as they are.
  let vouched = new Map<string, ManifestRecord>();
  let loadedSize = -1;
  return {
    async read(path) {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ProxyConfError('E_WRITE', `cannot read ${path}: ${(error as Error).message}`, {
          cause: error,
          hint: 'check permissions',
        });
      }
    },
    // Synchronous on purpose: 20 000 small reads cost ~0.2 s this way and several seconds
    // through the thread pool (four round trips per file).
    readMany(paths) {
      return Promise.resolve(new Map(paths.map((path) => [path, readSyncOrUndefined(path)])));
    },
    async exists(path) {
      try {
        await stat(path);
        return true;
      } catch {
        return false;
      }
    },
    write: writeFileAtomic,
    writeMany: writeFilesAtomic,
    readPlanned(planned, manifestPath) {
      const manifest = readManifest(manifestPath) ?? new Map<string, ManifestRecord>();
      loadedSize = manifest.size;
      vouched = new Map();
      const current = new Map<string, string | undefined>();
      for (const file of planned) {
        const record = manifest.get(file.path);
        // Unchanged per the manifest: the planned text is what is on disk; nothing is read.
        if (vouches(record, file.path) && record?.hash === contentHash(file.content)) {
          vouched.set(file.path, record);
          current.set(file.path, file.content);
        } else {
          current.set(file.path, readSyncOrUndefined(file.path));
        }
      }
      return Promise.resolve(current);
    },
    async recordPlanned(planned, manifestPath) {
      if (vouched.size === planned.length && loadedSize === planned.length) return;
      const manifest: Manifest = new Map();
      for (const file of planned) {
        manifest.set(file.path, vouched.get(file.path) ?? recordFile(file.path, file.content));
      }
      await writeFileAtomic(manifestPath, formatManifest(manifest), 0o644);
    },
  };
}

function readSyncOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ProxyConfError('E_WRITE', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check permissions',
    });
  }
}

/** Writes one file atomically and makes the rename durable. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  await refuseLinkedDirectory(dirname(path));
  await replaceFile(path, content, mode);
  await syncWrittenDirectory(dirname(path));
}

/**
 * Writes many files atomically, each through its own temp file: every temp file is written
 * without an fsync, one syncfs makes them all durable, then each is renamed over its target and
 * every directory is fsynced once. 20 000 domain certificates cost two syncs, not 20 000 fsyncs
 * (docs/scale.md "Durability").
 */
export async function writeFilesAtomic(
  files: readonly { path: string; content: string; mode: number; gid?: number | undefined }[],
  concurrency = 64,
): Promise<void> {
  if (files.length === 0) return;
  const dirs = [...new Set(files.map((file) => dirname(file.path)))];
  await mapConcurrent(dirs, concurrency, refuseLinkedDirectory);
  for (const dir of dirs) await makeDirectory(dir);
  const temps: string[] = [];
  // One random tag per batch, a counter per file: 20 000 randomBytes calls cost ~0.3 s.
  const tag = randomBytes(6).toString('hex');
  try {
    for (const [index, file] of files.entries()) {
      const temp = join(dirname(file.path), `.${basename(file.path)}.${tag}-${index}.tmp`);
      temps.push(temp);
      writeUnsynced(temp, file);
    }
    await syncWrittenFileSystem(dirs[0] ?? '.');
    for (const [index, file] of files.entries()) renameInto(temps[index] ?? '', file.path);
  } catch (error) {
    await Promise.all(temps.map((temp) => unlink(temp).catch(() => undefined)));
    throw error;
  }
  await mapConcurrent(dirs, concurrency, syncWrittenDirectory);
}

async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new ProxyConfError('E_WRITE', `cannot create ${dir}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that the parent of ${dir} is writable`,
    });
  }
}

function writeUnsynced(
  temp: string,
  file: { path: string; content: string; mode: number; gid?: number | undefined },
): void {
  try {
    writeNewFileUnsynced(temp, file.content, file.mode, file.gid);
  } catch (error) {
    throw new ProxyConfError('E_WRITE', `cannot write ${file.path}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${dirname(file.path)} exists and is writable`,
    });
  }
}

/** Synchronous, as the writes: 20 000 renames through the thread pool cost several times more. */
function renameInto(temp: string, path: string): void {
  try {
    renameSync(temp, path);
  } catch (error) {
    throw new ProxyConfError('E_WRITE', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${dirname(path)} is writable`,
    });
  }
}

async function syncWrittenFileSystem(dir: string): Promise<void> {
  try {
    await syncFileSystem(dir);
  } catch (error) {
    throw new ProxyConfError(
      'E_WRITE',
      `cannot sync the file system of ${dir}: ${messageOf(error)}`,
      {
        cause: error,
        hint: `check the file system holding ${dir} (dmesg) and that coreutils' sync is installed`,
      },
    );
  }
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** A directory zmproxy writes into must not be a link to somewhere else. */
async function refuseLinkedDirectory(dir: string): Promise<void> {
  try {
    await refuseSymlinkedDirectory(dir);
  } catch (error) {
    throw new ProxyConfError('E_WRITE', `cannot write into ${dir}: ${(error as Error).message}`, {
      cause: error,
      hint: `replace ${dir} by a real directory; zmproxy refuses to write through a link`,
    });
  }
}

async function syncWrittenDirectory(dir: string): Promise<void> {
  try {
    await syncDirectory(dir);
  } catch (error) {
    throw new ProxyConfError(
      'E_WRITE',
      `cannot sync directory ${dir}: ${(error as Error).message}`,
      {
        cause: error,
        hint: `check that ${dir} is writable`,
      },
    );
  }
}

/** Writes through a temp file in the same directory, fsyncs it, renames it over the target. */
async function replaceFile(
  path: string,
  content: string,
  mode: number,
  gid?: number,
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeNewFileDurable(temp, content, mode, gid);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new ProxyConfError('E_WRITE', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${dir} exists and is writable`,
    });
  }
}
