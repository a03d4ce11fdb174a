/**
 * `zmlocalconfig` (= `zmproxy localconfig`): reads and edits `<workdir>/conf/localconfig.xml` as
 * Zimbra's command of that name does, for the keys zmproxy reads: `-e key=value` sets keys, `-u`
 * removes them, names print those keys, `-m nokey` prints values only, `-s` shows secrets, `-x`
 * expands `${key}` references, `-d` prints defaults. The file keeps mode 0600.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProxyConfError } from '../errors.js';
import { LOCALCONFIG_DEFAULTS } from '../model/localconfig-defaults.js';
import { readLocalConfig } from '../sources/localconfig/index.js';
import { editLocalConfigFile } from '../sources/localconfig/write-localconfig.js';
import type { CliIo } from './shared/io.js';
import { parseCommandArgs } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';
import { localConfigText } from './shared/inputs.js';

const HELP = `usage: zmlocalconfig [-w DIR | -c FILE] [-s] [-x] [-m nokey] [-d] [name …]
       zmlocalconfig [-w DIR | -c FILE] -e key=value [key=value …]
       zmlocalconfig [-w DIR | -c FILE] -u key [key …]

  -w, --workdir DIR   Zimbra home (default /opt/zimbra): DIR/conf/localconfig.xml
  -c, --config FILE   the localconfig file itself
  -e, --edit          set each key=value given (the file is created, mode 0600)
  -u, --unset         remove each key given
  -s, --show          show passwords and keys (hidden as * otherwise)
  -x, --expand        expand \${key} references in values
  -m, --format nokey  print values only
  -d, --default       print the defaults instead of the file's values
`;

const FLAGS = {
  workdir: { type: 'string', short: 'w' },
  config: { type: 'string', short: 'c' },
  edit: { type: 'boolean', short: 'e' },
  unset: { type: 'boolean', short: 'u' },
  show: { type: 'boolean', short: 's' },
  expand: { type: 'boolean', short: 'x' },
  format: { type: 'string', short: 'm' },
  default: { type: 'boolean', short: 'd' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Keys whose values are secrets: hidden unless -s, as Zimbra's command does. */
export function isSecretKey(key: string): boolean {
  return /password|_key$|secret/.test(key);
}

const KEY_NAME = /^[A-Za-z0-9_.-]+$/;

function expandValue(value: string, lookup: (key: string) => string, depth = 0): string {
  if (depth > 10) return value;
  return value.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_, key: string) =>
    expandValue(lookup(key), lookup, depth + 1),
  );
}

/** Runs zmlocalconfig with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCommandArgs(argv, FLAGS, 'localconfig', true);
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const file =
      values.config ?? join(resolve(values.workdir ?? '/opt/zimbra'), 'conf/localconfig.xml');
    if (values.format !== undefined && values.format !== 'nokey') {
      throw new ProxyConfError('E_USAGE', `-m ${values.format}: only nokey is supported`, {
        hint: 'zmlocalconfig -m nokey NAME prints the value alone',
      });
    }
    if (values.edit === true || values.unset === true) {
      if (positionals.length === 0) {
        throw new ProxyConfError('E_USAGE', `${values.edit === true ? '-e' : '-u'} needs keys`, {
          hint: 'zmlocalconfig -e key=value',
        });
      }
      const edits = new Map<string, string | undefined>();
      for (const arg of positionals) {
        const at = arg.indexOf('=');
        const key = values.edit === true ? arg.slice(0, at) : arg;
        if ((values.edit === true && at <= 0) || !KEY_NAME.test(key)) {
          throw new ProxyConfError('E_USAGE', `expected key=value, got "${arg}"`, {
            hint: 'zmlocalconfig -e ldap_url=ldap://ldap.example.com:389',
          });
        }
        edits.set(key, values.edit === true ? arg.slice(at + 1) : undefined);
      }
      await editLocalConfigFile(file, edits);
      return EXIT.ok;
    }
    const own =
      values.default === true ? new Map<string, string>() : await readOwn(file, values.config);
    const lookup = (key: string): string => localConfigText(own, key);
    const names =
      positionals.length > 0
        ? positionals
        : [...new Set([...Object.keys(LOCALCONFIG_DEFAULTS), ...own.keys()])].sort();
    for (const key of names) {
      let value = lookup(key);
      if (values.expand === true) value = expandValue(value, lookup);
      if (isSecretKey(key) && values.show !== true && value !== '') value = '*';
      io.stdout(values.format === 'nokey' ? `${value}\n` : `${key} = ${value}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io, false);
  }
}

async function readOwn(
  file: string,
  given: string | undefined,
): Promise<ReadonlyMap<string, string>> {
  if (!existsSync(file)) {
    throw new ProxyConfError('E_INPUT', `${file} does not exist`, {
      hint:
        given === undefined
          ? `zmproxyctl setup -w ${file.replace(/\/conf\/localconfig\.xml$/, '')} creates it`
          : 'give -c the path of localconfig.xml',
    });
  }
  return readLocalConfig(file);
}
