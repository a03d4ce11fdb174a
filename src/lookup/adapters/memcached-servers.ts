/** Where the route cache lives: the memcached servers the directory names (lookup and purge). */
import { attrOf } from '../directory-queries.js';
import type { LookupDirectory } from '../ports.js';

/** The memcached servers of the directory: servers running the `memcached` service. */
export async function discoverMemcachedServers(
  directory: LookupDirectory,
  resolve: (host: string) => Promise<string>,
): Promise<string[]> {
  const [config] = await directory.search({
    base: 'cn=config,cn=zimbra',
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['zimbraMemcachedBindPort'],
  });
  const globalPort =
    config === undefined ? undefined : attrOf(config.attrs, 'zimbraMemcachedBindPort');
  const servers = await directory.search({
    base: '',
    filter: '(&(objectClass=zimbraServer)(zimbraServiceEnabled=memcached))',
    attributes: ['zimbraServiceHostname', 'zimbraMemcachedBindPort'],
  });
  const found: string[] = [];
  for (const server of servers) {
    const host = attrOf(server.attrs, 'zimbraServiceHostname');
    if (host === undefined) continue;
    const port = attrOf(server.attrs, 'zimbraMemcachedBindPort') ?? globalPort ?? '11211';
    const address = await resolve(host);
    found.push(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
  }
  return found.sort();
}
