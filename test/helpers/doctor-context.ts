/** A variable context for the doctor's directory checks: a proxy, a mailbox server, their DNS. */
import type { DirectoryEntry } from '../../src/model/snapshot.js';
import type { Attrs } from './builders.js';
import { context, dnsTable, globalConfig, mailboxServer, server, snapshot } from './builders.js';

/** The context of a directory with this global config, these servers, domains and accounts. */
export function doctorContext(
  global: Attrs,
  servers: DirectoryEntry[],
  domains: DirectoryEntry[] = [],
  accounts: DirectoryEntry[] = [],
) {
  const snap = { ...snapshot({ globalConfig: globalConfig(global), servers, domains }), accounts };
  return context({
    snapshot: snap,
    dns: dnsTable({ 'proxy1.example.com': ['10.0.0.1'], 'mbox1.example.com': ['10.0.0.11'] }),
  }).ctx;
}

/** proxy1.example.com: proxy and memcached. */
export const PROXY = server('proxy1.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'] });
/** mbox1.example.com: a mailbox server. */
export const MBOX = mailboxServer('mbox1.example.com');
