/**
 * The host names a generation must resolve (docs/zimbra-notes.md "DNS", "Per-domain variables"):
 * lookup handlers, memcached servers, and the virtual host names whose address can change the
 * output. Asked before variables are computed so that all lookups run concurrently, once each.
 */
import { isIpAddress } from '../model/value-types.js';
import { readLookupTopology } from '../model/lookup-topology.js';
import type { VarContext } from './types.js';

/** Lowercased, de-duplicated, sorted host names to resolve. */
export function collectHostnames(ctx: VarContext): string[] {
  const names = new Set<string>();
  const add = (host: string | undefined) => {
    if (host !== undefined && host !== '' && !isIpAddress(host)) names.add(host.toLowerCase());
  };
  for (const server of [...ctx.servers.lookupTargets, ...ctx.servers.memcached]) {
    add(server.attrs['zimbraServiceHostname']?.[0]);
  }
  // Remote lookup services named in localconfig: nginx gets their addresses, not their names.
  const { topology } = readLookupTopology((key) => ctx.lc.text(key));
  if (topology.kind === 'remote') for (const endpoint of topology.servers) add(endpoint.host);
  if (ctx.server.boolean('zimbraReverseProxyGenConfigPerVirtualHostname')) {
    // With SNI in ipv4 mode every virtual host listens on the wildcard: its address cannot
    // change the output, so it is not looked up (10 000 domains, no 10 000 lookups).
    const sniV4 =
      ctx.server.boolean('zimbraReverseProxySNIEnabled', false) && ctx.ipMode === 'ipv4';
    if (!sniV4) {
      for (const domain of ctx.snapshot.domains) {
        if ((domain.attrs['zimbraVirtualIPAddress'] ?? []).length > 0) continue;
        for (const vhn of domain.attrs['zimbraVirtualHostname'] ?? []) add(vhn);
      }
    }
  }
  return [...names].sort();
}
