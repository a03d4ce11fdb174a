/**
 * `zmproxy <command>`: one binary, Zimbra-named subcommands (docs/architecture.md "The CLI
 * contract").
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './shared/io.js';
import { EXIT } from './shared/run.js';
import { run as runConfgen } from './zmproxyconfgen.js';
import { run as runDoctor } from './doctor.js';
import { run as runLookup } from './lookup.js';
import { run as runRestUrl } from './rest-url.js';
import { run as runPurge } from './purge.js';
import { run as runLocalConfig } from './zmlocalconfig.js';
import { run as runConf } from './zmproxyconf.js';
import { run as runConfig } from './zmproxyconfig.js';
import { run as runCtl } from './zmproxyctl.js';
import { run as runProv } from './zmprov.js';
import { run as runFleet } from './fleet.js';

/** The bundled example directory (no LDAP server needed). */
export const EXAMPLE_DIR = fileURLToPath(new URL('../../fixtures/example', import.meta.url));

const HELP = `usage: zmproxy <command> [options]

commands:
  confgen   generate the nginx configuration (= zmproxyconfgen; zmproxy confgen -h for options)
  prov      read and change proxy attributes of the directory (= zmprov, the proxy subset)
  config    enable or disable the mail and web proxy on a host (= zmproxyconfig)
  ctl       start, stop, restart, reload nginx and the lookup service; status (= zmproxyctl)
  conf      print nginx.conf with every include expanded (= zmproxyconf, zmnginxconf)
  lookup    run the route lookup service nginx asks (auth_http, auth_request)
  purge     drop cached routes of accounts from memcached (= zmproxypurge)
  localconfig  read and edit <workdir>/conf/localconfig.xml (= zmlocalconfig)
  doctor    run the proxy troubleshooting checks (human report, or --json)
  fleet     fleet status: every proxy's served generation, revision and config hash
  rest-url  print the REST URL Zimbra hands out for an account
  example   render the bundled example directory into ./out/example and say where it went

zmproxy <command> -h shows the options of a command.
`;

/** Runs `zmproxy` with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'confgen':
      return runConfgen(rest, io);
    case 'prov':
      return runProv(rest, io);
    case 'config':
      return runConfig(rest, io);
    case 'ctl':
      return runCtl(rest, io);
    case 'conf':
      return runConf(rest, io);
    case 'lookup':
      return runLookup(rest, io);
    case 'purge':
      return runPurge(rest, io);
    case 'localconfig':
      return runLocalConfig(rest, io);
    case 'doctor':
      return runDoctor(rest, io);
    case 'fleet':
      return runFleet(rest, io);
    case 'rest-url':
      return runRestUrl(rest, io);
    case 'example':
      return runExample(rest, io);
    case undefined:
    case '-h':
    case '--help':
      io.stdout(HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      io.stderr(`error: unknown command ${command}\nhint: zmproxy --help lists the commands\n`);
      return EXIT.usage;
  }
}

/** Renders the bundled example: the main job on fixtures, no LDAP server needed. */
async function runExample(argv: readonly string[], io: CliIo): Promise<number> {
  const workdir = argv[0] ?? 'out/example';
  const code = await runConfgen(
    [
      '--source',
      `ldif:${EXAMPLE_DIR}/directory.ldif`,
      '--localconfig',
      `${EXAMPLE_DIR}/localconfig.xml`,
      '--hosts',
      `${EXAMPLE_DIR}/hosts`,
      '--hosts-only',
      '-w',
      workdir,
    ],
    io,
  );
  if (code === EXIT.ok) {
    const conf = `${resolve(workdir)}/conf`;
    io.stdout(`the example configuration is in ${conf} (start with ${conf}/nginx.conf)\n`);
  }
  return code;
}
