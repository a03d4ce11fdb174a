/** FileStore on node:fs: atomic writes with the mode set before the file becomes visible. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { ProxyConfError } from '../errors.js';
import type { FileStore } from '../ports.js';

/** Creates the node:fs FileStore. */
export function createFileStore(): FileStore {
  return {
    async read(path) {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ProxyConfError('E_WRITE', `cannot read ${path}`, {
          cause: error,
          hint: 'check permissions',
        });
      }
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
  };
}

/** Writes through a temp file in the same directory, fsyncs it, renames it over the target. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx', mode);
    try {
      // The umask may have narrowed or widened nothing, but set the mode explicitly anyway:
      // a key must never be visible with a wider mode, even for a moment.
      await handle.chmod(mode);
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new ProxyConfError('E_WRITE', `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${dir} exists and is writable`,
    });
  }
}
