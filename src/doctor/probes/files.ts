/** File reads of the doctor: log tails and small text files; a missing file is an answer. */
import { lstat, open, readFile } from 'node:fs/promises';
import { describeReadError } from '../../sources/describe-read-error.js';

/** A file's text, or why it could not be read. */
export type FileRead =
  | { path: string; ok: true; text: string; truncated: boolean }
  | { path: string; ok: false; missing: boolean; error: string };

/** Reads the last `maxBytes` of each file (a log can be huge); the first partial line is dropped. */
export async function readTails(
  paths: readonly string[],
  maxBytes = 16 * 1024 * 1024,
): Promise<FileRead[]> {
  return Promise.all(paths.map((path) => readTail(path, maxBytes)));
}

async function readTail(path: string, maxBytes: number): Promise<FileRead> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - maxBytes);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      let text = buffer.toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      return { path, ok: true, text, truncated: start > 0 };
    } finally {
      await handle.close();
    }
  } catch (error) {
    return failed(path, error);
  }
}

/** Reads whole text files. */
export async function readTextFiles(paths: readonly string[]): Promise<FileRead[]> {
  return Promise.all(
    paths.map(async (path): Promise<FileRead> => {
      try {
        return { path, ok: true, text: await readFile(path, 'utf8'), truncated: false };
      } catch (error) {
        return failed(path, error);
      }
    }),
  );
}

function failed(path: string, error: unknown): FileRead {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return { path, ok: false, missing: code === 'ENOENT', error: describeReadError(error) };
}

/** When the path itself (a symlink is not followed) last changed, in ms; undefined when absent. */
export async function modifiedAt(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}
