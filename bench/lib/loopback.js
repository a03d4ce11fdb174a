// What the benchmarks and the tests share to run real servers on this machine: free loopback
// ports, waiting for a port, and self-signed certificates (openssl on the PATH). Plain
// JavaScript, so that `node bench/*.js` runs it as is; the types are in loopback.d.ts.
import { execFileSync } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** `n` distinct free loopback ports (all held open at once, so they differ). */
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Whether something accepts connections on the loopback port now. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once something accepts connections on the loopback port (5 s at most). */
export async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/**
 * Writes a fresh self-signed certificate and its unencrypted key (PEM) for `commonName`, valid
 * two days: an EC P-256 key, or RSA 2048 with `{ rsa: true }`.
 */
export function writeSelfSignedCertificate(
  crtPath,
  keyPath,
  commonName = 'localhost',
  options = {},
) {
  const key =
    options.rsa === true
      ? ['-newkey', 'rsa:2048']
      : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      ...key,
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      keyPath,
      '-out',
      crtPath,
    ],
    { stdio: 'pipe' },
  );
}
