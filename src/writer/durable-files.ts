/** Durable file primitives shared by the FileStore and the generation store. */
import { open } from 'node:fs/promises';

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
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}
