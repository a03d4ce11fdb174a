/**
 * GenerationStore on node:fs: `<confDir>/nginx/generations/<id>/` directories and the
 * `<confDir>/nginx/current` symlink, switched by rename(2) of a temp symlink (atomic: nginx opens
 * either the old or the new generation through it, never a mix of their files).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { linkSync, readdirSync } from 'node:fs';
import {
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { ProxyConfError } from '../errors.js';
import { GENERATION_MARKER_FILE } from '../model/paths.js';
import type { GenerationMeta, GenerationStore } from '../ports.js';
// The node:fs durability primitive, not the FileStore adapter.
import {
  refuseSymlinkedDirectory,
  SymlinkedDirectoryError,
  syncDirectory,
  syncFileSystem,
  writeNewFileDurable,
  writeNewFileUnsynced,
} from '../writer/durable-files.js';
import type { Manifest } from '../writer/manifest.js';
import { formatManifest, linkable, readManifest, recordFile, vouches } from '../writer/manifest.js';
import { contentHash } from '../plan/plan-changes.js';
import type { DiskFile } from '../plan/plan-changes.js';

/** The file in each generation directory describing it. */
export const GENERATION_META_FILE = 'zmproxy-generation.json';

/**
 * The content hashes (and modes, sizes, mtimes) of a generation's files, written with it: the
 * next run compares hashes instead of reading the files back (src/writer/manifest.ts).
 */
export const GENERATION_MANIFEST_FILE = 'zmproxy-manifest.json';

/** Files a generation holds besides the rendered ones. */
const GENERATION_OWN_FILES: ReadonlySet<string> = new Set([
  GENERATION_MARKER_FILE,
  GENERATION_META_FILE,
  GENERATION_MANIFEST_FILE,
]);

/** Options of {@link createGenerationStore}. */
export interface GenerationStoreOptions {
  /** The `current` symlink, e.g. `/opt/zimbra/conf/nginx/current`. */
  liveDir: string;
  /** The directory of the generations, e.g. `/opt/zimbra/conf/nginx/generations`. */
  generationsDir: string;
  /** The main file's name inside a generation. @default 'nginx.conf' */
  configPrefix?: string | undefined;
  /** link(2), replaceable to test the fallback to writing. @default node:fs linkSync */
  linkFile?: ((existing: string, created: string) => void) | undefined;
}

