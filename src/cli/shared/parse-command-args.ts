/** Flag parsing shared by the node:util-based commands (purge, rest-url, doctor, lookup). */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { ProxyConfError } from '../../errors.js';

/** The `options` of node:util parseArgs (its type is not exported by name). */
type FlagsConfig = NonNullable<ParseArgsConfig['options']>;

/** What {@link parseCommandArgs} returns: parseArgs' result, typed by the flags. */
export type CommandArgs<Flags extends FlagsConfig, Positionals extends boolean> = ReturnType<
  typeof parseArgs<{ args: string[]; options: Flags; strict: true; allowPositionals: Positionals }>
>;

/**
 * Parses `argv` strictly against `flags`; an unknown flag, a missing value or an unexpected
 * positional becomes E_USAGE with the hint `zmproxy <command> -h lists the options`.
 */
export function parseCommandArgs<
  const Flags extends FlagsConfig,
  const Positionals extends boolean = false,
>(
  argv: readonly string[],
  flags: Flags,
  command: string,
  allowPositionals?: Positionals,
): CommandArgs<Flags, Positionals> {
  try {
    return parseArgs({
      args: [...argv],
      options: flags,
      strict: true,
      allowPositionals: (allowPositionals ?? false) as Positionals,
    });
  } catch (error) {
    throw new ProxyConfError('E_USAGE', error instanceof Error ? error.message : String(error), {
      hint: `zmproxy ${command} -h lists the options`,
    });
  }
}

/**
 * The directory flags every parseArgs command takes, declared once: where the directory is
 * (`--source`, `--localconfig`, `-w`) and how to bind to LDAP. Commands that resolve names add
 * `--hosts` themselves.
 */
export const DIRECTORY_FLAGS = {
  source: { type: 'string' },
  localconfig: { type: 'string' },
  workdir: { type: 'string', short: 'w' },
  'bind-dn': { type: 'string' },
  'bind-password-file': { type: 'string' },
} as const;
