/**
 * The list commands zmconfigd watches (docs/zimbra-notes.md "zmprov list commands"): garpu, garpb,
 * gamau, gamcs, garpd. Zimbra's formats are kept (one line, entries separated and followed by a
 * space; garpb one `server` line per backend), with these fixes, each listed in the README:
 *
 * - garpu and garpb apply the generator's server rules: a server without the `mailbox` service is
 *   never a lookup handler or a backend (server-lists.ts), a server listed twice in Zimbra's
 *   "mail client servers" (service `service` and pre-8.5 mailbox) is listed once, and a server
 *   whose zimbraMailMode is not a mail mode is skipped with a warning instead of failing the
 *   whole command.
 * - garpu prints the scheme the generator uses for the handler (`https://` from Zimbra 8.7 on,
 *   docs/zimbra-notes.md "Lookup handlers"); Zimbra prints none.
 * - garpu/garpb/gamau bracket an IPv6 literal host name.
 */
import type { Problem, Warning } from '../errors.js';
import { hostPort } from '../model/dns.js';
import type { LocalConfig } from '../model/localconfig-defaults.js';
import type { DirectoryEntry, DirectorySnapshot } from '../model/snapshot.js';
import { entryName, firstValueOf, valuesOf } from '../model/snapshot.js';
import { createReaders } from '../resolve/attribute-reader.js';
import { createLocalConfigReader } from '../resolve/localconfig-reader.js';
import { computeServerLists, hasService } from '../vars/server-lists.js';
import { isZimbra87OrLater, handlerScheme } from '../vars/lookup.js';

/** What a list command prints, and what it noticed on the way. */
export interface ListOutput {
  text: string;
  /** The entries one per item, for `--json`. */
  items: string[];
  warnings: Warning[];
}

/** The path of the route lookup handler below the extension port. */
const LOOKUP_PATH = '/service/extension/nginx-lookup';

/** The path Zimbra's MTA authenticates against (AdminConstants.ADMIN_SERVICE_URI). */
const MTA_AUTH_PATH = '/service/admin/soap/';

/**
 * Readers and server lists over the snapshot. `warnings` collects malformed values (the reader
 * uses the code default; for a listing that is a warning naming the fix); `serverWarnings` what
 * the server rules noticed, which only garpu and garpb report.
 */
function setup(snapshot: DirectorySnapshot) {
  const warnings: Warning[] = [];
  const serverWarnings: Warning[] = [];
  const sink = {
    problem: (problem: Problem) =>
      warnings.push({
        code: 'W_INVALID_VALUE',
        message: `${problem.subject} on ${problem.entry}: ${problem.message}${problem.value === undefined ? '' : ` (got ${JSON.stringify(problem.value)})`}`,
        hint: problem.hint,
      }),
    warn: (warning: Warning) => warnings.push(warning),
  };
  const readers = createReaders(snapshot, sink);
  const lists = computeServerLists(snapshot, snapshot.globalConfig, readers, (warning) =>
    serverWarnings.push(warning),
  );
  return { warnings, serverWarnings, sink, readers, lists };
}

function hostOf(server: DirectoryEntry): string {
  return firstValueOf(server, 'zimbraServiceHostname') ?? '';
}

function oneLine(items: readonly string[], warnings: Warning[]): ListOutput {
  return { text: `${items.map((item) => `${item} `).join('')}\n`, items: [...items], warnings };
}

/** garpu: the lookup handler URL of every mail client server that is a lookup target. */
export function listReverseProxyUrls(snapshot: DirectorySnapshot): ListOutput {
  const { warnings, serverWarnings, readers, lists } = setup(snapshot);
  const items: string[] = [];
  for (const server of new Set(lists.mailClient)) {
    const reader = readers.readerFor(server);
    if (!reader.boolean('zimbraReverseProxyLookupTarget', false)) continue;
    // Left out with the server rules' warning (serverWarnings).
    if (!hasService(server, 'mailbox')) continue;
    const port = reader.port('zimbraExtensionBindPort', 7072);
    items.push(`${handlerScheme(reader)}${hostPort(hostOf(server), port)}${LOOKUP_PATH}`);
  }
  return oneLine(items, [...serverWarnings, ...warnings]);
}

/**
 * garpb: `    server host:port;` per valid upstream; port by mail mode (docs/zimbra-notes.md
 * "zmprov list commands").
 */
