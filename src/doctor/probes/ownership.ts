/** Owner, group and mode of files (the key-access check decides whether nginx's workers read them). */
import { stat } from 'node:fs/promises';
import { describeReadError } from '../../sources/describe-read-error.js';

/** What `stat` says about one file, or why it could not. */
export type FileOwnership =
  | {
      path: string;
      ok: true;
      uid: number;
      gid: number;
      /** Permission bits, e.g. 0o640. */ mode: number;
    }
  | { path: string; ok: false; missing: boolean; error: string };

/** Stats each file (following symlinks, as nginx's open does). */
export async function probeOwnership(paths: readonly string[]): Promise<FileOwnership[]> {
  return Promise.all(
    paths.map(async (path): Promise<FileOwnership> => {
      try {
        const info = await stat(path);
        return { path, ok: true, uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException | undefined)?.code;
        return { path, ok: false, missing: code === 'ENOENT', error: describeReadError(error) };
      }
    }),
  );
}
