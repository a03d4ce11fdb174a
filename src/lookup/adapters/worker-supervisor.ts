/**
 * The process supervision of `zmproxy lookup --workers N` (node:cluster): the primary forks the
 * workers, restarts one that dies (after a delay that doubles while workers keep dying young),
 * answers the workers' `/metrics` with the aggregate of all of them, passes messages on, and
 * stops them gracefully. The worker side of the same protocol is here too, so that the message
 * names live in one file. A worker that cannot start (its port in use, say) fails the start with
 * its own reason instead of being restarted forever.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ProxyConfError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import { createClusterRegistry } from './metrics.js';

/** Messages between the primary and its workers. */
export const WORKER_MESSAGE = {
  /** worker → primary: the cluster's metrics, please (`id` matches the reply). */
  metrics: 'zmproxy:metrics',
  metricsReply: 'zmproxy:metrics-reply',
  /** worker → primary: it cannot start (a ProxyConfError's parts). */
  startFailed: 'zmproxy:start-failed',
} as const;

/** What a worker that cannot start tells its primary. */
export interface StartFailedMessage {
  type: typeof WORKER_MESSAGE.startFailed;
  code: ErrorCode;
  message: string;
  hint: string | undefined;
}

/** Options of {@link startWorkerSupervisor}. */
export interface WorkerSupervisorOptions {
  /** How many workers to keep running (at least 1). */
  workers: number;
  /** The script every worker runs, and the node flags it runs with. */
  exec: string;
  execArgv: readonly string[];
  /** The environment added for each fork (read at every fork: a restarted worker gets today's). */
  env(): Record<string, string>;
  logger: Logger;
  /** Delay before the first restart. @default 1000 */
  restartDelayMs?: number;
  /** The delay doubles per young death up to this. @default 30000 */
  maxRestartDelayMs?: number;
  /** A worker that ran this long died of old age: the delay starts over. @default 60000 */
  stableMs?: number;
  /** A worker still running this long after SIGTERM is killed. @default 15000 */
  stopTimeoutMs?: number;
  /** Messages from a worker that are not the supervisor's own. */
  onMessage?(worker: Worker, message: unknown): void;
}

/** The running supervisor. */
export interface WorkerSupervisor {
  /** Resolves once every first worker listens; rejects (all stopped) when one cannot start. */
  ready: Promise<void>;
  /** Sends `message` to every live worker. */
  broadcast(message: unknown): void;
  /** Sends `signal` to every live worker. */
  signal(signal: NodeJS.Signals): void;
  /** Process ids of the live workers. */
  pids(): number[];
  /** Workers restarted so far. */
  restarts(): number;
  /** SIGTERM to every worker; resolves when all exited (killed after `stopTimeoutMs`). */
  stop(): Promise<void>;
}

/** The backoff of the restarts: `base · 2^(young deaths in a row − 1)`, at most `max`. */
export function computeRestartDelay(youngDeaths: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, youngDeaths - 1));
}

