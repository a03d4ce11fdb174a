/**
 * `zmproxyctl start|stop|restart|reload|status` (= `zmproxy ctl`, ref §10.1) for nginx with our
 * work-directory layout and for the local lookup service (`zmproxy lookup -w DIR`, run as a
 * child process with a pid file). It refuses to start or reload a tree that fails `nginx -t`.
 * `status` exits 0 when nginx runs and 1 when it does not, as Zimbra's does.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProxyConfError } from '../errors.js';
import { createNginxControl, readLivePid, runNginxTest } from '../reload/nginx-control.js';
import type { CliIo } from './shared/io.js';
import { EXIT, reportError } from './shared/run.js';
import { defaultConfFile, expandNginxConf } from './zmproxyconf.js';

/** Dependencies of {@link run}, replaceable in tests. */
export interface ZmproxyctlDeps {
  /** The command line that runs the lookup service for a work directory, or undefined when this build has none. */
  lookupCommand?: (workdir: string) => readonly string[] | undefined;
  sleep?: (ms: number) => Promise<void>;
}

const USAGE = `usage: zmproxyctl start|stop|restart|reload|status [-w DIR] [--nginx PATH] [--no-lookup]

Controls nginx (run as nginx -p DIR/ -c <conf>, <conf> being DIR/conf/nginx/current/nginx.conf
when zmproxyconfgen --apply manages DIR, else DIR/conf/nginx.conf) and the lookup service
(zmproxy lookup -w DIR, pid file DIR/log/zmproxy-lookup.pid).

  -w DIR         work directory (default /opt/zimbra)
  --nginx PATH   the nginx binary (default: nginx on PATH)
  --no-lookup    leave the lookup service alone
  --timeout S    seconds to wait for start and stop (default 30)

status exits 0 when nginx runs, 1 when it does not.
`;

interface Args {
  command: 'start' | 'stop' | 'restart' | 'reload' | 'status';
  workdir: string;
  nginx: string;
  lookup: boolean;
  timeoutMs: number;
}

const LOOKUP_CLI = fileURLToPath(new URL('./lookup.js', import.meta.url));
const ZMPROXY_BIN = fileURLToPath(new URL('../../bin/zmproxy.js', import.meta.url));

function defaultLookupCommand(workdir: string): readonly string[] | undefined {
  // The lookup service ships in the same build when src/cli/lookup.ts exists.
  if (!existsSync(LOOKUP_CLI) || !existsSync(ZMPROXY_BIN)) return undefined;
  return [process.execPath, ZMPROXY_BIN, 'lookup', '-w', workdir];
}

/** Runs zmproxyctl with `argv` (without the program name); returns the exit code. */
export async function run(
  argv: readonly string[],
  io: CliIo,
  deps: ZmproxyctlDeps = {},
): Promise<number> {
  try {
    const args = parseArgs(argv, io);
    if (typeof args === 'number') return args;
    const ctl = controller(args, io, deps);
    switch (args.command) {
      case 'start':
        return await ctl.start();
      case 'stop':
        return await ctl.stop();
      case 'restart': {
        const stopped = await ctl.stop();
        return stopped === EXIT.ok ? await ctl.start() : stopped;
      }
      case 'reload':
        return await ctl.reload();
      case 'status':
        return ctl.status();
      default: {
        const never: never = args.command;
        throw new Error(`unknown command ${String(never)}`);
      }
    }
  } catch (error) {
    return reportError(error, io, false);
  }
}

function parseArgs(argv: readonly string[], io: CliIo): Args | number {
  let command: Args['command'] | undefined;
  const args = { workdir: '/opt/zimbra', nginx: 'nginx', lookup: true, timeoutMs: 30_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw usage(`${arg} needs a value`);
      return next;
    };
    if (arg === '-h' || arg === '--help') {
      io.stdout(USAGE);
      return EXIT.ok;
    } else if (arg === '-w' || arg === '--workdir') args.workdir = resolve(value());
    else if (arg === '--nginx') args.nginx = value();
    else if (arg === '--no-lookup') args.lookup = false;
    else if (arg === '--timeout') {
      const seconds = Number(value());
      if (!(seconds > 0)) throw usage('--timeout needs a positive number of seconds');
      args.timeoutMs = seconds * 1000;
    } else if (
      ['start', 'stop', 'restart', 'reload', 'status'].includes(arg) &&
      command === undefined
    ) {
      command = arg as Args['command'];
    } else if (command === 'start' || command === 'restart') {
      // Zimbra's `start norewrite`: we never regenerate on start, so the word is accepted and ignored.
      continue;
    } else throw usage(`unexpected argument ${arg}`);
  }
  if (command === undefined) throw usage('give a command: start, stop, restart, reload or status');
  return { command, ...args };
}

function usage(message: string): ProxyConfError {
  return new ProxyConfError('E_USAGE', message, { hint: 'zmproxyctl -h lists the commands' });
}