/** Creates the GenerationStore of a work directory. */
export function createGenerationStore(options: GenerationStoreOptions): GenerationStore {
  const { liveDir, generationsDir } = options;
  const linkFile = options.linkFile ?? linkSync;
  const dirOf = (id: string): string => {
    if (!/^\d+$/.test(id)) throw new ProxyConfError('E_INTERNAL', `invalid generation id ${id}`);
    return join(generationsDir, id);
  };
  /** The directories above a generation must be real ones (not links) before any write or rm. */
  const ownedDirsAreReal = async (...more: string[]): Promise<void> => {
    for (const dir of [dirname(generationsDir), generationsDir, ...more]) {
      try {
        await refuseSymlinkedDirectory(dir);
      } catch (error) {
        throw symlinkError(dir, error);
      }
    }
  };
  return {
    async current() {
      return readCurrent(liveDir, generationsDir);
    },
    async list() {
      await ownedDirsAreReal();
      try {
        return (await readdir(generationsDir))
          .filter((name) => /^\d+$/.test(name))
          .sort((a, b) => Number(a) - Number(b));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw writeError(generationsDir, error);
      }
    },
    async readMeta(id) {
      try {
        return JSON.parse(
          await readFile(join(dirOf(id), GENERATION_META_FILE), 'utf8'),
        ) as GenerationMeta;
      } catch {
        return undefined;
      }
    },
    async readFiles(id) {
      const root = dirOf(id);
      const files = new Map<string, DiskFile & { mode: number }>();
      let entries;
      try {
        entries = await readdir(root, { recursive: true, withFileTypes: true });
      } catch {
        return files;
      }
      // Files the manifest vouches for are compared by hash, not read back.
      const manifest = readManifest(join(root, GENERATION_MANIFEST_FILE));
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const path = relative(root, join(entry.parentPath, entry.name));
        if (GENERATION_OWN_FILES.has(path)) continue;
        const full = join(root, path);
        const record = manifest?.get(path);
        if (record !== undefined && vouches(record, full)) {
          files.set(path, { hash: record.hash, mode: record.mode });
          continue;
        }
        files.set(path, {
          content: await readFile(full, 'utf8'),
          mode: (await stat(full)).mode & 0o777,
        });
      }
      return files;
    },
    async stage(id, files, marker, meta) {
      const root = dirOf(id);
      await ownedDirsAreReal(root);
      try {
        await rm(root, { recursive: true, force: true });
        await mkdir(root, { recursive: true, mode: 0o755 });
        await ownedDirsAreReal(root);
        const dirs = new Set<string>([root]);
        const all = [...files, { path: GENERATION_MARKER_FILE, content: marker, mode: 0o644 }];
        for (const file of all) dirs.add(dirname(join(root, file.path)));
        // Created fresh inside a new real directory: no link can be among them.
        for (const dir of dirs) await mkdir(dir, { recursive: true, mode: 0o755 });
        // A file byte-identical to the served generation's (same hash, mode, owner, group, and
        // still the file its manifest recorded) is hard-linked from there instead of written:
        // generations are never written in place, so a shared inode never changes. Any link
        // failure (EXDEV, EPERM, …) writes the file instead. Every written file goes without its
        // own fsync; one syncfs below makes the written files and the new directory entries
        // (links included: metadata of the same file system) durable before the meta file
        // (docs/scale.md "Durability").
        const previous = await readCurrent(liveDir, generationsDir).catch(() => undefined);
        const previousRoot =
          previous === undefined || previous === id ? undefined : dirOf(previous);
        const previousManifest =
          previousRoot === undefined
            ? undefined
            : readManifest(join(previousRoot, GENERATION_MANIFEST_FILE));
        const manifest: Manifest = new Map();
        for (const file of all) {
          const full = join(root, file.path);
          const hash = contentHash(file.content);
          const record = previousManifest?.get(file.path);
          if (
            previousRoot !== undefined &&
            record !== undefined &&
            linkable(record, join(previousRoot, file.path), hash, file.mode, file.gid)
          ) {
            try {
              linkFile(join(previousRoot, file.path), full);
              manifest.set(file.path, record);
              continue;
            } catch {
              // Not linked (another file system, a refusal): written below.
            }
          }
          writeNewFileUnsynced(full, file.content, file.mode, file.gid);
          manifest.set(file.path, recordFile(full, file.content, hash));
        }
        manifest.delete(GENERATION_MARKER_FILE);
        await writeNewFileDurable(
          join(root, GENERATION_MANIFEST_FILE),
          formatManifest(manifest),
          0o644,
        );
        await syncFileSystem(root);
        // The meta file last: a generation with meta is complete.
        await writeNewFileDurable(
          join(root, GENERATION_META_FILE),
          `${JSON.stringify(meta, null, 2)}\n`,
          0o644,
        );
        await syncDirectory(root);
        await syncDirectory(generationsDir);
      } catch (error) {
        if (error instanceof ProxyConfError) throw error;
        throw writeError(root, error);
      }
      return join(root, options.configPrefix ?? 'nginx.conf');
    },
    async switchTo(id) {
      const target = relative(dirname(liveDir), dirOf(id));
      const temp = `${liveDir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await ownedDirsAreReal(dirname(liveDir));
      try {
        await symlink(target, temp);
        await rename(temp, liveDir);
        await syncDirectory(dirname(liveDir));
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw writeError(liveDir, error);
      }
    },
    async remove(id) {
      if ((await readCurrent(liveDir, generationsDir)) === id) return;
      // rm removes a link itself, not its target; the directories above must be real.
      const trash = join(generationsDir, TRASH_DIR);
      await ownedDirsAreReal(trash);
      // One rename takes the generation out of the list at once; its 20 000 files are deleted
      // off the run's critical path (docs/scale.md "Pruning").
      try {
        await mkdir(trash, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(trash, error);
      }
      await ownedDirsAreReal(trash);
      const trashed = join(trash, `${id}.${process.pid}.${randomBytes(4).toString('hex')}`);
      try {
        await rename(dirOf(id), trashed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        // Not renamed (should not happen within one directory): removed here, as before.
        await rm(dirOf(id), { recursive: true, force: true });
        return;
      }
      emptyTrash(trash);
    },
  };
}

/** Where removed generations wait for their deletion, inside the generations directory. */
export const TRASH_DIR = '.trash';

/**
 * Deletes everything in the trash (this run's generations and any a killed run left) in a
 * detached `rm -rf`, so that neither the run's result nor the process's exit waits for it.
 * A failure only leaves files for the next run's deletion to find.
 */
function emptyTrash(trash: string): void {
  let entries: string[];
  try {
    entries = readdirSync(trash);
  } catch {
    return;
  }
  if (entries.length === 0) return;
  try {
    const child = spawn('rm', ['-rf', '--', ...entries.map((entry) => join(trash, entry))], {
      detached: true,
      stdio: 'ignore',
    });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // Left for the next run.
  }
}

async function readCurrent(liveDir: string, generationsDir: string): Promise<string | undefined> {
  let target: string;
  try {
    target = await readlink(liveDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ProxyConfError('E_WRITE', `${liveDir} is not a symlink to a generation`, {
      hint: `move ${liveDir} away; --apply manages it`,
      cause: error,
    });
  }
  const resolved = join(dirname(liveDir), target);
  return dirname(resolved) === generationsDir ? basename(resolved) : undefined;
}

function symlinkError(dir: string, error: unknown): ProxyConfError {
  if (error instanceof SymlinkedDirectoryError) {
    return new ProxyConfError('E_WRITE', error.message, {
      cause: error,
      hint: `replace ${dir} by a real directory owned by root (mode 0755); --apply keeps its generations there and refuses to write through a link`,
    });
  }
  return writeError(dir, error);
}

function writeError(path: string, error: unknown): ProxyConfError {
  return new ProxyConfError('E_WRITE', `cannot write ${path}: ${(error as Error).message}`, {
    cause: error,
    hint: `check that ${dirname(path)} is writable`,
  });
}
