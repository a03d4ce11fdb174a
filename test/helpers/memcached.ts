/** memcached servers of a test file's own, on free loopback ports, beside the stack's one. */
import { spawn } from 'node:child_process';
import { freePorts, waitForPort } from './ports.js';

/** Running memcached servers: their `127.0.0.1:PORT` addresses, and how to end them. */
export interface OwnMemcached {
  servers: string[];
  stop(): void;
}

/** Starts `count` memcached servers of `memoryMb` each and waits until each one listens. */
export async function startOwnMemcached(count: number, memoryMb = 8): Promise<OwnMemcached> {
  const ports = await freePorts(count);
  const daemons = ports.map((port) =>
    spawn(
      'memcached',
      ['-u', 'memcache', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', String(memoryMb)],
      { stdio: 'ignore' },
    ),
  );
  const stop = (): void => {
    for (const daemon of daemons) daemon.kill('SIGTERM');
  };
  try {
    for (const port of ports) await waitForPort(port);
  } catch (error) {
    stop();
    throw error;
  }
  return { servers: ports.map((port) => `127.0.0.1:${port}`), stop };
}
