/**
 * Variables of the docs area (docs/zimbra-notes.md "Variables by area", "Header directives and
 * explosion"): the ONLYOFFICE document-server upstreams and the items of `!{explode
 * server(<service>)}` templates.
 */
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryName, valuesOf } from '../model/snapshot.js';
import type { ServerExplodeItem } from '../render/types.js';
import { customVar } from './define.js';
import { hostPort } from '../model/value-types.js';
import { hasService } from './server-lists.js';
import type { VarContext, VariableDefinition } from './types.js';

/** Ports of the ONLYOFFICE document service and spell checker on a document server. */
const DOCSERVICE_PORT = 7084;
const SPELLCHECKER_PORT = 7085;

/** One document server an upstream block is written for. */
export interface DocumentServer {
  /** zimbraId of the document server. */
  id: string;
  /** zimbraServiceHostname of the document server. */
  host: string;
}

const memo = new WeakMap<VarContext, readonly DocumentServer[]>();

/**
 * The document servers of the mail client servers, one per distinct zimbraId, in mail client
 * order. For each mail client server: the server itself when it runs `onlyoffice`, else the
 * server named by its zimbraDocumentServerHost when that one runs `onlyoffice`.
 *
 * Our reading of ProxyConfGen's document-server lists (docs/zimbra-notes.md "Variables by area"):
 * the id and host written are those of the server that runs the service. The mail client servers
 * are not filtered by isValidUpstream; ProxyConfGen does not filter them either.
 */
export function computeDocumentServers(ctx: VarContext): readonly DocumentServer[] {
  const known = memo.get(ctx);
  if (known !== undefined) return known;
  const byId = new Map<string, DocumentServer>();
  for (const server of ctx.servers.mailClient) {
    const docServer = documentServerOf(ctx, server);
    if (docServer === undefined) continue;
    const reader = ctx.readers.readerFor(docServer);
    // Validated (a UUID) like every value read: it becomes part of a rewrite regex.
    const id = reader.find('zimbraId')?.values[0];
    const host = reader.hostname('zimbraServiceHostname', '');
    if (id === undefined || host === '' || byId.has(id)) continue;
    byId.set(id, { id, host });
  }
  const list = [...byId.values()];
  memo.set(ctx, list);
  return list;
}

function documentServerOf(ctx: VarContext, server: DirectoryEntry): DirectoryEntry | undefined {
  if (hasService(server, 'onlyoffice')) return server;
  const reader = ctx.readers.readerFor(server);
  const found = reader.find('zimbraDocumentServerHost');
  const name = found?.values[0];
  if (name === undefined || name === '') return undefined;
  const named = ctx.servers.byName(name);
  if (named === undefined) {
    // ProxyConfGen dies on a null server here (docs/zimbra-notes.md quirk 7).
    reader.report(
      'zimbraDocumentServerHost',
      found,
      name,
      'names no server in the directory',
      found?.from.kind === 'globalConfig'
        ? 'zmprov mcf zimbraDocumentServerHost <document server name>'
        : `zmprov ms ${entryName(server)} zimbraDocumentServerHost <document server name>`,
    );
    return undefined;
  }
  return hasService(named, 'onlyoffice') ? named : undefined;
}

/**
 * Java's URL-safe Base64 (`Base64.getUrlEncoder()`), which keeps the `=` padding; a 36-character
 * UUID encodes to 48 characters, so no padding shows in practice.
 */
export function javaUrlSafeBase64(text: string): string {
  const encoded = Buffer.from(text, 'utf8').toString('base64url');
  return encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '=');
}

/**
 * Upstream blocks, one per document server: `upstream <prefix>_<b64url(id)> {`, a `server`
 * line written as ProxyConfGen writes it (tab, `server`, tab, space, address), `}` and an empty
 * line, so the value ends with a newline.
 */
function formatBlocks(
  servers: readonly DocumentServer[],
  prefix: string,
  serverLine: (server: DocumentServer) => string,
): string {
  return servers
    .map(
      (server) =>
        `upstream ${prefix}_${javaUrlSafeBase64(server.id)} {\n\t${serverLine(server)}\n}\n\n`,
    )
    .join('');
}

export const DOCS_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'web.upstream.onlyoffice.docservice',
    area: 'docs',
    description: 'ONLYOFFICE document service upstream blocks, one per document server',
    attribute: 'zimbraDocumentServerHost',
    source: 'custom',
    defaultText: '',
    compute: (ctx) =>
      formatBlocks(
        computeDocumentServers(ctx),
        'docservice',
        (s) => `server\t ${hostPort(s.host, DOCSERVICE_PORT)} fail_timeout=0s max_fails=0;`,
      ),
  }),
  customVar({
    name: 'web.upstream.onlyoffice.spellchecker',
    area: 'docs',
    description: 'ONLYOFFICE spell checker upstream blocks, one per document server',
    attribute: 'zimbraDocumentServerHost',
    source: 'custom',
    defaultText: '',
    compute: (ctx) =>
      formatBlocks(
        computeDocumentServers(ctx),
        'spellchecker',
        (s) => `server\t ${hostPort(s.host, SPELLCHECKER_PORT)};`,
      ),
  }),
];

/**
 * One item per server, every server sorted by name, with its zimbraServiceEnabled as `services`;
 * the engine keeps the servers that run the template's service (docs/zimbra-notes.md "Header
 * directives and explosion"). Variables: `server_id` (zimbraId) and `server_hostname`
 * (zimbraServiceHostname), both validated.
 */
export function computeServerItems(ctx: VarContext): ServerExplodeItem[] {
  return ctx.servers.all.map((server) => {
    const reader = ctx.readers.readerFor(server);
    return {
      server: entryName(server),
      services: valuesOf(server, 'zimbraServiceEnabled') ?? [],
      vars: {
        server_id: reader.token('zimbraId', ''),
        server_hostname: reader.hostname('zimbraServiceHostname', ''),
      },
    };
  });
}
