/**
 * `zmproxyctl` (= `zmproxy ctl`, docs/zimbra-notes.md "zmproxyctl and zmproxyconf"): nginx with
 * our work-directory layout and the local lookup service, as Zimbra's zmproxyctl runs its proxy.
 * `start` and `restart` regenerate first (`zmproxyconfgen --apply --no-reload`; `norewrite` skips
 * it, as Zimbra's does), refuse a tree that fails `nginx -t`, and say "done" only when nginx
 * serves, the lookup service answers `/healthz` and an auth_http request through nginx gets an
 * Auth-Status. `setup` prepares a work directory. The lookup topology (local service or not, its
 * address) comes from localconfig (model/lookup-topology.ts), as the generator reads it.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatWarning, ProxyConfError } from '../errors.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { LookupTopology } from '../model/lookup-topology.js';
import { formatEndpoint, parseEndpoint } from '../model/lookup-topology.js';
import {
  probeAuthHttp,
  probeLookupHealth,
  readLookupPid,
  removePidFile,
  runCommand,
  spawnLookup,
} from '../reload/lookup-process.js';
import { createNginxControl, readLivePid, runNginxTest } from '../reload/nginx-control.js';
import { findMissingSetup, setUpWorkdir } from '../reload/workdir-setup.js';
import { readLocalConfig } from '../sources/localconfig/index.js';
import { readLocalLookupTopology, readPasswordFile } from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import type { FlagTable } from './shared/parse-command-args.js';
import { DIRECTORY_FLAGS, parseFlags, usageError } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';
import { defaultConfFile, expandNginxConf } from './zmproxyconf.js';
import { collectCtlStatus } from './ctl-status-json.js';

/** Dependencies of {@link run}, replaceable in tests. */
export interface ZmproxyctlDeps {
  /** The command line that runs the lookup service for a work directory, or undefined when this build has none. */
  lookupCommand?: (workdir: string) => readonly string[] | undefined;
  /** The command line that regenerates and publishes (start, restart). */
  regenerateCommand?: (workdir: string) => readonly string[];
  sleep?: (ms: number) => Promise<void>;
}

const COMMANDS = [
  'start',
  'stop',
  'restart',
  'reload',
  'status',
  'setup',
  'start-lookup',
  'stop-lookup',
] as const;
type Command = (typeof COMMANDS)[number];

const USAGE = `usage: zmproxyctl start|stop|restart|reload|status [-w DIR] [--nginx PATH] [--no-lookup]
       zmproxyctl help                         this text (also -h, --help)
       zmproxyctl status --json                the served generation's server, revision, config hash
       zmproxyctl start|restart norewrite      start without regenerating first
       zmproxyctl start-lookup|stop-lookup     the local lookup service alone
       zmproxyctl setup -w DIR [--server NAME] [--ldap-url URL] [--bind-dn DN]
                        [--bind-password-file FILE] [--nginx-user USER]

Controls nginx (nginx -p DIR/ -c DIR/conf/nginx/current/nginx.conf, the generation
zmproxyconfgen --apply publishes; DIR/conf/nginx.conf on a directory it does not manage) and the
local lookup service (zmproxy lookup -w DIR, pid file DIR/log/zmproxy-lookup.pid) when localconfig
zmproxy_lookup_servers is local. start and restart run zmproxyconfgen --apply --no-reload -w DIR
first, and say done once nginx serves, the lookup service answers and an auth_http request
through nginx gets an answer.

setup creates what nginx needs in DIR: conf/, log/, data/tmp/nginx/, a 0600 localconfig with a
generated lookup shared key, a self-signed conf/nginx.crt when none exists; it checks that the
nginx workers (--nginx-user, default nobody) can enter every directory on the way.

  -w DIR         work directory (default /opt/zimbra)
  --nginx PATH   the nginx binary (default: nginx on PATH)
  --no-lookup    leave the lookup service alone
  --timeout S    seconds to wait for start and stop (default 30)

status exits 0 when nginx runs, 1 when it does not.
`;

interface Args {
  command: Command;
  workdir: string;
  nginx: string;
  lookup: boolean;
  timeoutMs: number;
  rewrite: boolean;
  server: string | undefined;
  ldapUrl: string | undefined;
  bindDn: string | undefined;
  bindPasswordFile: string | undefined;
  nginxUser: string | undefined;
  json: boolean;
}

