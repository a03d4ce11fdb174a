/**
 * GenerationStore on node:fs: `<confDir>/nginx/generations/<id>/` directories and the
 * `<confDir>/nginx/current` symlink, switched by rename(2) of a temp symlink (atomic: nginx opens
 * either the old or the new generation through it, never a mix of their files).
 */
import { randomBytes } from 'node:crypto';
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
import { formatManifest, readManifest, recordFile, vouches } from '../writer/manifest.js';
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
}

/** Creates the GenerationStore of a work directory. */
export function createGenerationStore(options: GenerationStoreOptions): GenerationStore {
  const { liveDir, generationsDir } = options;
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
        // Every file written without its own fsync, then one syncfs for all of them
        // (docs/scale.md "Durability"); the manifest records what was written.
        const manifest: Manifest = new Map();
        for (const file of all) {
          const full = join(root, file.path);
          writeNewFileUnsynced(full, file.content, file.mode, file.gid);
          manifest.set(file.path, recordFile(full, file.content));
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
      await ownedDirsAreReal();
      await rm(dirOf(id), { recursive: true, force: true });
    },
  };
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
