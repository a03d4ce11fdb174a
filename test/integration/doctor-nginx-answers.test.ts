/**
 * The doctor's explanations of 5xx answers against the real nginx (Debian's 1.22), loopback only:
 * an upstream group whose servers are all down (502, then "no live upstreams", still 502), a hung
 * upstream past proxy_read_timeout (504), a mailbox server answering 503 (passed on), and a 500
 * logged before a SIGHUP reload, which the doctor must leave out.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNginxLogs } from '../../src/doctor/checks/nginx-logs.js';
import type { Finding } from '../../src/doctor/finding.js';
import { readTails } from '../../src/doctor/probes/files.js';

const NGINX = '/usr/sbin/nginx';

async function listen(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function status(port: number, path: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  return response.status;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let work = '';
let nginx: ChildProcess | undefined;
let nginxErrors = '';
let port = 0;
const sockets: Socket[] = [];
const hung = createServer((socket) => sockets.push(socket));
const busy = createHttpServer((request, response) => {
  response.writeHead(request.url === '/boom' ? 500 : 503);
  response.end('mailboxd says no\n');
});

function errorLog(): string {
  try {
    return readFileSync(join(work, 'log/nginx.log'), 'utf8');
  } catch {
    return '';
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-doctor-5xx-'));
  mkdirSync(join(work, 'log'));
  mkdirSync(join(work, 'tmp'));
  const hungPort = await listen(hung);
  const busyPort = await listen(busy);
  const [down1, down2] = [await closedPort(), await closedPort()];
  port = await closedPort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `${kind}_temp_path ${work}/tmp;`)
    .join(' ');
  // What the stock templates use for these answers: error_log at Zimbra's default level (info),
  // the combined access log, servers with max_fails/fail_timeout, no proxy_intercept_errors.
  writeFileSync(
    join(work, 'nginx.conf'),
    `pid ${work}/nginx.pid;
error_log ${work}/log/nginx.log info;
events { worker_connections 64; }
http {
  access_log ${work}/log/nginx.access.log;
  ${temp}
  upstream mailclient {
    server 127.0.0.1:${down1} fail_timeout=60s max_fails=1;
    server 127.0.0.1:${down2} fail_timeout=60s max_fails=1;
  }
  server {
    listen 127.0.0.1:${port};
    location /down { proxy_pass http://mailclient; }
    location /hung { proxy_pass http://127.0.0.1:${hungPort}; proxy_read_timeout 1s; }
    location /busy { proxy_pass http://127.0.0.1:${busyPort}; }
    location /boom { proxy_pass http://127.0.0.1:${busyPort}; }
  }
}
`,
  );
  nginx = spawn(
    NGINX,
    [
      '-p',
      `${work}/`,
      '-c',
      `${work}/nginx.conf`,
      '-e',
      `${work}/log/nginx.log`,
      '-g',
      'daemon off;',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  nginx.stderr?.on('data', (chunk: Buffer) => (nginxErrors += chunk.toString()));
  await until(() => /start worker processes/.test(errorLog()), `nginx to start: ${nginxErrors}`);
}, 15_000);

afterAll(async () => {
  if (nginx?.pid !== undefined && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx?.once('exit', resolve));
    nginx.kill('SIGQUIT');
    await exited;
  }
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => hung.close(resolve));
  await new Promise((resolve) => busy.close(resolve));
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the doctor explains what the real nginx answered', () => {
  let findings: Finding[] = [];
  const answered: Record<string, number[]> = {};
  async function ask(path: string): Promise<void> {
    (answered[path] ??= []).push(await status(port, path));
  }

  beforeAll(async () => {
    await ask('/boom');
    // The access log is cut by the second of the reload: let that second pass first.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    nginx?.kill('SIGHUP');
    await until(
      () => (errorLog().match(/start worker processes/g) ?? []).length === 2,
      'nginx to reload',
    );
    // Upstream failures are counted per worker: let the old one finish before asking again.
    await until(() => /worker process \d+ exited/.test(errorLog()), 'the old worker to exit');
    await ask('/down');
    await ask('/down');
    await ask('/hung');
    await ask('/busy');
    const logs = await readTails([join(work, 'log/nginx.log'), join(work, 'log/nginx.access.log')]);
    findings = checkNginxLogs(logs.map((read) => ({ read, given: true })));
  }, 20_000);

  function about(code: string): Finding | undefined {
    return findings.find((finding) => finding.subject.startsWith(`HTTP ${code}`));
  }

  it('nginx answered what the setup was built for', () => {
    expect(answered).toEqual({
      '/boom': [500],
      '/down': [502, 502],
      '/hung': [504],
      '/busy': [503],
    });
  });

  it('502: every server of the group down is "no live upstreams" and still a 502', () => {
    expect(errorLog()).toContain('no live upstreams while connecting to upstream');
    expect(about('502')?.evidence).toMatch(/^2 in /);
    expect(about('502')?.explanation).toContain('"no live upstreams" and answers 502');
    expect(findings.find((f) => f.subject === 'refused connections')?.evidence).toMatch(/^2 in /);
  });

  it('504: the upstream sent no answer within proxy_read_timeout', () => {
    expect(errorLog()).toContain('upstream timed out (110: Connection timed out)');
    expect(about('504')?.explanation).toContain('longer than the proxy');
    expect(findings.find((f) => f.subject === 'upstream timeouts')?.evidence).toMatch(/^1 in /);
  });

  it('503: passed on from the mailbox server, not made by nginx', () => {
    expect(about('503')?.evidence).toMatch(/^1 in /);
    expect(about('503')?.explanation).toContain('the mailbox server answered 503');
  });

  it('leaves out the 500 answered before the reload', () => {
    expect(readFileSync(join(work, 'log/nginx.access.log'), 'utf8')).toMatch(
      /"GET \/boom HTTP\/1.1" 500 /,
    );
    expect(about('500')).toBeUndefined();
    expect(about('502')?.evidence).toContain('since nginx last (re)loaded its configuration at');
  });
});
