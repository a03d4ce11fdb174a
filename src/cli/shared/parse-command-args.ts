/**
 * The one flag parser of the commands (node:util parseArgs, strict) and the flag vocabulary they
 * share. A command declares its flags in one table: parseArgs' fields (`type`, `short`,
 * `multiple`, `default`) plus `arg` (the value's placeholder) and `help`, from which `-h` prints
 * the option list. zmproxyconfig keeps Zimbra's Getopt::Std behaviour and zmprov reads its
 * command words by hand (see there); both take the same directory flags declared here.
 */
import { parseArgs } from 'node:util';
import { ProxyConfError } from '../../errors.js';

/** One flag: what parseArgs needs, plus what `-h` prints. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[] | boolean[];
  /** The value's placeholder in the help (`DIR`, `FILE`); string flags only. */
  arg?: string;
  /** One line for `-h`; a flag without it is accepted but not listed. */
  help?: string;
  /** `--no-<name>` turns the boolean off (yargs' negation, kept for `--no-reload`). */
  negatable?: boolean;
}

/** A command's flags, by long name. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What {@link parseCommandArgs} returns: parseArgs' result, typed by the flags. */
export type CommandArgs<Flags extends FlagTable, Positionals extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; options: Flags; strict: true; allowPositionals: Positionals }>
>;

/**
 * Parses `argv` strictly against `flags`. An unknown flag, a missing value or an unexpected
 * positional becomes E_USAGE (exit 2) with the hint `<program> -h lists the options`.
 */
export function parseFlags<
  const Flags extends FlagTable,
  const Positionals extends boolean = false,
>(
  argv: readonly string[],
  flags: Flags,
  program: string,
  allowPositionals?: Positionals,
): CommandArgs<Flags, Positionals> {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        ...(spec.short === undefined ? {} : { short: spec.short }),
        ...(spec.multiple === undefined ? {} : { multiple: spec.multiple }),
        ...(spec.default === undefined ? {} : { default: spec.default }),
      },
    ]),
  );
  const negatable = Object.entries(flags).filter(([, spec]) => spec.negatable === true);
  try {
    const parsed = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: allowPositionals ?? false,
      allowNegative: negatable.length > 0,
    });
    // allowNegative applies to every boolean; only the declared ones may be negated.
    for (const word of argv) {
      if (word === '--') break;
      const name = /^--no-(.+)$/.exec(word)?.[1];
      if (name !== undefined && flags[name]?.negatable !== true && !(word.slice(2) in flags)) {
        throw usageError(`unknown option ${word}`, program);
      }
    }
    return parsed as CommandArgs<Flags, Positionals>;
  } catch (error) {
    if (error instanceof ProxyConfError) throw error;
    throw usageError(describeParseError(error), program);
  }
}

/** {@link parseFlags} for a subcommand of `zmproxy` (`zmproxy <command> -h lists the options`). */
export const parseCommandArgs: typeof parseFlags = (argv, flags, command, allowPositionals) =>
  parseFlags(argv, flags, `zmproxy ${command}`, allowPositionals);

/** The usage error every command gives for a bad command line. */
export function usageError(message: string, program: string): ProxyConfError {
  return new ProxyConfError('E_USAGE', message, { hint: `${program} -h lists the options` });
}

/** parseArgs' message, shortened to what the user typed wrong. */
function describeParseError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    return `unknown option ${quoted}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) {
    return `unexpected argument ${quoted}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-w, --workdir <value>' argument missing" / "… does not take an argument"
    const flag = quoted?.replace(/ <value>$/, '');
    if (flag !== undefined && / argument missing$/.test(error.message))
      return `${flag} needs a value`;
    if (flag !== undefined && / ambiguous/.test(error.message)) {
      return `${flag} needs a value (one that starts with - is written ${flag.replace(/^.*, /, '')}=VALUE)`;
    }
    if (flag !== undefined && /does not take an argument/.test(error.message)) {
      return `${flag} takes no value`;
    }
  }
  return error.message;
}

/** The option list `-h` prints: one line per flag that has `help`, aligned. */
export function formatFlagHelp(flags: FlagTable): string {
  const rows = Object.entries(flags)
    .filter(([, spec]) => spec.help !== undefined)
    .map(([name, spec]) => {
      const names = [
        ...(spec.short === undefined ? [] : [`-${spec.short}`]),
        spec.negatable === true ? `--[no-]${name}` : `--${name}`,
      ].join(', ');
      const value = spec.type === 'string' ? ` ${spec.arg ?? 'VALUE'}` : '';
      return [`${names}${value}`, spec.help ?? ''] as const;
    });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}\n`).join('');
}

/**
 * The directory flags every command takes, declared once: where the directory is (`--source`,
 * `--localconfig`, `-w`) and how to bind to LDAP. Commands that resolve names add
 * {@link HOSTS_FLAGS}.
 */
export const DIRECTORY_FLAGS = {
  source: {
    type: 'string',
    arg: 'SPEC',
    help: 'the directory: ldif:FILE[,FILE…] (a glob such as "ldif:exports/*.ldif" reads every match) or ldap://HOST:PORT (default: localconfig ldap_url)',
  },
  localconfig: {
    type: 'string',
    arg: 'FILE',
    help: "Zimbra's localconfig.xml (default: <workdir>/conf/localconfig.xml)",
  },
  workdir: {
    type: 'string',
    short: 'w',
    arg: 'DIR',
    help: "Zimbra's home (default /opt/zimbra)",
  },
  'bind-dn': {
    type: 'string',
    arg: 'DN',
    help: 'LDAP bind DN (default: localconfig zimbra_ldap_userdn)',
  },
  'bind-password-file': {
    type: 'string',
    arg: 'FILE',
    help: 'file holding the LDAP password on its first line (default: localconfig zimbra_ldap_password)',
  },
} as const satisfies FlagTable;

/** Name resolution: `--hosts FILE` answered before DNS, `--hosts-only` never asks DNS. */
export const HOSTS_FLAGS = {
  hosts: {
    type: 'string',
    arg: 'FILE',
    help: 'host names answered before DNS (/etc/hosts format)',
  },
  'hosts-only': {
    type: 'boolean',
    help: 'resolve host names from --hosts only, never from DNS',
  },
} as const satisfies FlagTable;