export function listReverseProxyBackends(
  snapshot: DirectorySnapshot,
  localConfig: LocalConfig,
): ListOutput {
  const { warnings, serverWarnings, sink, readers, lists } = setup(snapshot);
  const lc = createLocalConfigReader(localConfig, sink);
  const security = lc.text('zimbra_require_interprocess_security').trim().toLowerCase();
  // LC booleans accept 1/0 as well as true/false; only an explicit "off" allows plain HTTP for
  // mixed/both.
  const requireSecurity = !(security === '0' || security === 'false');
  const items: string[] = [];
  for (const server of snapshot.servers) {
    if (!lists.isValidUpstream(server)) continue;
    const reader = readers.readerFor(server);
    const mode = reader.enumValue('zimbraMailMode', 'https');
    const plain = mode === 'http' || (!requireSecurity && (mode === 'mixed' || mode === 'both'));
    // ProvUtil's own default (0), not ProxyConfGen's: garpb prints what zmprov prints.
    const port = plain ? reader.port('zimbraMailPort', 0) : reader.port('zimbraMailSSLPort', 0);
    items.push(`    server ${hostPort(hostOf(server), port)};`);
  }
  // As Zimbra: zmconfigd cannot handle an empty list, so a placeholder stands in.
  const lines = items.length > 0 ? items : ['    server localhost:8080;'];
  return { text: `${lines.join('\n')}\n`, items, warnings: [...serverWarnings, ...warnings] };
}

/**
 * gamau: the MTA auth URL of every server that is an MTA auth target (zimbraMtaAuthTarget TRUE),
 * `https://<host>:<port>/service/admin/soap/`, port zimbraMtaAuthPort (default 7073) from Zimbra
 * 8.7 on, zimbraAdminPort (default 7071) before, as Zimbra's URLUtil. Our fix: the target must run
 * the mailbox service, which answers the MTA's auth requests.
 */
export function listMtaAuthUrls(snapshot: DirectorySnapshot, localConfig: LocalConfig): ListOutput {
  const { warnings, sink, readers } = setup(snapshot);
  const scheme = createLocalConfigReader(localConfig, sink).text(
    'zimbra_admin_service_scheme',
    'https://',
  );
  const items: string[] = [];
  for (const server of snapshot.servers) {
    const reader = readers.readerFor(server);
    if (!reader.boolean('zimbraMtaAuthTarget', false)) continue;
    if (!hasService(server, 'mailbox')) {
      warnings.push({
        code: 'W_MTA_AUTH_TARGET_NOT_MAILBOX',
        message: `server ${entryName(server)} has zimbraMtaAuthTarget TRUE but does not run the mailbox service; it is left out`,
        hint: `zmprov ms ${entryName(server)} zimbraMtaAuthTarget FALSE`,
      });
      continue;
    }
    const port = isZimbra87OrLater(reader)
      ? reader.port('zimbraMtaAuthPort', 7073)
      : reader.port('zimbraAdminPort', 7071);
    items.push(`${scheme}${hostPort(hostOf(server), port)}${MTA_AUTH_PATH}`);
  }
  return oneLine(items, warnings);
}

/** gamcs: `host:zimbraMemcachedBindPort` of every server running memcached. */
export function listMemcachedServers(snapshot: DirectorySnapshot): ListOutput {
  const { warnings, readers, lists } = setup(snapshot);
  const items = lists.memcached.map((server) => {
    const port = readers.readerFor(server).find('zimbraMemcachedBindPort')?.values[0] ?? '';
    return `${hostOf(server)}:${port}`;
  });
  return oneLine(items, warnings);
}

/** garpd: `<domain> <vhn> <vhn> …` for every domain with virtual host names, a certificate and a key. */
export function listReverseProxyDomains(snapshot: DirectorySnapshot): ListOutput {
  const items: string[] = [];
  for (const domain of snapshot.domains) {
    const hosts = valuesOf(domain, 'zimbraVirtualHostname');
    if (
      hosts === undefined ||
      valuesOf(domain, 'zimbraSSLCertificate') === undefined ||
      valuesOf(domain, 'zimbraSSLPrivateKey') === undefined
    ) {
      continue;
    }
    items.push(`${entryName(domain)} ${hosts.map((host) => `${host} `).join('')}`);
  }
  return {
    text: items.map((item) => `${item}\n`).join(''),
    items: items.map((item) => item.trimEnd()),
    warnings: [],
  };
}
