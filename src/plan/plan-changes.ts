/** Compares the files a generation wants with what is on disk, and shows the difference. */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';

/**
 * The mode of every file that holds a secret: private keys, and configuration files that carry a
 * password or the lookup shared key. Only nginx's master (root, or the user that runs it) reads
 * them; workers get the parsed configuration, not the files. See docs/security.md.
 */
export const SECRET_FILE_MODE = 0o600;

/** The manifest of the flat tree (`<confDir>/<this>`): what the last plain run wrote. */
export const FLAT_MANIFEST_FILE = '.zmproxy-manifest.json';

/** One file a generation produces. */
export interface PlannedFile {
  path: string;
  content: string;
  /** File mode, e.g. 0o644; {@link SECRET_FILE_MODE} for secrets. */
  mode: number;
  /** Holds a private key, password or shared key: never shown in a diff. */
  secret?: boolean;
  /**
   * Group id the file is given (its owner stays the writer): a private key nginx's workers load
   * at the handshake (certificates chosen by map) is mode 0640 in their group.
   */
  gid?: number | undefined;
}

/** How a planned file compares with disk. */
export type ChangeStatus = 'created' | 'changed' | 'unchanged';

/** A planned file with its current content. */
export interface FileChange extends PlannedFile {
  status: ChangeStatus;
  /** The current content, undefined when the file does not exist. */
  before: string | undefined;
}

/**
 * What is on disk at a path: its text, or (when a manifest vouches for the file, so it was not
 * read back) the {@link contentHash} of its text; and its mode when the caller knows it.
 */
export type DiskFile =
  | { content: string; hash?: undefined; mode?: number | undefined }
  | { content?: undefined; hash: string; mode?: number | undefined };

/** The hash a manifest records for a file's text: sha256, base64url. */
export function contentHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('base64url');
}

/**
 * The one comparison of a planned file with disk: created when absent, changed when its content
 * (or its hash, for a file the manifest vouches for) or, where known, its mode differs.
 * `--diff`/`--check` and `--apply` both decide with it.
 */
export function compareWithDisk(
  file: { content: string; mode: number },
  before: DiskFile | undefined,
): ChangeStatus {
  if (before === undefined) return 'created';
  const sameMode = before.mode === undefined || before.mode === file.mode;
  const sameContent =
    before.content !== undefined
      ? before.content === file.content
      : before.hash === contentHash(file.content);
  return sameContent && sameMode ? 'unchanged' : 'changed';
}

/** Pairs every planned file with its current content. */
export function planChanges(
  planned: readonly PlannedFile[],
  current: ReadonlyMap<string, string | undefined>,
): FileChange[] {
  return planned.map((file) => {
    const before = current.get(file.path);
    const status = compareWithDisk(file, before === undefined ? undefined : { content: before });
    return { ...file, status, before };
  });
}

/**
 * The paths that differ between a planned file set and the one on disk, sorted: created and
 * changed files (content or mode), and files on disk the plan no longer has (removed).
 */
export function changedPaths(
  planned: readonly { path: string; content: string; mode: number }[],
  current: ReadonlyMap<string, DiskFile>,
): string[] {
  const changed = planned
    .filter((file) => compareWithDisk(file, current.get(file.path)) !== 'unchanged')
    .map((file) => file.path);
  const kept = new Set(planned.map((file) => file.path));
  const removed = [...current.keys()].filter((path) => !kept.has(path));
  return [...changed, ...removed].sort();
}

const REDACTED = '[secret redacted]\n';

/** A unified diff of every created or changed file; secret files show only that they changed. */
export function formatDiff(changes: readonly FileChange[]): string {
  return changes
    .filter((change) => change.status !== 'unchanged')
    .map((change) => {
      const before =
        change.secret === true
          ? change.before === undefined
            ? ''
            : REDACTED
          : (change.before ?? '');
      const after = change.secret === true ? REDACTED.replace(']', ', changed]') : change.content;
      return createTwoFilesPatch(
        change.before === undefined ? '/dev/null' : change.path,
        change.path,
        before,
        after,
        undefined,
        undefined,
        { context: 3 },
      );
    })
    .join('');
}
