/** Compares the files a generation wants with what is on disk, and shows the difference. */
import { createTwoFilesPatch } from 'diff';

/**
 * The mode of every file that holds a secret: private keys, and configuration files that carry a
 * password or the lookup shared key. Only nginx's master (root, or the user that runs it) reads
 * them; workers get the parsed configuration, not the files. See docs/security.md.
 */
export const SECRET_FILE_MODE = 0o600;

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

/** Pairs every planned file with its current content. */
export function planChanges(
  planned: readonly PlannedFile[],
  current: ReadonlyMap<string, string | undefined>,
): FileChange[] {
  return planned.map((file) => {
    const before = current.get(file.path);
    const status: ChangeStatus =
      before === undefined ? 'created' : before === file.content ? 'unchanged' : 'changed';
    return { ...file, status, before };
  });
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
