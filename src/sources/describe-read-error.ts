/** Turns a failed file read into words a user can act on (shared by every file-reading edge). */

/** Reasons for the Node error codes a user can act on. */
const READ_ERROR_REASONS: ReadonlyMap<string, string> = new Map([
  ['ENOENT', 'no such file'],
  ['EACCES', 'cannot be read (permission denied)'],
  ['EPERM', 'cannot be read (permission denied)'],
  ['EISDIR', 'is a directory, not a file'],
]);

/** A short reason for a failed read, from the Node error code. */
export function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : READ_ERROR_REASONS.get(code);
  return reason ?? `cannot be read (${error instanceof Error ? error.message : String(error)})`;
}
