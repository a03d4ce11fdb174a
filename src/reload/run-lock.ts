/**
 * RunLock on a lock file: created with O_EXCL, holding the owner's pid and process start time.
 * A lock whose owner is gone (kill -9, crash, reboot) is stale and broken; breaking goes through
 * a second O_EXCL file so that two waiting runs cannot both break it and both proceed.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ProxyConfError } from '../errors.js';
import type { RunLock } from '../ports.js';

/** Options of {@link createRunLock}. */
export interface RunLockOptions {
  /** How often a waiting run looks again, in ms. @default 100 */
  pollMs?: number;
  /** A lock file without readable owner older than this is stale (its writer died). @default 10000 */
  orphanMs?: number;
}

interface Owner {
  pid: number;
  start: string;
  since: number;
}

/** Creates the lock of `file`. */
export function createRunLock(file: string, options: RunLockOptions = {}): RunLock {
  const pollMs = options.pollMs ?? 100;
  const orphanMs = options.orphanMs ?? 10_000;
  const token = `${process.pid} ${processStart(process.pid)} ${Date.now()}\n`;
  return {
    async acquire(waitMs) {
      const deadline = Date.now() + waitMs;
      await mkdir(dirname(file), { recursive: true });
      for (;;) {
        if (await tryCreate(file, token)) {
          return {
            release: async () => {
              const text = await readFile(file, 'utf8').catch(() => '');
              if (text === token) await unlink(file).catch(() => undefined);
            },
          };
        }
        const owner = await readOwner(file);
        if (owner === 'gone') continue;
        if (await isStale(file, owner, orphanMs)) {
          await breakStale(file, owner, orphanMs);
          continue;
        }
        if (Date.now() >= deadline) {
          return {
            holder:
              owner === undefined
                ? `${file} (being written)`
                : `pid ${owner.pid} since ${new Date(owner.since).toISOString()}, ${file}`,
          };
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
  };
}

async function tryCreate(file: string, content: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ProxyConfError('E_WRITE', `cannot create lock ${file}: ${(error as Error).message}`, {
      cause: error,
      hint: `check that ${dirname(file)} is writable`,
    });
  }
}

async function readOwner(file: string): Promise<Owner | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  const [pid, start, since] = text.trim().split(' ');
  if (pid === undefined || !/^\d+$/.test(pid)) return undefined;
  return { pid: Number(pid), start: start ?? '', since: Number(since ?? 0) };
}

async function isStale(file: string, owner: Owner | undefined, orphanMs: number): Promise<boolean> {
  if (owner === undefined) {
    // Created but not yet written, or written by a run that died in between.
    try {
      return Date.now() - (await stat(file)).mtimeMs > orphanMs;
    } catch {
      return false;
    }
  }
  if (!alive(owner.pid)) return true;
  // The pid lives, but as another process (pid reuse after a crash or reboot).
  const start = processStart(owner.pid);
  return owner.start !== '' && start !== '' && start !== owner.start;
}

async function breakStale(file: string, owner: Owner | undefined, orphanMs: number): Promise<void> {
  const breaker = `${file}.break`;
  if (!(await tryCreate(breaker, `${process.pid}\n`))) {
    // Another run is breaking it; a breaker that died leaves its file behind for 10 s at most.
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > 10_000) await unlink(breaker).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return;
  }
  try {
    // Still the same stale owner? Another breaker may have finished and a new run taken the
    // lock: a file that is gone is left alone, and an ownerless one is broken only while it is
    // still old (a fresh run may have created it and not written its owner yet).
    const again = await readOwner(file);
    const same =
      again !== 'gone' &&
      ((again === undefined && owner === undefined && (await isStale(file, undefined, orphanMs))) ||
        (again !== undefined &&
          owner !== undefined &&
          again.pid === owner.pid &&
          again.since === owner.since));
    if (same) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's start time in clock ticks since boot (/proc/PID/stat field 22), or ''. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}