const ZMPROXY_BIN = fileURLToPath(new URL('../../bin/zmproxy.js', import.meta.url));
const LOOKUP_CLI = fileURLToPath(new URL('./lookup.js', import.meta.url));

function defaultLookupCommand(workdir: string): readonly string[] | undefined {
  // The lookup service ships in the same build when src/cli/lookup.ts exists.
  if (!existsSync(LOOKUP_CLI) || !existsSync(ZMPROXY_BIN)) return undefined;
  return [process.execPath, ZMPROXY_BIN, 'lookup', '-w', workdir];
}

function defaultRegenerateCommand(workdir: string): readonly string[] {
  return [process.execPath, ZMPROXY_BIN, 'confgen', '--apply', '--no-reload', '-w', workdir];
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
    if (args.command === 'setup') return await setup(args, io);
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
        return await ctl.status();
      case 'start-lookup':
        return (await ctl.startLookup(true)) ? EXIT.ok : EXIT.error;
      case 'stop-lookup':
        return (await ctl.stopLookup(true)) ? EXIT.ok : EXIT.error;
      default: {
        const never: never = args.command;
        throw new Error(`unknown command ${String(never)}`);
      }
    }
  } catch (error) {
    return reportError(error, io, false);
  }
}

/** zmproxyctl's flags, one table (the directory flags as every command spells them). */
const CTL_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  workdir: DIRECTORY_FLAGS.workdir,
  nginx: { type: 'string', default: 'nginx' },
  'no-lookup': { type: 'boolean' },
  timeout: { type: 'string', default: '30' },
  server: { type: 'string' },
  'ldap-url': { type: 'string' },
  'bind-dn': DIRECTORY_FLAGS['bind-dn'],
  'bind-password-file': DIRECTORY_FLAGS['bind-password-file'],
  'nginx-user': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies FlagTable;

const PROGRAM = 'zmproxyctl';

