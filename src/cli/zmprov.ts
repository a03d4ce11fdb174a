/**
 * `zmprov` (= `zmproxy prov`): the proxy subset of Zimbra's zmprov against LDAP or an LDIF file.
 * Thin: read the options, load the directory, run the pure command (src/prov), print or write.
 *
 * The command words are read by hand, not by the shared parser (node:util parseArgs): in
 * `zmprov mcf -zimbraAttr value` a leading `-` removes a value, and a strict parser would take it
 * for an unknown option. The options themselves, the directory flags above all, come from the
 * same declaration as every other command's (DIRECTORY_FLAGS).
 */
import { formatWarning, ProxyConfError } from '../errors.js';
import type { DirectoryStore } from '../ports.js';
import {
  COMMAND_HELP,
  executeProvCommand,
  kindsReadBy,
  parseProvCommand,
} from '../prov/prov-command.js';
import type { CliIo } from './shared/io.js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { loadLocalConfig, localConfigFileFor } from './shared/inputs.js';
import { openDirectoryStore } from './shared/open-store.js';
import { DIRECTORY_FLAGS, usageError } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';

const USAGE = `usage: zmprov [options] command [args…]

The proxy subset of Zimbra's zmprov, against LDAP or an LDIF file.

commands:
${COMMAND_HELP}

options:
  --source ldif:FILE | ldap://HOST[:PORT] …   the directory (default: LDAP from localconfig ldap_url)
  -w, --workdir DIR                          Zimbra's home: DIR/conf/localconfig.xml (default /opt/zimbra)
  --localconfig FILE                         Zimbra's localconfig.xml (LDAP settings, zimbra_server_hostname)
  --bind-dn DN, --bind-password-file FILE    LDAP credentials (default: localconfig zimbra_ldap_userdn/password)
  -r, --replace                              let attr value replace every value of zimbraServiceEnabled/Installed
  -l, --ldap, -m, --master                   accepted and ignored (zmproxy always talks to the directory)
  --json                                     print get and list results as JSON
  --debug                                    show stack traces
  -h, --help                                 this help
`;

/** Options that take a value, by long name: the directory flags every command shares. */
const VALUE_OPTIONS = new Set(Object.keys(DIRECTORY_FLAGS).map((name) => `--${name}`));
/** Their short forms (`-w DIR`), to the long name. */
const SHORT_VALUE_OPTIONS: ReadonlyMap<string, string> = new Map(
  Object.entries(DIRECTORY_FLAGS).flatMap(([name, spec]) =>
    'short' in spec ? [[`-${spec.short}`, `--${name}`] as const] : [],
  ),
);
/** Switches accepted anywhere on the line. */
const LONG_SWITCHES = new Set(['--json', '--debug', '--help', '--replace', '--ldap', '--master']);
/** Zimbra's short switches, accepted before the command. */
const SHORT_SWITCHES = new Set(['-l', '-m', '-r', '-h']);

/** The parsed command line: options, and the command words. */
interface ProvArgs {
  values: Map<string, string>;
  switches: Set<string>;
  words: string[];
}

/** Runs zmprov with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const args = parseArgs(argv);
    debug = args.switches.has('--debug');
    if (args.switches.has('--help') || args.switches.has('-h')) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (args.words.length === 0) {
      io.stderr(USAGE);
      return EXIT.usage;
    }
    return await execute(args, io);
  } catch (error) {
    return reportError(error, io, debug);
  }
}

function parseArgs(argv: readonly string[]): ProvArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const given = argv[i] as string;
    // -w DIR, as every zmproxy command spells the Zimbra home.
    const word = SHORT_VALUE_OPTIONS.get(given) ?? given;
    const eq = word.indexOf('=');
    const name = word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word;
    if (VALUE_OPTIONS.has(name)) {
      const value = eq > 0 && name !== word ? word.slice(eq + 1) : argv[++i];
      if (value === undefined) {
        throw usageError(`${name} needs a value`, 'zmprov');
      }
      values.set(name, value);
      continue;
    }
    if (LONG_SWITCHES.has(word)) {
      switches.add(word === '--replace' ? '-r' : word);
      continue;
    }
    if (words.length === 0 && word.startsWith('-')) {
      if (!SHORT_SWITCHES.has(word)) {
        throw usageError(`unknown option ${word}`, 'zmprov');
      }
      switches.add(word);
      continue;
    }
    words.push(word);
  }
  return { values, switches, words };
}

async function execute(args: ProvArgs, io: CliIo): Promise<number> {
  const command = parseProvCommand(args.words);
  const localConfig = await loadLocalConfig(
    localConfigFileFor(
      resolve(args.values.get('--workdir') ?? '/opt/zimbra'),
      args.values.get('--localconfig'),
      args.values.get('--source'),
    ),
  );
  const store: DirectoryStore = await openDirectoryStore(
    {
      source: args.values.get('--source'),
      bindDn: args.values.get('--bind-dn'),
      bindPasswordFile: args.values.get('--bind-password-file'),
    },
    localConfig,
  );
  try {
    const snapshot = await store.load(kindsReadBy(command));
    const result = executeProvCommand(command, snapshot, localConfig, {
      allowSafeguardedReplace: args.switches.has('-r'),
      newId: () => randomUUID(),
      hashPassword: hashSsha512,
    });
    if (result.kind === 'modify') {
      if (result.modifications.length > 0) await store.modify(result.modifications);
      return EXIT.ok;
    }
    if (result.kind === 'add') {
      if (store.add === undefined) {
        throw new ProxyConfError('E_INPUT', 'this directory cannot take new entries', {
          hint: 'use LDAP or an LDIF file as --source',
        });
      }
      await store.add(result.entries);
      io.stdout(result.text);
      return EXIT.ok;
    }
    for (const warning of result.warnings) {
      io.stderr(`${formatWarning(warning)}\n`);
      if (warning.hint !== undefined) io.stderr(`  hint: ${warning.hint}\n`);
    }
    io.stdout(
      args.switches.has('--json') ? `${JSON.stringify(result.json, null, 2)}\n` : result.text,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/**
 * A password as Zimbra stores it (PasswordUtil.SSHA512 in zm-mailbox): `{SSHA512}` and the base64
 * of SHA-512(UTF-8 password, then an 8-byte random salt) followed by that salt.
 */
export function hashSsha512(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha512').update(password, 'utf8').update(salt).digest();
  return `{SSHA512}${Buffer.concat([digest, salt]).toString('base64')}`;
}
