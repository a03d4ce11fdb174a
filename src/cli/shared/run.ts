/** The CLI top level: every error becomes `error:` / `hint:` lines and an exit code. */
import type { ErrorCode } from '../../errors.js';
import { formatProblem, ProblemsError, ProxyConfError } from '../../errors.js';
import type { CliIo } from './io.js';

/** Exit codes shared by every command (docs/architecture.md "The CLI contract"). */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  differs: 3,
  /** stdout's reader closed early (`| head`): 128 + SIGPIPE, as for a C tool killed by it. */
  readerClosed: 141,
} as const;

const EXIT_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  E_USAGE: EXIT.usage,
  E_INPUT: EXIT.error,
  E_LDIF: EXIT.error,
  E_LOCALCONFIG: EXIT.error,
  E_LDAP_CONNECT: EXIT.error,
  E_LDAP_AUTH: EXIT.error,
  E_ATTR_INVALID: EXIT.error,
  E_TEMPLATE: EXIT.error,
  E_DNS: EXIT.error,
  E_NGINX_TEST: EXIT.error,
  E_WRITE: EXIT.error,
  E_INTERNAL: EXIT.error,
};

/** The exit code {@link reportError} returns for `error`, without printing anything. */
export function exitCodeOf(error: unknown): number {
  return error instanceof ProxyConfError ? EXIT_BY_CODE[error.code] : EXIT.error;
}

/** Prints an error the user can act on, or a bug report for anything else; returns the exit code. */
export function reportError(error: unknown, io: CliIo, debug: boolean): number {
  if (error instanceof ProblemsError) {
    io.stderr(`error: ${error.message}:\n`);
    for (const problem of error.problems) {
      io.stderr(`  ${formatProblem(problem)}\n`);
      if (problem.hint !== undefined) io.stderr(`    hint: ${problem.hint}\n`);
    }
    if (error.hint !== undefined) io.stderr(`hint: ${error.hint}\n`);
  } else if (error instanceof ProxyConfError) {
    io.stderr(`error: ${error.message}\n`);
    if (error.hint !== undefined) io.stderr(`hint: ${error.hint}\n`);
  } else {
    io.stderr(`error: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    io.stderr('this is a bug, please report it with the command you ran and this output\n');
    if (error instanceof Error && error.stack !== undefined) io.stderr(`${error.stack}\n`);
    return EXIT.error;
  }
  if (debug && error instanceof Error && error.stack !== undefined) io.stderr(`${error.stack}\n`);
  return exitCodeOf(error);
}
