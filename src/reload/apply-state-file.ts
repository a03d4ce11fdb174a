/** ApplyStateStore on a JSON file, replaced atomically (temp file + rename). */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EMPTY_APPLY_STATE } from '../ports.js';
import type { ApplyState, ApplyStateStore } from '../ports.js';

/** Creates the state store of `file`; a missing file reads as zero counters. */
export function createApplyStateStore(file: string): ApplyStateStore {
  return {
    async read() {
      try {
        return JSON.parse(await readFile(file, 'utf8')) as ApplyState;
      } catch {
        return { ...EMPTY_APPLY_STATE, durations: {} };
      }
    },
    async write(state) {
      await writeTextAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
    },
  };
}

/** Writes a small text file through a temp file in the same directory and a rename. */
export async function writeTextAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