/** Forks the workers and keeps them running until {@link WorkerSupervisor.stop}. */
export function startWorkerSupervisor(options: WorkerSupervisorOptions): WorkerSupervisor {
  const baseDelay = options.restartDelayMs ?? 1000;
  const maxDelay = options.maxRestartDelayMs ?? 30_000;
  const stableMs = options.stableMs ?? 60_000;
  const registry = createClusterRegistry();
  cluster.setupPrimary({
    exec: options.exec,
    args: [],
    execArgv: [...options.execArgv],
    silent: false,
  });
  let stopping = false;
  let started = false;
  let youngDeaths = 0;
  let restarted = 0;
  const ours = new Set<Worker>();
  const bornAt = new Map<number, number>();
  const listened = new Set<number>();
  const startFailures = new Map<number, StartFailedMessage>();
  const pendingRestarts = new Set<NodeJS.Timeout>();

  const fork = (): Worker => {
    const worker = cluster.fork(options.env());
    ours.add(worker);
    bornAt.set(worker.id, Date.now());
    return worker;
  };
  const live = (): Worker[] => [...ours].filter((worker) => !worker.isDead());

  let resolveStart: () => void = () => undefined;
  let failStart: (error: ProxyConfError) => void = () => undefined;
  const firstStart = new Promise<void>((resolve, reject) => {
    resolveStart = resolve;
    failStart = reject;
  });

  const onListening = (worker: Worker): void => {
    if (!ours.has(worker)) return;
    listened.add(worker.id);
    if (!started && listened.size >= options.workers) resolveStart();
  };
  const onMessage = (worker: Worker, message: unknown): void => {
    if (!ours.has(worker)) return;
    const m = message as { type?: string; id?: number };
    if (m.type === WORKER_MESSAGE.startFailed) {
      startFailures.set(worker.id, message as StartFailedMessage);
      return;
    }
    if (m.type === WORKER_MESSAGE.metrics) {
      const reply = (body: string): void => {
        // The worker may be gone by now (stopping): its channel is closed, nothing to answer.
        if (!worker.isConnected()) return;
        worker.send(
          { type: WORKER_MESSAGE.metricsReply, id: m.id, body },
          undefined,
          () => undefined,
        );
      };
      registry.clusterMetrics().then(reply, () => reply(''));
      return;
    }
    options.onMessage?.(worker, message);
  };
  const onExit = (worker: Worker, code: number | null, sig: string | null): void => {
    if (!ours.has(worker)) return;
    ours.delete(worker);
    const lived = Date.now() - (bornAt.get(worker.id) ?? Date.now());
    bornAt.delete(worker.id);
    if (stopping) return;
    if (!started && !listened.has(worker.id)) {
      // It would fail again on every restart: stop with its reason. Its message arrives before
      // its channel closes.
      const fail = (): void => {
        const reason = startFailures.get(worker.id);
        failStart(
          reason === undefined
            ? new ProxyConfError(
                'E_INTERNAL',
                `lookup worker ${worker.process.pid ?? '?'} exited (${sig ?? `code ${code ?? '?'}`}) before it started listening`,
                { hint: 'its output is above; --workers 0 runs the service in this process' },
              )
            : new ProxyConfError(reason.code, reason.message, { hint: reason.hint }),
        );
      };
      if (worker.isConnected()) worker.once('disconnect', fail);
      else fail();
      return;
    }
    youngDeaths = lived >= stableMs ? 1 : youngDeaths + 1;
    const delay = computeRestartDelay(youngDeaths, baseDelay, maxDelay);
    options.logger.error(
      { worker: worker.process.pid, code, signal: sig, restartInMs: delay },
      'worker exited; starting another',
    );
    const timer = setTimeout(() => {
      pendingRestarts.delete(timer);
      if (stopping) return;
      restarted += 1;
      fork();
    }, delay);
    timer.unref();
    pendingRestarts.add(timer);
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  cluster.on('listening', onListening);

  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      for (const timer of pendingRestarts) clearTimeout(timer);
      pendingRestarts.clear();
      await Promise.all(
        live().map(
          (worker) =>
            new Promise<void>((resolve) => {
              const kill = setTimeout(() => worker.process.kill('SIGKILL'), stopTimeoutMs);
              worker.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              worker.process.kill('SIGTERM');
            }),
        ),
      );
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
      cluster.off('listening', onListening);
    })();
    return stopped;
  };

  for (let i = 0; i < Math.max(1, options.workers); i++) fork();
  const ready = firstStart.then(
    () => {
      started = true;
    },
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
  return {
    ready,
    broadcast(message) {
      for (const worker of live()) if (worker.isConnected()) worker.send(message as object);
    },
    signal(signal) {
      for (const worker of live()) worker.process.kill(signal);
    },
    pids: () =>
      live()
        .map((worker) => worker.process.pid)
        .filter((pid): pid is number => pid !== undefined),
    restarts: () => restarted,
    stop,
  };
}

/** Worker side: sends `message` to the primary; resolves once written (or without a channel). */
export function tellPrimary(message: StartFailedMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Worker side: `/metrics` text, the primary's aggregate of every worker. */
export function requestClusterMetrics(): () => Promise<{ contentType: string; body: string }> {
  // Constructing an aggregator in the worker is what makes prom-client answer the primary's
  // request for this worker's metrics (without it the primary waits until its timeout).
  createClusterRegistry();
  let next = 0;
  const waiting = new Map<number, (body: string) => void>();
  process.on('message', (message: unknown) => {
    const m = message as { type?: string; id?: number; body?: string };
    if (m.type === WORKER_MESSAGE.metricsReply && m.id !== undefined) {
      waiting.get(m.id)?.(m.body ?? '');
      waiting.delete(m.id);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = ++next;
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve({ contentType: 'text/plain', body: '# metrics unavailable\n' });
      }, 5000);
      waiting.set(id, (body) => {
        clearTimeout(timer);
        resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body });
      });
      process.send?.({ type: WORKER_MESSAGE.metrics, id });
    });
}

/** Node flags for the workers: the primary's, without a script given inline (`-e`, `-p`). */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] ?? '';
    if (['-e', '--eval', '-p', '--print'].includes(flag)) i += 1;
    else if (!/^--(eval|print|input-type)=/.test(flag) && flag !== '--input-type') kept.push(flag);
    else if (flag === '--input-type') i += 1;
  }
  return kept;
}
