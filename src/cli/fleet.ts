/**
 * `zmproxy fleet status`: where every proxy of the directory stands. Lists the servers with the
 * proxy service enabled, reads each one's marker endpoint (`/zmproxy-generation.json` and
 * `/zmproxy-status.json` on the server's address, port 7078 by default) and prints one line per
 * proxy: generation served, directory revision, directory config hash, last success, last error.
 */
import { ProxyConfError } from '../errors.js';
import {
  formatFleetTable,
  judgeFleet,
  proxyServerNames,
  rowFromReading,
} from '../engine/fleet-report.js';
import { readMarker } from '../reload/marker-client.js';
import { STOCK_GENERATION_PORT } from '../vars/stock.js';
import { createHostResolver, openDirectoryFromFlags } from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import { DIRECTORY_FLAGS, parseCommandArgs } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';

const HELP = `usage: zmproxy fleet status [options]

Lists the directory's proxy servers (zimbraServiceEnabled proxy), asks each one's marker endpoint
(http://<server address>:<marker port>/zmproxy-generation.json and /zmproxy-status.json) and
prints: server, served generation, directory revision, directory config hash, last success, last
error. Exit 0 when every proxy answered and all serve the same directory config hash, 3 when one
is unreachable or they disagree, 1 when the directory cannot be read, 2 usage.

options:
  --json                     print the rows and the verdict as JSON
  --marker-port PORT         port of the proxies' marker endpoint (default ${STOCK_GENERATION_PORT})
  --timeout SECONDS          how long to wait for each proxy (default 2)
  --source ldap://…          LDAP URLs or ldif:FILE (default: localconfig ldap_url)
  -w, --workdir DIR          Zimbra's home: DIR/conf/localconfig.xml (default /opt/zimbra)
  --localconfig FILE         Zimbra's localconfig.xml
  --bind-dn DN / --bind-password-file FILE   LDAP credentials (default: localconfig)
  --hosts FILE               host names answered before DNS (/etc/hosts format)
  --hosts-only               resolve names from --hosts only
  --debug                    stack traces on errors
`;

const FLAGS = {
  ...DIRECTORY_FLAGS,
  hosts: { type: 'string' },
  'hosts-only': { type: 'boolean' },
  json: { type: 'boolean' },
  'marker-port': { type: 'string' },
  timeout: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `zmproxy fleet` with `argv` (without `fleet`); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const { values, positionals } = parseCommandArgs(argv, FLAGS, 'fleet', true);
    debug = values.debug === true;
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 1 || positionals[0] !== 'status') {
      throw new ProxyConfError('E_USAGE', 'give the subcommand: zmproxy fleet status', {
        hint: 'zmproxy fleet -h lists the options',
      });
    }
    const port = Number(values['marker-port'] ?? STOCK_GENERATION_PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new ProxyConfError(
        'E_USAGE',
        `--marker-port must be a port (got ${values['marker-port']})`,
        {
          hint: `the marker listens on port ${STOCK_GENERATION_PORT} unless stock.generation.listen was overridden`,
        },
      );
    }
    const timeoutMs = Number(values.timeout ?? 2) * 1000;
    if (!(timeoutMs > 0)) {
      throw new ProxyConfError('E_USAGE', `--timeout must be a positive number of seconds`);
    }
    const { source } = await openDirectoryFromFlags(values);
    const snapshot = await source.load(['server']);
    const names = proxyServerNames(snapshot.servers);
    const resolver = await createHostResolver({
      hosts: values.hosts,
      hostsOnly: values['hosts-only'] === true,
    });
    const table = await resolver.resolve(names);
    const rows = await Promise.all(
      names.map(async (name) => {
        const answer = table.get(name.toLowerCase());
        if (answer === undefined || !answer.ok) {
          return rowFromReading(name, `${name}:${port}`, {
            ok: false,
            error: `${name} does not resolve${answer !== undefined && !answer.ok ? ` (${answer.error})` : ''}`,
          });
        }
        const address = answer.addresses[0]!.address;
        const host = address.includes(':') ? `[${address}]` : address;
        return rowFromReading(name, `${host}:${port}`, await readMarker(host, port, timeoutMs));
      }),
    );
    const verdict = judgeFleet(rows);
    if (values.json === true) io.stdout(`${JSON.stringify(verdict, null, 2)}\n`);
    else io.stdout(formatFleetTable(verdict));
    return verdict.agree ? EXIT.ok : EXIT.differs;
  } catch (error) {
    return reportError(error, io, debug);
  }
}
