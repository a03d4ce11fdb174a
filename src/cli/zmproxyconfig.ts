/**
 * `zmproxyconfig` (= `zmproxy config`): enable or disable the proxy on a host
 * (docs/zimbra-notes.md "zmproxyconfig") with Zimbra's flags, validation order and messages,
 * against LDAP or an LDIF file. Thin: read the flags, load the directory, plan
 * (src/prov/proxy-config), write once with `store.modify`. `--dry-run` prints the zmprov commands
 * Zimbra's script would run, and writes nothing.
 */
import type { DirectoryStore } from '../ports.js';
import type { ProxyConfigFlags } from '../prov/proxy-config/parse-flags.js';
import { checkProxyConfigFlags, parseProxyConfigFlags } from '../prov/proxy-config/parse-flags.js';
import {
  formatProvLines,
  planProxyConfig,
  ProxyConfigUsageError,
} from '../prov/proxy-config/plan-proxy-config.js';
import type { CliIo } from './shared/io.js';
import { loadLocalConfig } from './shared/inputs.js';
import { openDirectoryStore } from './shared/open-store.js';
import { EXIT, reportError } from './shared/run.js';

const USAGE = `usage: zmproxyconfig [-h] [-o] [-m] [-w] [-d [-r] [-s] [-t] [-a w1:w2:w3:w4] [-i i1:i2:i3:i4]
                     [-p p1:p2:p3:p4] [-x mailmode]] [-e [-r] [-a w1:w2:w3:w4] [-i i1:i2:i3:i4]
                     [-p p1:p2:p3:p4] [-x mailmode] [-u|-U]] [-c [-n n1:n2]] [-C [-n n1:n2]] [-f] -H host

Enables or disables the mail (IMAP/POP3) and web proxy on a host by changing its directory entry.

  -h            this help
  -H host       the server to change (must be this host, zimbra_server_hostname, unless -r)
  -e, -d        enable / disable the proxy
  -m, -w        act on the mail proxy / the web proxy (one or both)
  -a ports      web ports HTTP-STORE:HTTP-PROXY:HTTPS-STORE:HTTPS-PROXY
                (default with -e 8080:80:8443:443, with -d 80:0:443:0)
  -i ports      IMAP ports IMAP-STORE:IMAP-PROXY:IMAPS-STORE:IMAPS-PROXY
                (default with -e 7143:143:7993:993, with -d 143:7143:993:7993)
  -p ports      POP3 ports POP3-STORE:POP3-PROXY:POP3S-STORE:POP3S-PROXY
                (default with -e 7110:110:7995:995, with -d 110:7110:995:7995)
  -x mode       with -e: the proxy's mail mode; with -d: the store's mail mode (needs -w)
  -C, -c        enable / disable the admin console proxy (needs -w)
  -n ports      admin console ports ADMIN-STORE:ADMIN-PROXY (default 7071:9071; needs -C or -c)
  -U, -u        SSL to the upstream servers on / off (with -e)
  -s            with -d -m: turn cleartext IMAP/POP3 login off
  -t            with -d: the store is no longer a route lookup target
  -f            reset the global route lookup settings to Zimbra's defaults
  -o            change the store settings even when its mailbox service is not enabled
  -r            the host is not this host (checks use the directory, as always here)

zmproxy options:
  --source ldif:FILE | ldap://HOST[:PORT]    the directory (default: LDAP from localconfig ldap_url)
  --localconfig FILE                         Zimbra's localconfig.xml (zimbra_server_hostname, LDAP)
  --bind-dn DN, --bind-password-file FILE    LDAP credentials
  --dry-run                                  print the zmprov commands, change nothing
  --debug                                    show stack traces
`;

const VALUE_OPTIONS = new Set(['--source', '--localconfig', '--bind-dn', '--bind-password-file']);
const SWITCHES = new Set(['--dry-run', '--debug', '--help']);

/** Runs zmproxyconfig with `argv` (without the program name); returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    const eq = word.indexOf('=');
    const name = word.startsWith('--') && eq > 0 ? word.slice(0, eq) : word;
    if (VALUE_OPTIONS.has(name)) {
      const value = name !== word ? word.slice(eq + 1) : argv[++i];
      if (value === undefined) return usageFailure(io, `Error: ${name} needs a value.`);
      values.set(name, value);
    } else if (SWITCHES.has(word)) {
      switches.add(word);
    } else {
      rest.push(word);
    }
  }
  const debug = switches.has('--debug');
  if (switches.has('--help')) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const parsed = parseProxyConfigFlags(rest);
  if (!parsed.ok) return usageFailure(io, parsed.message);
  // Flag-only validation first: a wrong command line needs no directory.
  const flagError = checkProxyConfigFlags(parsed.flags);
  if (flagError !== undefined) return usageFailure(io, flagError);
  try {
    return await execute(parsed.flags, values, switches.has('--dry-run'), io);
  } catch (error) {
    if (error instanceof ProxyConfigUsageError) return usageFailure(io, error.message);
    return reportError(error, io, debug);
  }
}

/** Zimbra's way: the message, the usage, exit 1 (docs/zimbra-notes.md "zmproxyconfig"). */
function usageFailure(io: CliIo, message: string): number {
  if (message !== '' && message !== 'usage') io.stderr(`${message}\n`);
  io.stderr(USAGE);
  return EXIT.error;
}

async function execute(
  flags: ProxyConfigFlags,
  values: ReadonlyMap<string, string>,
  dryRun: boolean,
  io: CliIo,
): Promise<number> {
  const localConfig = await loadLocalConfig(values.get('--localconfig'));
  const store: DirectoryStore = await openDirectoryStore(
    {
      source: values.get('--source'),
      bindDn: values.get('--bind-dn'),
      bindPasswordFile: values.get('--bind-password-file'),
    },
    localConfig,
  );
  try {
    const plan = planProxyConfig(flags, await store.load(), localConfig);
    for (const note of plan.notes) io.stderr(`note: ${note}\n`);
    if (dryRun) {
      io.stdout(formatProvLines(plan.lines));
      return EXIT.ok;
    }
    if (plan.modifications.length > 0) await store.modify(plan.modifications);
    const count = plan.modifications.reduce((sum, mod) => sum + mod.changes.length, 0);
    io.stdout(
      count === 0
        ? 'nothing to change\n'
        : `${count} attribute change${count === 1 ? '' : 's'} written to ${store.description}\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
