/** Directory fsync, shared by the FileStore and the generation store. */
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
