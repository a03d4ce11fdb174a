/**
 * Which servers ProxyConfGen puts where (docs/zimbra-notes.md "How the generator collects servers
 * and domains", "Lookup handlers", "Upstream `server` lines"), plus our one required deviation: a
 * server without the `mailbox` service is never a lookup handler or an upstream, even when its
 * zimbraReverseProxyLookupTarget is TRUE (directly or inherited from the global config). Zimbra
 * routes logins to such a server anyway, which is the classic "slow proxy logins" misconfiguration.
 */
import type { Warning } from '../errors.js';
import { attribute } from '../model/attribute-catalog.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryName, valuesOf } from '../model/snapshot.js';
import type { Readers } from '../resolve/attribute-reader.js';

/** The server groups variables are computed from, each sorted by server name. */
export interface ServerLists {
  /** Every server entry, sorted by name. */
  readonly all: readonly DirectoryEntry[];
  /** A server by name (cn), case-insensitively. */
  byName(name: string): DirectoryEntry | undefined;
  /** Servers whose zimbraServiceEnabled contains the service exactly. */
  withService(service: string): readonly DirectoryEntry[];
  /** Service `service` plus pre-8.5 mailbox servers: mailstore HTTP/HTTPS/admin/zx upstreams. */
  readonly mailClient: readonly DirectoryEntry[];
  /** Service `zimbra` plus pre-8.5 mailbox servers: webclient upstreams. */
  readonly webClient: readonly DirectoryEntry[];
  /** Service `zimbraAdmin` plus pre-8.5 mailbox servers: adminclient upstream. */
  readonly adminClient: readonly DirectoryEntry[];
  readonly memcached: readonly DirectoryEntry[];
  /**
   * Lookup-handler candidates that pass the rules: zimbraReverseProxyAvailableLookupTargets of
   * serverSource (else every server), zimbraReverseProxyLookupTarget TRUE, and the mailbox service.
   */
  readonly lookupTargets: readonly DirectoryEntry[];
  /** True when the server may be an upstream: lookup target, a valid zimbraMailMode, mailbox service. */
  isValidUpstream(server: DirectoryEntry): boolean;
}

const MAIL_MODES = ['http', 'https', 'mixed', 'both', 'redirect'];

/** True when the server's zimbraServiceEnabled contains the service exactly. */
export function hasService(server: DirectoryEntry, service: string): boolean {
  return (valuesOf(server, attribute('zimbraServiceEnabled').name) ?? []).includes(service);
}

/** Computes the server groups once per generation; warnings are reported once per server. */
export function computeServerLists(
  snapshot: DirectorySnapshot,
  serverSource: DirectoryEntry,
  readers: Readers,
  warn: (warning: Warning) => void,
): ServerLists {
  const all = snapshot.servers;
  const byLowerName = new Map(all.map((server) => [entryName(server).toLowerCase(), server]));
  const withService = (service: string) => all.filter((server) => hasService(server, service));
  // Pre-8.5 mailbox servers carry no zimbraServerVersion and run every web role themselves.
  const legacyMailbox = withService('mailbox').filter(
    (server) => valuesOf(server, 'zimbraServerVersion') === undefined,
  );
  const clients = (service: string) => [...withService(service), ...legacyMailbox];

  const isLookupTarget = (server: DirectoryEntry) =>
    readers.readerFor(server).boolean('zimbraReverseProxyLookupTarget', false);

  const eligibility = new Map<DirectoryEntry, boolean>();
  const hasMailboxOrWarn = (server: DirectoryEntry): boolean => {
    const known = eligibility.get(server);
    if (known !== undefined) return known;
    const eligible = hasService(server, 'mailbox');
    if (!eligible) {
      const name = entryName(server);
      const inherited =
        readers.readerFor(server).find('zimbraReverseProxyLookupTarget')?.from !== server;
      warn({
        code: 'W_LOOKUP_TARGET_NOT_MAILBOX',
        message: `server ${name} has zimbraReverseProxyLookupTarget TRUE${inherited ? ' (inherited from the global config)' : ''} but does not run the mailbox service; it is left out of the lookup handlers and upstreams`,
        hint: `zmprov ms ${name} zimbraReverseProxyLookupTarget FALSE`,
      });
    }
    eligibility.set(server, eligible);
    return eligible;
  };

  const modeWarned = new Set<DirectoryEntry>();
  const isValidUpstream = (server: DirectoryEntry): boolean => {
    if (!isLookupTarget(server)) return false;
    const mode = readers.readerFor(server).find('zimbraMailMode')?.values[0];
    if (mode === undefined || !MAIL_MODES.includes(mode.toLowerCase())) {
      if (!modeWarned.has(server)) {
        modeWarned.add(server);
        warn({
          code: 'W_UPSTREAM_MAIL_MODE',
          message: `upstream: ignoring server ${entryName(server)}, because its mail mode is ${mode ?? 'EMPTY'}`,
          hint: `zmprov ms ${entryName(server)} zimbraMailMode https`,
        });
      }
      return false;
    }
    return hasMailboxOrWarn(server);
  };

  const lookupTargets = (): DirectoryEntry[] => {
    const named = readers.readerFor(serverSource).list('zimbraReverseProxyAvailableLookupTargets');
    let candidates: DirectoryEntry[] = [...all];
    if (named.length > 0) {
      candidates = [];
      for (const name of named) {
        const server = byLowerName.get(name.toLowerCase());
        if (server === undefined) {
          warn({
            code: 'W_LOOKUP_TARGET_UNKNOWN',
            message: `invalid value found in zimbraReverseProxyAvailableLookupTargets: no server named ${name}`,
            hint: `zmprov ms ${entryName(serverSource)} -zimbraReverseProxyAvailableLookupTargets ${name}`,
          });
        } else {
          candidates.push(server);
        }
      }
    }
    return candidates.filter((server) => isLookupTarget(server) && hasMailboxOrWarn(server));
  };

  return {
    all,
    byName: (name) => byLowerName.get(name.toLowerCase()),
    withService,
    mailClient: clients('service'),
    webClient: clients('zimbra'),
    adminClient: clients('zimbraAdmin'),
    memcached: withService('memcached'),
    lookupTargets: lookupTargets(),
    isValidUpstream,
  };
}
