/**
 * `zmproxy purge` (= zmproxypurge): drops the cached routes and aliases of accounts on
 * every memcached server. The account's aliases, id, domain VIPs, virtual host names and alias
 * domains come from LDAP when it answers (else only the names given are purged).
 *
 *   zmproxy purge -a user@domain[,user2@domain] [-L FILE] [-i] [-v] [host:port …]
 *   zmproxy purge --domain example.com        (every account of the domain)
 */
import { resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { formatWarning, ProxyConfError } from '../errors.js';
import { createLdapLookupDirectory } from '../lookup/adapters/ldap-lookup-directory.js';
import type { LdapLookupDirectory } from '../lookup/adapters/ldap-lookup-directory.js';
import { createAddressResolver } from '../lookup/adapters/address-resolver.js';
import type { PurgeTarget } from '../lookup/cache-keys.js';
import { computePurgeKeys } from '../lookup/cache-keys.js';
import { attrOf, attrValues, escapeLdapFilterValue } from '../lookup/directory-queries.js';
import { readHostsFile } from '../sources/dns/resolve-hostnames.js';
import { discoverMemcachedServers } from '../lookup/adapters/memcached-servers.js';
import { createMemcachedClient } from '../sources/memcached/index.js';
import { loadLocalConfig, localConfigFileFor, resolveLdapOptions } from './shared/inputs.js';
import type { CliIo } from './shared/io.js';
import { DIRECTORY_FLAGS, parseCommandArgs } from './shared/parse-command-args.js';
import { EXIT, reportError } from './shared/run.js';

const HELP = `usage: zmproxy purge -a ACCOUNT[,ACCOUNT…] [-L FILE] [options] [HOST:PORT…]
       zmproxy purge --domain NAME [options] [HOST:PORT…]

Drops the cached routes and aliases of the accounts on every memcached server of the directory
(servers running the memcached service) and on each HOST:PORT given. The lookup services also
keep domain data in process for up to 15 minutes: after changing a domain, send them SIGHUP
(kill -HUP on the zmproxy lookup process) to forget it at once.

options:
  -a, --account LIST         accounts (comma-separated)
  -d, --domain NAME          every account of the domain (needs LDAP)
  -L, --list FILE            accounts, one per line
  -i, --info                 print the keys, delete nothing
  -v, --verbose              print each key and the server's answer
  -o, --output FORMAT        line format of -v/-i: %1$s server, %2$s key, %3$s result (default "[%1$s] %2$s -- %3$s")
  --source ldap://…          LDAP URLs (default: localconfig ldap_url)
  -w, --workdir DIR          Zimbra's home: DIR/conf/localconfig.xml (default /opt/zimbra)
  --localconfig FILE         Zimbra's localconfig.xml
  --bind-dn DN / --bind-password-file FILE   LDAP credentials (default: localconfig)
  --hosts FILE               host names answered before DNS (/etc/hosts format)
  --no-ldap                  do not ask LDAP: purge exactly the names given, on the servers given
  --debug                    stack traces on errors
`;

const FLAGS = {
  ...DIRECTORY_FLAGS,
  hosts: { type: 'string' },
  account: { type: 'string', short: 'a', multiple: true },
  domain: { type: 'string', short: 'd', multiple: true },
  list: { type: 'string', short: 'L' },
  info: { type: 'boolean', short: 'i' },
  verbose: { type: 'boolean', short: 'v' },
  output: { type: 'string', short: 'o' },
  'no-ldap': { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function format(template: string, server: string, key: string, result: string): string {
  return template.replace('%1$s', server).replace('%2$s', key).replace('%3$s', result);
}

/** Purge targets of an account, from LDAP. */
async function targetOf(directory: LdapLookupDirectory, account: string): Promise<PurgeTarget> {
  const filter = `(&(|(zimbraMailDeliveryAddress=${escapeLdapFilterValue(account)})(zimbraMailAlias=${escapeLdapFilterValue(account)}))(objectClass=zimbraAccount))`;
  const [entry] = await directory.search({
    base: '',
    filter,
    attributes: ['zimbraMailDeliveryAddress', 'zimbraMailAlias', 'zimbraId'],
  });
  const name =
    entry === undefined ? account : (attrOf(entry.attrs, 'zimbraMailDeliveryAddress') ?? account);
  const aliases = entry === undefined ? [] : [...attrValues(entry.attrs, 'zimbraMailAlias')];
  const domainName = name.slice(name.lastIndexOf('@') + 1);
  const [domain] = await directory.search({
    base: '',
    filter: `(&(zimbraDomainName=${escapeLdapFilterValue(domainName)})(objectClass=zimbraDomain))`,
    attributes: ['zimbraId', 'zimbraVirtualIPAddress', 'zimbraVirtualHostname'],
  });
  const domainId = domain === undefined ? undefined : attrOf(domain.attrs, 'zimbraId');
  const aliasDomains =
    domainId === undefined
      ? []
      : await directory.search({
          base: '',
          filter: `(&(zimbraDomainAliasTargetId=${escapeLdapFilterValue(domainId)})(objectClass=zimbraDomain))`,
          attributes: ['zimbraDomainName'],
        });
  const local = name.slice(0, name.lastIndexOf('@'));
  const otherNames = [
    ...aliases,
    ...aliasDomains
      .map((d) => attrOf(d.attrs, 'zimbraDomainName'))
      .filter((d): d is string => d !== undefined)
      .map((d) => `${local}@${d}`),
  ];
  return {
    account: name,
    id: entry === undefined ? undefined : attrOf(entry.attrs, 'zimbraId'),
    otherNames,
    vips: domain === undefined ? [] : [...attrValues(domain.attrs, 'zimbraVirtualIPAddress')],
    virtualHosts:
      domain === undefined ? [] : [...attrValues(domain.attrs, 'zimbraVirtualHostname')],
  };
}

/** The names of the accounts of a domain (zimbraMailDeliveryAddress ending in `@domain`). */
async function accountsIn(directory: LdapLookupDirectory, domain: string): Promise<string[]> {
  const entries = await directory.search({
    base: '',
    filter: `(&(zimbraMailDeliveryAddress=*@${escapeLdapFilterValue(domain)})(|(objectClass=zimbraAccount)(objectClass=zimbraCalendarResource)))`,
    attributes: ['zimbraMailDeliveryAddress'],
  });
  return entries
    .map((entry) => attrOf(entry.attrs, 'zimbraMailDeliveryAddress'))
    .filter((name): name is string => name !== undefined);
}

/** Runs `zmproxy purge`; returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  let directory: LdapLookupDirectory | undefined;
  try {
    const { values, positionals } = parseCommandArgs(argv, FLAGS, 'purge', true);
    if (values.help === true) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const accounts = (values.account ?? []).flatMap((a) => a.split(','));
    if (values.list !== undefined) {
      const text = await readFile(values.list, 'utf8').catch((error: unknown) => {
        throw new ProxyConfError('E_INPUT', `cannot read ${values.list ?? ''}`, { cause: error });
      });
      accounts.push(...text.split(/\r?\n/));
    }
    const domains = (values.domain ?? [])
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== '');
    if (domains.length > 0 && values['no-ldap'] === true) {
      throw new ProxyConfError('E_USAGE', '--domain needs LDAP to list the accounts', {
        hint: 'leave out --no-ldap, or name the accounts with -a',
      });
    }
    let names = accounts.map((a) => a.trim()).filter((a) => a !== '');
    if (names.length === 0 && domains.length === 0) {
      throw new ProxyConfError('E_USAGE', 'no account given', {
        hint: 'zmproxy purge -a user@domain, or --domain example.com',
      });
    }
    const servers = new Set(positionals);
    const targets: PurgeTarget[] = names.map((account) => ({ account }));
    // --domain alone: the targets come from LDAP below.
    if (values['no-ldap'] !== true) {
      const lc = await loadLocalConfig(
        localConfigFileFor(
          resolve(values.workdir ?? '/opt/zimbra'),
          values.localconfig,
          values.source,
        ),
      );
      directory = createLdapLookupDirectory(
        await resolveLdapOptions(values.source, {
          localConfig: lc,
          bindDn: values['bind-dn'],
          bindPasswordFile: values['bind-password-file'],
        }),
      );
      for (const domain of domains) {
        const accountsOfDomain = await accountsIn(directory, domain);
        if (accountsOfDomain.length === 0) {
          io.stderr(
            `${formatWarning({ code: 'W_PURGE_DOMAIN_EMPTY', message: `no account in domain ${domain}` })}\n`,
          );
        }
        names = [...names, ...accountsOfDomain];
      }
      targets.length = 0;
      for (const name of names) targets.push(await targetOf(directory, name));
      const resolver = createAddressResolver({
        hosts: values.hosts === undefined ? undefined : await readHostsFile(values.hosts),
      });
      const discovered = await discoverMemcachedServers(directory, (host) =>
        resolver.resolve(host).catch(() => host),
      );
      for (const server of discovered) servers.add(server);
    }
    const keys = [...new Set(targets.flatMap(computePurgeKeys))];
    const template = values.output ?? '[%1$s] %2$s -- %3$s';
    if (values.info === true) {
      for (const server of servers)
        for (const key of keys) io.stdout(`${format(template, server, key, 'would delete')}\n`);
      return EXIT.ok;
    }
    if (servers.size === 0) {
      throw new ProxyConfError('E_USAGE', 'no memcached server known', {
        hint: 'give HOST:PORT, or run a server with zimbraServiceEnabled memcached',
      });
    }
    const client = createMemcachedClient({ servers: [...servers] });
    let unreachable = false;
    try {
      for (const key of keys) {
        for (const answer of await client.deleteEverywhere(key)) {
          if (answer.deleted === undefined) unreachable = true;
          if (values.verbose === true) {
            const result =
              answer.deleted === undefined
                ? 'unreachable'
                : answer.deleted
                  ? 'deleted'
                  : 'not found';
            io.stdout(`${format(template, answer.server, key, result)}\n`);
          }
        }
      }
    } finally {
      client.close();
    }
    if (unreachable)
      io.stderr(
        `${formatWarning({ code: 'W_PURGE_MEMCACHED_UNANSWERED', message: 'some memcached servers did not answer; their entries expire with the TTL' })}\n`,
      );
    return unreachable ? EXIT.error : EXIT.ok;
  } catch (error) {
    return reportError(error, io, debug);
  } finally {
    await directory?.close();
  }
}
