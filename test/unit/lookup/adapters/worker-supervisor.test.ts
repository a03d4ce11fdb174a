import { get } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  computeRestartDelay,
  startWorkerSupervisor,
  workerExecArgv,
} from '../../../../src/lookup/adapters/worker-supervisor.js';
import type { WorkerSupervisor } from '../../../../src/lookup/adapters/worker-supervisor.js';
import { freePorts } from '../../../helpers/ports.js';

const WORKER = new URL('./fixtures/supervised-worker.js', import.meta.url).pathname;
const logger = pino({ level: 'silent' });

/** The pid of the worker that answered on `port`, or undefined when nothing answers. */
function askPid(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(Number(body)));
    }).on('error', () => resolve(undefined));
  });
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(port: number, env: Record<string, string> = {}, workers = 2): WorkerSupervisor {
  const supervisor = startWorkerSupervisor({
    workers,
    exec: WORKER,
    execArgv: [],
    env: () => ({ SUPERVISED_PORT: String(port), ...env }),
    logger,
    restartDelayMs: 50,
    maxRestartDelayMs: 200,
    stableMs: 60_000,
    stopTimeoutMs: 5000,
  });
  onTestFinished(() => supervisor.stop());
  return supervisor;
}

describe('startWorkerSupervisor (real cluster workers)', () => {
  it('starts the workers on one listener and restarts one that dies', async () => {
    const [port = 0] = await freePorts(1);
    const supervisor = start(port);
    await supervisor.ready;
    const first = supervisor.pids();
    expect(first).toHaveLength(2);
    expect(first).toContain(await askPid(port));
    const victim = first[0] ?? 0;
    process.kill(victim, 'SIGKILL');
    await until(
      () => supervisor.pids().length === 2 && !supervisor.pids().includes(victim),
      'a replacement worker',
    );
    expect(supervisor.restarts()).toBe(1);
    // The replacement serves too (the listener is shared round-robin).
    const replacement = supervisor.pids().find((pid) => !first.includes(pid));
    const answered = new Set<number | undefined>();
    for (let i = 0; i < 200 && !answered.has(replacement); i++) {
      answered.add(await askPid(port));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(answered).toContain(replacement);
  });

  it('waits longer before each restart while workers keep dying young', async () => {
    const [port = 0] = await freePorts(1);
    const lines: string[] = [];
    const supervisor = startWorkerSupervisor({
      workers: 1,
      exec: WORKER,
      execArgv: [],
      env: () => ({ SUPERVISED_PORT: String(port) }),
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      restartDelayMs: 50,
      maxRestartDelayMs: 1000,
    });
    onTestFinished(() => supervisor.stop());
    await supervisor.ready;
    for (let round = 1; round <= 3; round++) {
      const [pid = 0] = supervisor.pids();
      process.kill(pid, 'SIGKILL');
      await until(
        () => supervisor.pids().length === 1 && supervisor.pids()[0] !== pid,
        `restart ${round}`,
      );
    }
    const delays = lines
      .map((line) => JSON.parse(line) as { restartInMs?: number })
      .flatMap((entry) => (entry.restartInMs === undefined ? [] : [entry.restartInMs]));
    expect(delays).toEqual([50, 100, 200]);
  });

  it('passes messages both ways', async () => {
    const [port = 0] = await freePorts(1);
    const seen: number[] = [];
    const supervisor = startWorkerSupervisor({
      workers: 2,
      exec: WORKER,
      execArgv: [],
      env: () => ({ SUPERVISED_PORT: String(port) }),
      logger,
      onMessage: (_worker, message) => {
        const m = message as { type?: string; pid?: number };
        if (m.type === 'echoed' && m.pid !== undefined) seen.push(m.pid);
      },
    });
    onTestFinished(() => supervisor.stop());
    await supervisor.ready;
    supervisor.broadcast({ type: 'echo' });
    await until(() => seen.length === 2, 'two echoes');
    expect(seen.sort()).toEqual(supervisor.pids().sort());
  });

  it('stops every worker and frees the listener', async () => {
    const [port = 0] = await freePorts(1);
    const supervisor = start(port);
    await supervisor.ready;
    const pids = supervisor.pids();
    await supervisor.stop();
    expect(supervisor.pids()).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(await askPid(port)).toBeUndefined();
  });

  it('fails the start with the reason a worker gave, instead of restarting it forever', async () => {
    const [port = 0] = await freePorts(1);
    const supervisor = start(port, { SUPERVISED_FAIL: '1' }, 1);
    await expect(supervisor.ready).rejects.toMatchObject({
      code: 'E_INPUT',
      message: 'cannot start here',
      hint: 'fix it',
    });
    expect(supervisor.restarts()).toBe(0);
    expect(supervisor.pids()).toEqual([]);
  });
});

describe('computeRestartDelay', () => {
  it('doubles per young death up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => computeRestartDelay(n, 1000, 8000))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });
});

describe('workerExecArgv', () => {
  it('keeps node flags and drops an inline script', () => {
    expect(workerExecArgv(['--enable-source-maps', '-e', 'x()', '--input-type', 'module'])).toEqual(
      ['--enable-source-maps'],
    );
  });
});
