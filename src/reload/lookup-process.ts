/**
 * The local lookup service as a child process of `zmproxyctl` (pid file, log file), and the
 * probes that say whether it, and nginx's path to it, answer: `/healthz` on the address the
 * lookup topology names, and one auth_http request through nginx's loopback auth server.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import type { LookupEndpoint, LookupScheme } from '../model/lookup-topology.js';

/** The pid in the file when that process lives; undefined otherwise. */
export function readLookupPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!(pid > 1)) return undefined;
    process.kill(pid, 0);
    // A child that exited but was not reaped yet (a zombie) still takes signals.
    if (/^\d+ \(.*\) Z/.test(readStat(pid))) return undefined;
    return pid;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return undefined;
    return undefined;
  }
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

/** Starts `command` detached, its output appended to `logFile`, its pid in `pidFile`. */
export function spawnLookup(command: readonly string[], pidFile: string, logFile: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  // The log names users, client addresses and routes: 0600 whatever the umask, and never
  // through a symlink planted in the log directory.
  const log = openSync(
    logFile,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o600,
  );
  fchmodSync(log, 0o600);
  const [file = process.execPath, ...args] = command;
  const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new Error(`cannot start ${file}`);
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Runs a command to its end (killed after `timeoutMs`): its exit code and output. */
export function runCommand(
  argv: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const [file = process.execPath, ...args] = argv;
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, output: `cannot run ${file}: ${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output: output.trim() });
    });
  });
}

/** Removes a pid file; a missing one is fine. */
export function removePidFile(pidFile: string): void {
  try {
    unlinkSync(pidFile);
  } catch {
    // already gone
  }
}

/** An HTTP answer, or why there was none. */
export type HttpAnswer =
  | { ok: true; status: number; headers: IncomingHttpHeaders; body: string }
  | { ok: false; error: string };

/** One GET on a new connection; TLS certificates are not verified (a liveness probe). */
export function httpGet(
  scheme: LookupScheme,
  endpoint: LookupEndpoint,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const request = scheme === 'https' ? httpsRequest : httpRequest;
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        path,
        headers: { ...headers, Connection: 'close' },
        agent: false,
        timeout: timeoutMs,
        rejectUnauthorized: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk.length < 4096 ? chunk : ''));
        res.on('end', () =>
          resolve({ ok: true, status: res.statusCode ?? 0, headers: res.headers, body }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, error: error.code ?? error.message }),
    );
    req.end();
  });
}

/** `/healthz` of a lookup service: undefined when it answers 200, else what went wrong. */
export async function probeLookupHealth(
  scheme: LookupScheme,
  endpoint: LookupEndpoint,
  timeoutMs = 2000,
): Promise<string | undefined> {
  const answer = await httpGet(scheme, endpoint, '/healthz', {}, timeoutMs);
  if (!answer.ok) return answer.error;
  return answer.status === 200 ? undefined : `HTTP ${answer.status}`;
}

/**
 * One auth_http request as nginx's mail module sends it, to nginx's own loopback auth server: the
 * answer's Auth-Status, or why there is none. A user that cannot exist is asked, so the answer
 * is a refusal; "temporarily unavailable" means nginx reached no lookup service.
 */
export async function probeAuthHttp(
  endpoint: LookupEndpoint,
  sharedKey: string,
  timeoutMs = 5000,
): Promise<{ ok: true; status: string } | { ok: false; error: string }> {
  const answer = await httpGet(
    'http',
    endpoint,
    '/service/extension/nginx-lookup',
    {
      'Auth-Method': 'plain',
      'Auth-User': 'zmproxyctl-probe@invalid',
      'Auth-Pass': 'x',
      'Auth-Protocol': 'imap',
      'Auth-Login-Attempt': '1',
      'Client-IP': '127.0.0.1',
      ...(sharedKey === '' ? {} : { 'X-Zmproxy-Key': sharedKey }),
    },
    timeoutMs,
  );
  if (!answer.ok) return { ok: false, error: answer.error };
  const status = answer.headers['auth-status'];
  if (typeof status !== 'string')
    return { ok: false, error: `HTTP ${answer.status} without Auth-Status` };
  return { ok: true, status };
}
