/**
 * NginxControl on the real nginx: `nginx -t` with a timeout, SIGHUP to the master named by the
 * pid file, the generation marker over HTTP and `[emerg]` lines from the error log.
 */
import { httpGet } from './marker-client.js';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { NginxControl, NginxTestResult } from '../ports.js';
import { MODULE_RULE_HINT } from '../model/load-module.js';
import { checkModuleTrust, loadModulesOfConfig } from './module-trust.js';

/** Options of {@link createNginxControl}. */
export interface NginxControlOptions {
  /** The nginx binary. @default 'nginx' (from PATH) */
  nginx?: string | undefined;
  /** `-p`: nginx's prefix, with a trailing slash. @default the workdir given to the CLI */
  prefix: string;
  /** How long `nginx -t` may run, in ms. @default 30000 */
  testTimeoutMs?: number | undefined;
  /** Words run before nginx for `nginx -t`, e.g. `['runuser', '-u', 'nobody', '--']`. @default [] */
  testWrapper?: readonly string[] | undefined;
  /** How long one marker request may take, in ms. @default 1000 */
  probeTimeoutMs?: number | undefined;
}

/** Creates the NginxControl of a work directory. */
export function createNginxControl(options: NginxControlOptions): NginxControl {
  const nginx = options.nginx ?? 'nginx';
  return {
    async test(confFile) {
      // nginx runs a module's constructors while it reads the configuration, before -t can fail.
      const refused = await refusedModules(confFile, options.prefix);
      if (refused !== undefined) return { ok: false, output: refused, timedOut: false };
      return runNginxTest(
        [
          ...(options.testWrapper ?? []),
          nginx,
          '-t',
          '-q',
          '-e',
          'stderr',
          '-p',
          options.prefix,
          '-c',
          confFile,
        ],
        options.testTimeoutMs ?? 30_000,
      );
    },
    masterPid: (pidFile) => Promise.resolve(readLivePid(pidFile)),
    reload(pid) {
      process.kill(pid, 'SIGHUP');
      return Promise.resolve();
    },
    servedGeneration: (listen) => fetchGeneration(listen, options.probeTimeoutMs ?? 1000),
    masterCpuTicks: (pid) => readCpuTicks(pid),
    async errorLogMark(logFile) {
      try {
        return (await stat(logFile)).size;
      } catch {
        return 0;
      }
    },
    errorsSince: readEmergSince,
  };
}

/** Why nginx must not even read `confFile` (an untrusted load_module), or undefined. */
async function refusedModules(confFile: string, prefix: string): Promise<string | undefined> {
  const reasons: string[] = [];
  for (const module of await loadModulesOfConfig(confFile, prefix)) {
    const reason = await checkModuleTrust(module);
    if (reason !== undefined) reasons.push(`load_module ${module}: ${reason}`);
  }
  if (reasons.length === 0) return undefined;
  return `zmproxy did not run nginx -t: ${reasons.join('; ')}\nhint: ${MODULE_RULE_HINT}`;
}

/** Runs a command line (nginx -t), killing it after `timeoutMs`. */
export function runNginxTest(argv: readonly string[], timeoutMs: number): Promise<NginxTestResult> {
  return new Promise((resolve) => {
    const [command = 'nginx', ...args] = argv;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `cannot run ${command}: ${error.message}`, timedOut: false });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0 && !timedOut, output: output.trim(), timedOut });
    });
  });
}

/**
 * The pid in `pidFile` when that process lives and is an nginx (a pid file left behind by a
 * crash may name a reused pid: never signal that one). `nginx -t` leaves an empty pid file.
 */
export function readLivePid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8').trim();
  } catch {
    return undefined;
  }
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid <= 1) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('nginx')) return undefined;
  } catch {
    // No /proc: trust the live pid.
  }
  return pid;
}

async function fetchGeneration(listen: string, timeoutMs: number): Promise<string | undefined> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  if (match === null) return undefined;
  // A new connection each time (httpGet keeps none): a kept-alive one would stay with an old worker.
  const answer = await httpGet(match[1]!, Number(match[2]), '/zmproxy-generation', timeoutMs);
  return answer.ok ? answer.body.trim() : undefined;
}

async function readEmergSince(logFile: string, mark: number): Promise<string[]> {
  let size: number;
  try {
    size = (await stat(logFile)).size;
  } catch {
    return [];
  }
  // A rotated (smaller) log is read from its start.
  const from = size < mark ? 0 : mark;
  if (size === from) return [];
  const handle = await open(logFile, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size - from, 1 << 20));
    await handle.read(buffer, 0, buffer.length, from);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line.includes('[emerg]'));
  } finally {
    await handle.close();
  }
}

/** The whole error log's text (for messages), or '' when it cannot be read. */
export async function readErrorLog(logFile: string): Promise<string> {
  return readFile(logFile, 'utf8').catch(() => '');
}

/**
 * utime + stime of a process in clock ticks, from /proc/<pid>/stat (Linux); undefined elsewhere or
 * when the process is gone. The fields are counted after the command name's closing parenthesis,
 * as the name itself may hold spaces and parentheses.
 */
export async function readCpuTicks(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3 of the line, utime 14 and stime 15 (proc(5)).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}
