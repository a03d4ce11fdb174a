/**
 * What the reachability probe connects to, computed from the directory (pure): the lookup
 * handlers, the memcached servers, and the IMAP, POP3 and HTTP ports of the mailbox servers, each
 * with the address the generator's DNS rule picks (docs/zimbra-notes.md "DNS"), or why there is
 * none.
 */
import { entryName } from '../model/snapshot.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { readServicePort, resolveServerAddress } from '../vars/lookup.js';
import { hasService } from '../vars/server-lists.js';
import { isSslToUpstream } from '../vars/stock.js';
import {
  computeStockMailTls,
  TLS_PORT_ATTRIBUTE,
  tlsPortAttribute,
} from '../vars/stock-mail-tls.js';
import { computeUpstreamServers } from '../vars/upstreams.js';
import type { VarContext } from '../vars/types.js';

/** What a target is to the proxy. */
export type TargetRole =
  'lookup handler' | 'memcached' | 'IMAP upstream' | 'POP3 upstream' | 'HTTP upstream';

/** One host and port the proxy must reach. */
export interface ProbeTarget {
  role: TargetRole;
  /** The server entry's name (cn). */
  server: string;
  /** zimbraServiceHostname. */
  host: string;
  port: number;
  /** The port attribute the port was read from, for fixes. */
  portAttribute: string;
  /** The address to connect to; undefined when DNS gave none (see `dnsError`). */
  address: string | undefined;
  dnsError?: { reason: string; hint: string };
  /** The server runs the mailbox service. */
  mailbox: boolean;
}

/** Every server host name the doctor needs resolved (the DNS probe's questions). */
export function collectServerHostnames(ctx: VarContext): string[] {
  const names = new Set<string>();
  for (const server of ctx.snapshot.servers) {
    const host = ctx.readers.readerFor(server).find('zimbraServiceHostname')?.values[0];
    if (host !== undefined && host !== '') names.add(host.toLowerCase());
  }
  return [...names];
}

/** The targets, in the order: lookup handlers, memcached, then per mailbox server IMAP, POP3, HTTP. */
export function computeProbeTargets(
  ctx: VarContext,
  options: {
    lookupHandlers?: boolean;
    /** Our stock template set is served: its mail TLS chain decides the IMAP/POP3 ports. */
    stockSet?: boolean;
  } = {},
): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  const add = (
    role: TargetRole,
    server: DirectoryEntry,
    portAttribute: string,
    port: number,
  ): void => {
    if (port === 0) return;
    const resolved = resolveServerAddress(ctx, server);
    targets.push({
      role,
      server: entryName(server),
      host: resolved.host,
      port,
      portAttribute,
      address: resolved.ok ? resolved.address.address : undefined,
      ...(resolved.ok ? {} : { dnsError: { reason: resolved.reason, hint: resolved.hint } }),
      mailbox: hasService(server, 'mailbox'),
    });
  };
  // Zimbra's lookup extension is probed only when nginx asks it (zmproxy_lookup_servers=nle).
  const handlers = (options.lookupHandlers ?? true) ? ctx.servers.lookupTargets : [];
  for (const server of handlers) {
    const reader = ctx.readers.readerFor(server);
    add(
      'lookup handler',
      server,
      'zimbraExtensionBindPort',
      readServicePort(reader, 'zimbraExtensionBindPort', 7072),
    );
  }
  for (const server of ctx.servers.memcached) {
    const reader = ctx.readers.readerFor(server);
    add(
      'memcached',
      server,
      'zimbraMemcachedBindPort',
      readServicePort(reader, 'zimbraMemcachedBindPort', 11211),
    );
  }
  const ssl = isSslToUpstream(ctx);
  const http = computeUpstreamServers(ctx, { group: 'mailClient', port: ssl ? 'https' : 'http' });
  // With the stock set's TLS chain on, nginx reaches each mailbox server's IMAPS/POP3S port
  // (docs/mail-tls.md); otherwise the plain IMAP/POP3 ports, as Zimbra's nginx does.
  const tls = options.stockSet === true ? computeStockMailTls(ctx).upstream : undefined;
  const tlsProtocols =
    tls?.enabled === true ? [...new Set(tls.listeners.map((listener) => listener.protocol))] : [];
  for (const server of ctx.snapshot.servers.filter((entry) => hasService(entry, 'mailbox'))) {
    const reader = ctx.readers.readerFor(server);
    if (tlsProtocols.length === 0) {
      add('IMAP upstream', server, 'zimbraImapBindPort', reader.port('zimbraImapBindPort', 7143));
      add('POP3 upstream', server, 'zimbraPop3BindPort', reader.port('zimbraPop3BindPort', 7110));
    } else {
      for (const protocol of tlsProtocols) {
        const attribute = tlsPortAttribute(ctx, protocol);
        const port = reader.port(attribute, TLS_PORT_ATTRIBUTE[protocol].port);
        add(protocol === 'imap' ? 'IMAP upstream' : 'POP3 upstream', server, attribute, port);
      }
    }
    const upstream = http.find((entry) => entry.server === entryName(server));
    if (upstream !== undefined) {
      add('HTTP upstream', server, ssl ? 'zimbraMailSSLPort' : 'zimbraMailPort', upstream.port);
    }
  }
  return targets;
}