function parseArgs(argv: readonly string[], io: CliIo): Args | number {
  const { values, positionals } = parseFlags(argv, CTL_FLAGS, PROGRAM, true);
  const [word, ...rest] = positionals;
  // `zmproxyctl help`, as `-h`: Zimbra's script answers an unknown word with its usage.
  if (values.help === true || word === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  if (word === undefined) throw usageError(`give a command: ${COMMANDS.join(', ')}`, PROGRAM);
  if (!(COMMANDS as readonly string[]).includes(word)) {
    throw usageError(`unknown command ${word} (commands: ${COMMANDS.join(', ')})`, PROGRAM);
  }
  const command = word as Command;
  const norewrite = (command === 'start' || command === 'restart') && rest[0] === 'norewrite';
  const extra = rest[norewrite ? 1 : 0];
  if (extra !== undefined) throw usageError(`unexpected argument ${extra}`, PROGRAM);
  const seconds = Number(values.timeout);
  if (!(seconds > 0)) throw usageError('--timeout needs a positive number of seconds', PROGRAM);
  if (values.json === true && command !== 'status')
    throw usageError('--json goes with status only', PROGRAM);
  return {
    command,
    workdir: resolve(values.workdir ?? '/opt/zimbra'),
    nginx: values.nginx,
    lookup: values['no-lookup'] !== true,
    timeoutMs: seconds * 1000,
    rewrite: !norewrite,
    server: values.server,
    ldapUrl: values['ldap-url'],
    bindDn: values['bind-dn'],
    bindPasswordFile: values['bind-password-file'],
    nginxUser: values['nginx-user'],
    json: values.json === true,
  };
}

async function setup(args: Args, io: CliIo): Promise<number> {
  const keys = new Map<string, string>();
  if (args.ldapUrl !== undefined) keys.set('ldap_url', args.ldapUrl);
  if (args.bindDn !== undefined) keys.set('zimbra_ldap_userdn', args.bindDn);
  if (args.bindPasswordFile !== undefined)
    keys.set('zimbra_ldap_password', await readPasswordFile(args.bindPasswordFile));
  const report = await setUpWorkdir({
    workdir: args.workdir,
    server: args.server,
    keys,
    nginxUser: args.nginxUser,
  });
  for (const line of report.done) io.stdout(`${line}\n`);
  for (const warning of report.warnings)
    io.stderr(`${formatWarning(warning)}\n  hint: ${warning.hint ?? ''}\n`);
  io.stdout(`${args.workdir} is set up; next: zmproxyctl start -w ${args.workdir}\n`);
  return EXIT.ok;
}

/** localconfig of the work directory; an error naming setup when it is missing (except for stop/status). */
async function workdirLocalConfig(workdir: string, required: boolean): Promise<LocalConfig> {
  const file = `${workdir}/conf/localconfig.xml`;
  if (existsSync(file)) return readLocalConfig(file);
  if (!required) return new Map();
  throw new ProxyConfError('E_INPUT', `${file} does not exist`, {
    hint: `zmproxyctl setup -w ${workdir}`,
  });
}

type LocalTopology = Extract<LookupTopology, { kind: 'local' }>;

function topologyOf(lc: LocalConfig): LookupTopology {
  return readLocalLookupTopology(lc);
}

/** "run as root" when a signal or a start failed for lack of permission. */
function permissionHint(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPERM' || code === 'EACCES' ? 'run as root (nginx runs as root)' : undefined;
}

function controller(args: Args, io: CliIo, deps: ZmproxyctlDeps) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const prefix = `${args.workdir}/`;
  const lookupPidFile = `${args.workdir}/log/zmproxy-lookup.pid`;
  const lookupLog = `${args.workdir}/log/zmproxy-lookup.log`;
  const lookupCommand = (deps.lookupCommand ?? defaultLookupCommand)(args.workdir);
  const conf = (): string => defaultConfFile(args.workdir);
  const notRoot = typeof process.getuid === 'function' && process.getuid() !== 0;

  const pidFile = (): string => {
    try {
      const match = /^\s*pid\s+([^;\s]+)\s*;/m.exec(expandNginxConf(conf()));
      if (match?.[1] !== undefined) return resolve(prefix, match[1]);
    } catch {
      // Fall through to the generator's default.
    }
    return `${args.workdir}/log/nginx.pid`;
  };
  const nginxPid = (): number | undefined => readLivePid(pidFile());
  const lookupPid = (): number | undefined => readLookupPid(lookupPidFile);
  const waitFor = async (check: () => boolean | Promise<boolean>, ms = args.timeoutMs) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await sleep(100);
    }
    return await check();
  };
  const signal = (pid: number, name: NodeJS.Signals, what: string): void => {
    try {
      process.kill(pid, name);
    } catch (error) {
      throw new ProxyConfError('E_INPUT', `cannot signal ${what} (pid ${pid})`, {
        hint: permissionHint(error) ?? `check that pid ${pid} is ${what}`,
        cause: error,
      });
    }
  };
  // The one nginx adapter, shared with --apply: test and reload go through it.
  const nginxControl = createNginxControl({
    nginx: args.nginx,
    prefix,
    testTimeoutMs: args.timeoutMs,
  });
  const refuseReason = async (): Promise<string | undefined> => {
    const file = conf();
    if (!existsSync(file))
      return `${file} is missing; run zmproxyconfgen --apply -w ${args.workdir}`;
    const text = readFileSync(file, 'utf8').trimEnd();
    const last = text.slice(text.lastIndexOf('\n') + 1);
    // ProxyConfGen's marker (docs/zimbra-notes.md "zmproxyctl and zmproxyconf"): a failed
    // generation leaves #__CONF_GEN_ERROR__:<reason>.
    if (last.includes('__CONF_GEN_ERROR__')) return last.slice(last.indexOf(':') + 1) || 'unknown';
    // Through NginxControl: it refuses untrusted load_module paths before nginx reads them.
    const test = await nginxControl.test(file);
    if (test.ok) return undefined;
    if (notRoot && /Permission denied|Operation not permitted/.test(test.output))
      return `run as root: nginx -t cannot open what it needs as this user:\n${test.output}`;
    return `nginx -t failed:\n${test.output}`;
  };
  const localTopology = async (): Promise<LocalTopology | undefined> => {
    if (!args.lookup) return undefined;
    const topology = topologyOf(await workdirLocalConfig(args.workdir, false));
    return topology.kind === 'local' ? topology : undefined;
  };
  const lastLogLines = (): string => {
    try {
      return readFileSync(lookupLog, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };

  const startLookup = async (alone = false): Promise<boolean> => {
    if (!args.lookup) return true;
    const lc = await workdirLocalConfig(args.workdir, true);
    const topology = topologyOf(lc);
    if (topology.kind !== 'local') {
      io.stdout(
        `lookup service: nginx asks ${topology.kind === 'nle' ? "Zimbra's lookup extension on the mailbox servers" : topology.servers.map(formatEndpoint).join(' ')} (zmproxy_lookup_servers); none runs here\n`,
      );
      return !alone;
    }
    if (lookupCommand === undefined) {
      io.stdout('lookup service: not part of this build, not started\n');
      return false;
    }
    const where = `${topology.scheme}://${formatEndpoint(topology.connect)}`;
    if (lookupPid() !== undefined) {
      const health = await probeLookupHealth(topology.scheme, topology.connect);
      io.stdout(
        health === undefined
          ? `lookup service: already running, answering on ${where}\n`
          : `lookup service: running (pid ${lookupPid()}) but ${where}/healthz: ${health}\n`,
      );
      return health === undefined;
    }
    const pid = spawnLookup(lookupCommand, lookupPidFile, lookupLog);
    // "started" only once it answers where nginx asks: a service that died (port in use, bad
    // settings) is reported with its last log lines, not left as a stale pid file.
    let health: string | undefined = 'not started';
    const up = await waitFor(
      async () => {
        if (lookupPid() === undefined) return true;
        health = await probeLookupHealth(topology.scheme, topology.connect, 1000);
        return health === undefined;
      },
      Math.min(args.timeoutMs, 15_000),
    );
    if (up && lookupPid() !== undefined) {
      io.stdout(`lookup service: started (pid ${pid}), answering on ${where}\n`);
      return true;
    }
    const alive = lookupPid() !== undefined;
    if (!alive) removePidFile(lookupPidFile);
    io.stderr(
      `lookup service: ${alive ? `pid ${pid} does not answer on ${where}/healthz (${health})` : 'exited at once'}; see ${lookupLog}:\n${lastLogLines()}\n`,
    );
    return false;
  };
  const stopLookup = async (alone = false): Promise<boolean> => {
    if (!args.lookup) return true;
    const pid = lookupPid();
    if (pid === undefined) {
      if (alone) io.stdout('lookup service: not running\n');
      return true;
    }
    signal(pid, 'SIGTERM', 'the lookup service');
    const stopped = await waitFor(() => lookupPid() === undefined);
    if (stopped) removePidFile(lookupPidFile);
    io.stdout(`lookup service: ${stopped ? 'stopped' : `pid ${pid} did not stop`}\n`);
    return stopped;
  };
  const regenerate = async (): Promise<boolean> => {
    if (!args.rewrite) return true;
    const missing = findMissingSetup(args.workdir);
    if (missing.length > 0) {
      io.stderr(
        `${args.workdir} is not set up for nginx: ${missing.join(', ')} missing\nhint: zmproxyctl setup -w ${args.workdir}\n`,
      );
      return false;
    }
    const [command = process.execPath, ...rest] = (
      deps.regenerateCommand ?? defaultRegenerateCommand
    )(args.workdir);
    const result = await runCommand([command, ...rest], 300_000);
    // 0: nothing changed, 10: a new generation published (--no-reload: nothing reloaded).
    if (result.code === 0 || result.code === 10) return true;
    io.stderr(
      `regenerating failed (zmproxyconfgen --apply --no-reload -w ${args.workdir}, exit ${result.code}):\n${result.output}\nhint: fix the cause above, or start the last published generation with: zmproxyctl start norewrite -w ${args.workdir}\n`,
    );
    return false;
  };
  /** What does not hold after a start: nginx serving, the lookup service, auth_http through nginx. */
  const probe = async (): Promise<string[]> => {
    const failures: string[] = [];
    if (nginxPid() === undefined) failures.push('nginx is not running');
    const topology = await localTopology().catch(() => undefined);
    if (topology !== undefined) {
      const health = await probeLookupHealth(topology.scheme, topology.connect);
      if (health !== undefined)
        failures.push(
          `the lookup service does not answer on ${topology.scheme}://${formatEndpoint(topology.connect)}/healthz (${health})`,
        );
    }
    // --no-lookup: the lookup path is someone else's; nginx running is all that is checked.
    if (!args.lookup) return failures;
    let text: string;
    try {
      text = expandNginxConf(conf());
    } catch {
      return failures;
    }
    // nginx's own auth_http server (nginx.conf.zmlookup), when the configuration has mail.
    const auth = /^\s*auth_http\s+http:\/\/([^/\s;]+)\//m.exec(text)?.[1];
    const endpoint = auth === undefined ? undefined : parseEndpoint(auth);
    if (endpoint !== undefined) {
      const key = /auth_http_header\s+X-Zmproxy-Key\s+"([^"]*)"/.exec(text)?.[1] ?? '';
      let answer = await probeAuthHttp(endpoint, key);
      // A fresh nginx may take a moment to accept.
      for (let i = 0; i < 20 && !answer.ok; i++) {
        await sleep(100);
        answer = await probeAuthHttp(endpoint, key);
      }
      if (!answer.ok)
        failures.push(`nginx's auth_http server ${auth} does not answer (${answer.error})`);
      else if (/temporarily unavailable/i.test(answer.status))
        failures.push(
          `an auth_http request through nginx (${auth}) got "${answer.status}": nginx reaches no lookup service`,
        );
    }
    return failures;
  };

  return {
    startLookup,
    stopLookup,
    async start(): Promise<number> {
      if (nginxPid() !== undefined) {
        io.stdout('nginx is already running.\n');
        return (await startLookup()) ? EXIT.ok : EXIT.error;
      }
      if (!(await regenerate())) return EXIT.error;
      const reason = await refuseReason();
      if (reason !== undefined) {
        io.stderr(`nginx start failed. reason: ${reason}\n`);
        return EXIT.error;
      }
      const lookupUp = await startLookup();
      io.stdout('Starting proxy...');
      // nginx daemonizes: the command returns once the master runs (or failed to start).
      const started = await runNginxTest([args.nginx, '-p', prefix, '-c', conf()], args.timeoutMs);
      if (!started.ok || !(await waitFor(() => nginxPid() !== undefined))) {
        io.stdout('failed.\n');
        const why = started.output || 'no pid file';
        io.stderr(
          `nginx start failed. reason: ${notRoot && /Permission denied|not permitted/.test(why) ? `run as root: ${why}` : why}\n`,
        );
        return EXIT.error;
      }
      const failures = await probe();
      if (!lookupUp || failures.length > 0) {
        io.stdout('failed.\n');
        for (const failure of failures) io.stderr(`${failure}\n`);
        return EXIT.error;
      }
      io.stdout('done.\n');
      return EXIT.ok;
    },
    async stop(): Promise<number> {
      const pid = nginxPid();
      io.stdout('Stopping proxy...');
      if (pid !== undefined) {
        signal(pid, 'SIGTERM', 'nginx');
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
      if (notRoot) {
        try {
          process.kill(pid, 0);
        } catch (error) {
          throw new ProxyConfError('E_INPUT', `cannot signal nginx (pid ${pid})`, {
            hint: permissionHint(error) ?? 'check the pid file',
          });
        }
      }
      const reason = await refuseReason();
      if (reason !== undefined) {
        io.stderr(`nginx reload refused. reason: ${reason}\n`);
        return EXIT.error;
      }
      try {
        await nginxControl.reload(pid);
      } catch (error) {
        throw new ProxyConfError('E_INPUT', `cannot signal nginx (pid ${pid})`, {
          hint: permissionHint(error) ?? `check that pid ${pid} is nginx`,
          cause: error,
        });
      }
      io.stdout('Reloading proxy...done.\n');
      return EXIT.ok;
    },
    async status(): Promise<number> {
      const pid = nginxPid();
      if (args.json) {
        const live = conf();
        const served = /\/generations\/([^/]+)\//.exec(existsSync(live) ? realpathSync(live) : '');
        const status = await collectCtlStatus(args.workdir, pid, served?.[1]);
        io.stdout(`${JSON.stringify(status, null, 2)}\n`);
        return pid === undefined ? EXIT.error : EXIT.ok;
      }
      io.stdout(pid === undefined ? 'proxy is not running.\n' : `proxy is running (pid ${pid}).\n`);
      const live = conf();
      const generation = /\/generations\/([^/]+)\//.exec(
        existsSync(live) ? realpathSync(live) : '',
      )?.[1];
      if (generation !== undefined) io.stdout(`served generation: ${generation}\n`);
      const topology = await localTopology().catch(() => undefined);
      if (topology !== undefined && lookupCommand !== undefined) {
        const lookup = lookupPid();
        const where = `${topology.scheme}://${formatEndpoint(topology.connect)}`;
        if (lookup === undefined) io.stdout('lookup service is not running.\n');
        else {
          const health = await probeLookupHealth(topology.scheme, topology.connect);
          io.stdout(
            `lookup service is running (pid ${lookup}), ${where}/healthz: ${health ?? 'ok'}.\n`,
          );
        }
      }
      return pid === undefined ? EXIT.error : EXIT.ok;
    },
  };
}
