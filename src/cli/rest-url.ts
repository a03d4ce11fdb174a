/**
 * `zmproxy rest-url <account>`: the REST URL Zimbra hands out for an account, by the rule in
 * src/doctor/rest-url.ts (shared with the doctor's rest-urls check): the domain's public service host name when it has one,
 * else the home server's mail mode, zimbraServiceHostname and port.
 */
import { ProxyConfError } from '../errors.js';
import { computeRestUrl } from '../doctor/rest-url.js';
import { openDirectoryFromFlags } from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import type { FlagTable } from './shared/parse-command-args.js';
import { DIRECTORY_FLAGS, formatFlagHelp, parseCommandArgs } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';

const FLAGS = {
  ...DIRECTORY_FLAGS,
  json: { type: 'boolean', help: 'print { account, url, rule, explanation }' },
  verbose: { type: 'boolean', short: 'v', help: 'say which attributes the URL came from' },
  debug: { type: 'boolean', help: 'stack traces on errors' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} as const satisfies FlagTable;

const HELP = `usage: zmproxy rest-url [options] ACCOUNT

Prints the REST URL (/home/<account>) the mailbox hands out for ACCOUNT: the domain's
zimbraPublicServiceProtocol://zimbraPublicServiceHostname[:zimbraPublicServicePort] when the
domain (or the global config) has a public service host name, else the home server's
zimbraMailMode, zimbraServiceHostname and zimbraMailSSLPort (zimbraMailPort in http mode).

options:
${formatFlagHelp(FLAGS)}`;

/** Runs `zmproxy rest-url`; returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const { values, positionals } = parseCommandArgs(argv, FLAGS, 'rest-url', true);
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1) {
      throw new ProxyConfError(
        'E_USAGE',
        positionals.length === 0 ? 'no account given' : 'give one account',
        { hint: 'zmproxy rest-url user@example.com' },
      );
    }
    const account = positionals[0] ?? '';
    const { source } = await openDirectoryFromFlags(values);
    const result = computeRestUrl(await source.load(), account);
    if (!result.ok) throw new ProxyConfError('E_INPUT', result.message, { hint: result.hint });
    if (values.json === true) {
      const { account: name, url, rule, explanation } = result;
      io.stdout(`${JSON.stringify({ account: name, url, rule, explanation }, null, 2)}\n`);
    } else {
      io.stdout(`${result.url}\n`);
      if (values.verbose === true) io.stdout(`# from ${result.explanation}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io, debug);
  }
}
