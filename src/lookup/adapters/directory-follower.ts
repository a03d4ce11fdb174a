/**
 * How a running lookup service learns that the directory changed: every `intervalMs` it asks the
 * same cheap change probe `zmproxyconfgen --watch` polls (the naming contexts' contextCSN, or the
 * fallback fingerprint; the hosts file's mtime), and when the answer differs it tells `onChange`,
 * which re-reads the global settings and the memcached server list and drops the domain and
 * server data kept in process. While the probe fails (LDAP down, contextCSN not readable), a slow
 * safety refresh re-reads everything every `safetyMs` instead. The CLI builds the probe
 * (reload/input-probe.ts), so that this adapter needs none of reload/.
 */
import type { Logger } from 'pino';
import { ProxyConfError } from '../../errors.js';

/** What the probe saw: `fingerprint` changes with any input; `revision` is the directory's. */
export interface ProbeAnswer {
  fingerprint: string;
  /** The newest contextCSN (or the fallback fingerprint): the `revision` label of the info metric. */
  revision: string;
}

/** Why {@link DirectoryFollowerOptions.onChange} runs. */
export type FollowReason = 'changed' | 'safety';

/** Options of {@link startDirectoryFollower}. */
export interface DirectoryFollowerOptions {
  probe(): Promise<ProbeAnswer>;
  /** Probe every this many ms; 0 = never (the safety refresh alone). */
  intervalMs: number;
  /** Re-read everything when no probe succeeded for this long; 0 = never. */
  safetyMs: number;
  /** Re-reads what the lookup keeps; a rejection makes the next tick try again. */
  onChange(revision: string | undefined, reason: FollowReason): Promise<void>;
  logger: Logger;
  /** The answer the service started from (probed before it read the directory). */
  initial?: ProbeAnswer | undefined;
}

/** A running follower. */
export interface DirectoryFollower {
  /** The revision last followed (undefined before the first successful probe). */
  revision(): string | undefined;
  /** Probes now (tests; the timer calls it too). */
  tick(): Promise<void>;
  stop(): void;
}

/** `csn:A,B` → the newest CSN (CSNs start with a UTC timestamp, so they sort as text). */
export function newestRevision(text: string): string {
  if (!text.startsWith('csn:')) return text;
  return text.slice('csn:'.length).split(',').sort().pop() ?? text;
}

/** Starts polling; the first tick runs after one interval. */
export function startDirectoryFollower(options: DirectoryFollowerOptions): DirectoryFollower {
  let fingerprint = options.initial?.fingerprint;
  let revision = options.initial?.revision;
  let lastProbeOk = Date.now();
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const follow = async (reason: FollowReason, answer: ProbeAnswer | undefined): Promise<void> => {
    await options.onChange(answer?.revision ?? revision, reason);
    if (answer !== undefined) {
      fingerprint = answer.fingerprint;
      revision = answer.revision;
    }
  };

  const once = async (): Promise<void> => {
    let answer: ProbeAnswer | undefined;
    if (options.intervalMs > 0) {
      try {
        answer = await options.probe();
      } catch (error) {
        if (!failing)
          options.logger.warn(
            {
              err: error instanceof ProxyConfError ? error.message : String(error),
              safetyRefreshSeconds: options.safetyMs / 1000,
            },
            'cannot probe the directory for changes; re-reading it at the safety interval',
          );
        failing = true;
      }
    }
    const now = Date.now();
    if (answer !== undefined) {
      if (failing) options.logger.info('the directory change probe answers again');
      failing = false;
      lastProbeOk = now;
      if (answer.fingerprint !== fingerprint) await follow('changed', answer);
      return;
    }
    if (options.safetyMs > 0 && now - lastProbeOk >= options.safetyMs) {
      lastProbeOk = now;
      await follow('safety', undefined);
    }
  };

  const tick = (): Promise<void> => {
    running ??= once()
      .catch((error: unknown) => {
        options.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'cannot re-read the directory after a change; trying again',
        );
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const period = options.intervalMs > 0 ? options.intervalMs : options.safetyMs;
  const schedule = (): void => {
    if (stopped || period <= 0) return;
    timer = setTimeout(() => void tick().then(schedule), period);
    timer.unref();
  };
  schedule();
  return {
    revision: () => revision,
    tick,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
