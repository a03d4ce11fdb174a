/**
 * `zmproxy conf` (= Zimbra's `zmproxyconf`, docs/zimbra-notes.md "zmproxyctl and zmproxyconf"):
 * prints nginx.conf with every `include` replaced by the included files, recursively. Relative
 * includes are resolved as nginx does, against the directory of the main file (Zimbra's script
 * needed a `working_directory` line first; ours does not), and wildcards expand in name order.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ProxyConfError } from '../errors.js';
import type { FlagTable } from './shared/parse-command-args.js';
import {
  DIRECTORY_FLAGS,
  formatFlagHelp,
  parseFlags,
  usageError,
} from './shared/parse-command-args.js';
import type { CliIo } from './shared/io.js';
import { EXIT, reportError } from './shared/run.js';

/** Options of {@link expandNginxConf}. */
export interface ExpandOptions {
  /** `-m`: `# begin:<file>` / `# end:<file>` around each included file. @default false */
  markers?: boolean;
  /** `-i`: indent included text two spaces per level. @default false */
  indent?: boolean;
  /** `-n`: leave comment lines out. @default false */
  noComments?: boolean;
  /** `-e`: leave empty lines out. @default false */
  noEmpty?: boolean;
}

/** How {@link expandNginxConf} reads files and lists directories (node:fs by default). */
export interface ExpandDeps {
  readFile: (path: string) => string;
  listDir: (path: string) => string[];
}

const NODE_FS: ExpandDeps = {
  readFile: (path) => readFileSync(path, 'utf8'),
  listDir: (path) => readdirSync(path),
};

const INCLUDE = /^\s*include\s+("?)([^";\s]+)\1\s*;\s*(#.*)?$/;

/**
 * The text with the secrets nginx configuration holds replaced: the lookup shared key
 * (`X-Zmproxy-Key` header lines) and the lookup password of Zimbra's templates
 * (`zm_lookup_master_auth_password`). Printing paths never show a secret (docs/security.md).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(
      /^(\s*(?:auth_http_header|proxy_set_header)\s+X-Zmproxy-Key\s+)("(?:[^"\\]|\\.)*"|\S+?)(\s*;)/gim,
      '$1"[secret redacted]"$3',
    )
    .replace(
      /^(\s*zm_lookup_master_auth_password\s+)("(?:[^"\\]|\\.)*"|\S+?)(\s*;)/gim,
      '$1"[secret redacted]"$3',
    );
}

/** The text of `file` with its includes expanded; throws E_INPUT for a missing file or a loop. */
export function expandNginxConf(
  file: string,
  options: ExpandOptions = {},
  deps: ExpandDeps = NODE_FS,
): string {
  const root = dirname(resolve(file));
  const out: string[] = [];
  const visit = (path: string, depth: number, stack: readonly string[]): void => {
    if (stack.includes(path)) {
      throw new ProxyConfError('E_INPUT', `include loop: ${[...stack, path].join(' → ')}`);
    }
    let text: string;
    try {
      text = deps.readFile(path);
    } catch (error) {
      throw new ProxyConfError('E_INPUT', `cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
        hint: 'generate the configuration first: zmproxyconfgen (--apply)',
      });
    }
    const pad = options.indent === true ? '  '.repeat(depth) : '';
    if (options.markers === true && depth > 0) out.push(`${pad}# begin:${path}`);
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const line of lines) {
      const match = INCLUDE.exec(line);
      if (match !== null) {
        const target = match[2] ?? '';
        for (const included of resolveInclude(target, root, deps)) {
          visit(included, depth + 1, [...stack, path]);
        }
        continue;
      }
      const trimmed = line.trim();
      if (options.noEmpty === true && trimmed === '') continue;
      if (options.noComments === true && trimmed.startsWith('#')) continue;
      out.push(`${pad}${line}`);
    }
    if (options.markers === true && depth > 0) out.push(`${pad}# end:${path}`);
  };
  visit(resolve(file), 0, []);
  return `${out.join('\n')}\n`;
}

function resolveInclude(target: string, root: string, deps: ExpandDeps): string[] {
  const path = isAbsolute(target) ? target : join(root, target);
  const name = basename(path);
  if (!/[*?[]/.test(name)) return [path];
  const pattern = new RegExp(
    `^${name
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  let names: string[];
  try {
    names = deps.listDir(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter((entry) => pattern.test(entry))
    .sort()
    .map((entry) => join(dirname(path), entry));
}

/** The main file of a work directory: the served generation when --apply manages it. */
export function defaultConfFile(workdir: string): string {
  const live = `${workdir}/conf/nginx/current/nginx.conf`;
  return existsSync(live) ? live : `${workdir}/conf/nginx.conf`;
}

/** zmproxyconf's flags: Zimbra's four switches with their long forms, and -w. */
const CONF_FLAGS = {
  markers: {
    type: 'boolean',
    short: 'm',
    help: 'mark each included file with # begin:<file> and # end:<file>',
  },
  indent: { type: 'boolean', short: 'i', help: 'indent included files two spaces per level' },
  nocomments: { type: 'boolean', short: 'n', help: 'leave comment lines out' },
  noempty: { type: 'boolean', short: 'e', help: 'leave empty lines out' },
  workdir: { ...DIRECTORY_FLAGS.workdir, help: 'work directory (default /opt/zimbra)' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
} as const satisfies FlagTable;

function usageText(program: string): string {
  return `usage: ${program} [-m] [-i] [-n] [-e] [-w DIR] [FILE]

Prints nginx.conf (default: <workdir>/conf/nginx/current/nginx.conf when --apply manages the
work directory, else <workdir>/conf/nginx.conf) with every include expanded.

${formatFlagHelp(CONF_FLAGS)}`;
}

/**
 * Runs zmproxyconf with `argv` (without the program name); returns the exit code. `program` is
 * the name it was called by: Zimbra ships the script as zmproxyconf and its usage calls it
 * zmnginxconf, so both names are installed.
 */
export function run(
  argv: readonly string[],
  io: CliIo,
  program: 'zmproxyconf' | 'zmnginxconf' = 'zmproxyconf',
): Promise<number> {
  try {
    const { values, positionals } = parseFlags(argv, CONF_FLAGS, program, true);
    if (values.help === true) {
      io.stdout(usageText(program));
      return Promise.resolve(EXIT.ok);
    }
    if (positionals.length > 1) {
      throw usageError(`unexpected argument ${positionals[1] ?? ''}`, program);
    }
    const options: ExpandOptions = {
      markers: values.markers === true,
      indent: values.indent === true,
      noComments: values.nocomments === true,
      noEmpty: values.noempty === true,
    };
    const file = positionals[0] ?? defaultConfFile(resolve(values.workdir ?? '/opt/zimbra'));
    io.stdout(redactSecrets(expandNginxConf(file, options)));
    return Promise.resolve(EXIT.ok);
  } catch (error) {
    return Promise.resolve(reportError(error, io, false));
  }
}