function controller(args: Args, io: CliIo, deps: ZmproxyctlDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const conf = defaultConfFile(args.workdir);
  const prefix = `${args.workdir}/`;
  const lookupPidFile = `${args.workdir}/log/zmproxy-lookup.pid`;
  const lookupCommand = (deps.lookupCommand ?? defaultLookupCommand)(args.workdir);

  const pidFile = (): string => {
    try {
      const match = /^\s*pid\s+([^;\s]+)\s*;/m.exec(expandNginxConf(conf));
      if (match?.[1] !== undefined) return resolve(prefix, match[1]);
    } catch {
      // Fall through to the generator's default.
    }
    return `${args.workdir}/log/nginx.pid`;
  };
  const nginxPid = (): number | undefined => readLivePid(pidFile());
  const lookupPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(lookupPidFile, 'utf8').trim());
      if (!(pid > 1)) return undefined;
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  };
  const waitFor = async (check: () => boolean): Promise<boolean> => {
    const deadline = Date.now() + args.timeoutMs;
    while (Date.now() < deadline) {
      if (check()) return true;
      await sleep(100);
    }
    return check();
  };
  const refuseReason = async (): Promise<string | undefined> => {
    if (!existsSync(conf)) return `${conf} is missing; run zmproxyconfgen first`;
    const text = readFileSync(conf, 'utf8').trimEnd();
    const last = text.slice(text.lastIndexOf('\n') + 1);
    // ProxyConfGen's marker (ref §10.1): a failed generation leaves #__CONF_GEN_ERROR__:<reason>.
    if (last.includes('__CONF_GEN_ERROR__')) return last.slice(last.indexOf(':') + 1) || 'unknown';
    // Through NginxControl: it refuses untrusted load_module paths before nginx reads them.
    const test = await createNginxControl({
      nginx: args.nginx,
      prefix,
      testTimeoutMs: args.timeoutMs,
    }).test(conf);
    if (!test.ok) return `nginx -t failed:\n${test.output}`;
    return undefined;
  };

  const startLookup = async (): Promise<void> => {
    if (!args.lookup) return;
    if (lookupCommand === undefined) {
      io.stdout('lookup service: not part of this build, not started\n');
      return;
    }
    if (lookupPid() !== undefined) {
      io.stdout('lookup service: already running\n');
      return;
    }
    mkdirSync(`${args.workdir}/log`, { recursive: true });
    // Users, client addresses and routes: owner-only, and never through a planted symlink.
    const log = openSync(
      `${args.workdir}/log/zmproxy-lookup.log`,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    fchmodSync(log, 0o600);
    const [command = process.execPath, ...rest] = lookupCommand;
    const child = spawn(command, rest, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    if (child.pid === undefined)
      throw new ProxyConfError('E_INTERNAL', 'cannot start the lookup service');
    writeFileSync(lookupPidFile, `${child.pid}\n`);
    // A service that dies at once (bad settings) is reported, not left as a stale pid file.
    await sleep(300);
    if (lookupPid() === undefined) {
      io.stderr(`lookup service: exited at once; see ${args.workdir}/log/zmproxy-lookup.log\n`);
    } else io.stdout(`lookup service: started (pid ${child.pid})\n`);
  };
  const stopLookup = async (): Promise<boolean> => {
    if (!args.lookup) return true;
    const pid = lookupPid();
    if (pid === undefined) return true;
    process.kill(pid, 'SIGTERM');
    const stopped = await waitFor(() => lookupPid() === undefined);
    if (stopped) unlinkSync(lookupPidFile);
    io.stdout(`lookup service: ${stopped ? 'stopped' : `pid ${pid} did not stop`}\n`);
    return stopped;
  };

  return {
    async start(): Promise<number> {
      if (nginxPid() !== undefined) {
        io.stdout('nginx is already running.\n');
        await startLookup();
        return EXIT.ok;
      }
      const reason = await refuseReason();
      if (reason !== undefined) {
        io.stderr(`nginx start failed. reason: ${reason}\n`);
        return EXIT.error;
      }
      io.stdout('Starting proxy...');
      await startLookup();
      // nginx daemonizes: the command returns once the master runs (or failed to start).
      const started = await runNginxTest([args.nginx, '-p', prefix, '-c', conf], args.timeoutMs);
      if (!started.ok || !(await waitFor(() => nginxPid() !== undefined))) {
        io.stdout('failed.\n');
        io.stderr(`nginx start failed. reason: ${started.output || 'no pid file'}\n`);
        return EXIT.error;
      }
      io.stdout('done.\n');
      return EXIT.ok;
    },
    async stop(): Promise<number> {
      const pid = nginxPid();
      io.stdout('Stopping proxy...');
      if (pid !== undefined) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitFor(() => nginxPid() === undefined))) {
          io.stdout('failed.\n');
          io.stderr(`nginx (pid ${pid}) did not stop within ${args.timeoutMs / 1000} s\n`);
          return EXIT.error;
        }
      }
      io.stdout(pid === undefined ? 'not running.\n' : 'done.\n');
      return (await stopLookup()) ? EXIT.ok : EXIT.error;
    },
    async reload(): Promise<number> {
      const pid = nginxPid();
      if (pid === undefined) {
        io.stderr('nginx is not running.\n');
        return EXIT.error;
      }
      const reason = await refuseReason();
      if (reason !== undefined) {
        io.stderr(`nginx reload refused. reason: ${reason}\n`);
        return EXIT.error;
      }
      process.kill(pid, 'SIGHUP');
      io.stdout('Reloading proxy...done.\n');
      return EXIT.ok;
    },
    status(): number {
      const pid = nginxPid();
      io.stdout(pid === undefined ? 'proxy is not running.\n' : `proxy is running (pid ${pid}).\n`);
      if (args.lookup && lookupCommand !== undefined) {
        const lookup = lookupPid();
        io.stdout(
          lookup === undefined
            ? 'lookup service is not running.\n'
            : `lookup service is running (pid ${lookup}).\n`,
        );
      }
      return pid === undefined ? EXIT.error : EXIT.ok;
    },
  };
}
