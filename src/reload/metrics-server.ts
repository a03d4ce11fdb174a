/** The `--metrics-listen` HTTP endpoint of the daemon: GET /metrics (Prometheus text), /healthz. */
import { createServer } from 'node:http';
import type { Server } from 'node:http';

/** Starts listening on `host:port`; `metrics` gives the current text on each scrape. */
export async function startMetricsServer(
  listen: string,
  metrics: () => string,
): Promise<{ close: () => Promise<void>; port: number }> {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (match === null) throw new Error(`--metrics-listen must be HOST:PORT (got "${listen}")`);
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(metrics());
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(match[2]), match[1] === '' ? '127.0.0.1' : match[1], () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : Number(match[2]),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
