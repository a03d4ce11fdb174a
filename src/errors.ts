/**
 * The one error class of zmproxy. Every failure a user can act on is a ProxyConfError with a
 * code (which decides the exit code at the CLI) and, where we know it, a hint naming the next step.
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_INPUT'
  | 'E_LDIF'
  | 'E_LOCALCONFIG'
  | 'E_LDAP_CONNECT'
  | 'E_LDAP_AUTH'
  | 'E_ATTR_INVALID'
  | 'E_TEMPLATE'
  | 'E_DNS'
  | 'E_NGINX_TEST'
  | 'E_WRITE'
  | 'E_INTERNAL';

/** Options of {@link ProxyConfError}. */
export interface ProxyConfErrorOptions {
  /** What the user should do next, printed as `hint: …`. */
  hint?: string;
  /** The foreign error this one translates. */
  cause?: unknown;
}

/** A failure with a code and a hint; never shown with a stack trace unless `--debug`. */
export class ProxyConfError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: ProxyConfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyConfError';
    this.code = code;
    this.hint = options.hint;
  }
}

/**
 * One problem found while validating input. Problems are collected, never thrown one by one, so
 * that the user sees every problem of a run at once.
 */
export interface Problem {
  /** The attribute, localconfig key or template that is wrong. */
  subject: string;
  /** Where it was found: `server mail1.example.com`, `global config`, `domain example.com`, `file:line`. */
  entry: string;
  /** What is wrong, stated as a fact. */
  message: string;
  /** The offending value, when there is one. */
  value?: string | undefined;
  /** The command or setting that fixes it. */
  hint?: string | undefined;
}

/** A warning: generation continues, but the admin should know. */
export interface Warning {
  message: string;
  hint?: string | undefined;
}

/** Formats a problem as `<subject> on <entry>: <message> (got "<value>")`. */
export function formatProblem(problem: Problem): string {
  const got = problem.value === undefined ? '' : ` (got ${JSON.stringify(problem.value)})`;
  return `${problem.subject} on ${problem.entry}: ${problem.message}${got}`;
}

/** Raised when validation collected problems; carries all of them, each with its own hint. */
export class ProblemsError extends ProxyConfError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], code: ErrorCode = 'E_ATTR_INVALID') {
    super(code, `${problems.length} problem${problems.length === 1 ? '' : 's'} found`, {
      hint: 'fix every value listed, then run again; no file was written',
    });
    this.problems = problems;
  }
}
