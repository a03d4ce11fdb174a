/**
 * How the stock template set lays out the web servers of the virtual hosts (the data behind
 * `nginx.conf.web.{http,https,admin,certificates}.template.hbs`).
 *
 * Two shapes, chosen per generation (docs/certificates.md has the measurements behind them):
 * - `static`: every virtual host name gets its own `server` block per listener, with its domain's
 *   certificate, as Zimbra's templates do. nginx loads every certificate and builds one TLS
 *   context per block at start and at every reload: O(N) in the number of virtual hosts.
 * - `map`: the virtual hosts join the default server of each listener; nginx picks the
 *   certificate at the handshake from a `map` of `$ssl_server_name` (variables in
 *   `ssl_certificate`, nginx 1.15.9 and later) and the response headers from maps of `$host`.
 *   Loading the configuration is O(1) in certificates; a full handshake reads the certificate and
 *   key files (nginx 1.22 has no certificate cache), a resumed one does not.
 * What nginx cannot take from a variable keeps its own block in either shape: a virtual host on a
 * virtual IP address of its own (SNI off), one whose client-certificate mode differs from the
 * server's, or one whose headers repeat a name (a map holds one value per name).
 */
import type { EntryReader } from '../resolve/attribute-reader.js';
import { quoteNginxArgument } from '../model/value-types.js';
import { computeDomainData, parseResponseHeader } from './domains.js';
import { customVar } from './define.js';
import type { VarContext, VariableDefinition } from './types.js';

/** Localconfig keys of the certificate selection (defaults in localconfig-defaults.ts). */
export const CERTIFICATE_LC = {
  selection: 'zmproxy_certificate_selection',
  threshold: 'zmproxy_certificate_map_threshold',
} as const;

/** Virtual host names above which `auto` selects the map (docs/certificates.md). */
export const DEFAULT_MAP_THRESHOLD = 100;

/** One virtual host name as the templates need it. */
export interface StockVirtualHost {
  vhn: string;
  /** The formatted `vip` (`1.2.3.4:`, `[2001:db8::1]:`, or empty). */
  vip: string;
  crt: string;
  key: string;
  clientCertMode: string;
  /** `add_header` lines, joined with a line break and four spaces (`web.add.headers.vhost`). */
  headers: string;
}

/** One `map $host $<variable>` for a response header name. */
export interface StockHeaderMap {
  variable: string;
  name: string;
  /** The value for names without an entry (the default server's), quoted; `""` = not sent. */
  defaultValue: string;
  entries: readonly { host: string; value: string }[];
}

/** The data of the web templates. */
export interface StockWebSites {
  selection: 'static' | 'map';
  /** Why this selection (for -v and docs): `auto: 12 virtual hosts ≤ 100`, `localconfig`. */
  reason: string;
  /** Virtual hosts with a server block of their own, per listener. */
  blocks: readonly StockVirtualHost[];
  /** Virtual hosts served by the default server of each listener (map selection only). */
  mapped: readonly StockVirtualHost[];
  /** Certificate map entries: mapped hosts whose certificate is not the default one. */
  certificates: readonly { host: string; crt: string; key: string }[];
  headerMaps: readonly StockHeaderMap[];
  /** map_hash_max_size and map_hash_bucket_size that hold every mapped name without a warning. */
  mapHash: { maxSize: number; bucketSize: number };
}

interface Header {
  name: string;
  value: string;
}

const memo = new WeakMap<VarContext, StockWebSites>();

/** The certificate selection and the virtual hosts of each shape; memoized per context. */
export function computeStockWebSites(ctx: VarContext): StockWebSites {
  const known = memo.get(ctx);
  if (known !== undefined) return known;
  const sites = buildStockWebSites(ctx);
  memo.set(ctx, sites);
  return sites;
}

/** The variables the http-level templates need of the layout (the rest is Handlebars data). */
export const STOCK_SITE_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'stock.web.certificate.selection',
    area: 'stock',
    description: `How virtual hosts get their certificates: static (a server block each) or map (chosen at the handshake); localconfig ${CERTIFICATE_LC.selection}, auto above ${CERTIFICATE_LC.threshold} names`,
    attribute: CERTIFICATE_LC.selection,
    type: 'string',
    source: 'localconfig',
    defaultText: 'static',
    compute: (ctx) => computeStockWebSites(ctx).selection,
  }),
  customVar({
    name: 'stock.web.map_hash.max_size',
    area: 'stock',
    description:
      'map_hash_max_size: twice the number of mapped virtual host names as a power of two, at least 2048 (it must precede the first map)',
    type: 'integer',
    source: 'custom',
    defaultText: '2048',
    compute: (ctx) => String(computeStockWebSites(ctx).mapHash.maxSize),
  }),
  customVar({
    name: 'stock.web.map_hash.bucket_size',
    area: 'stock',
    description:
      'map_hash_bucket_size: a bucket holds two of the longest mapped virtual host names, at least 64',
    type: 'integer',
    source: 'custom',
    defaultText: '64',
    compute: (ctx) => String(computeStockWebSites(ctx).mapHash.bucketSize),
  }),
];

function buildStockWebSites(ctx: VarContext): StockWebSites {
  const items = computeDomainData(ctx).items;
  const sni = ctx.server.boolean('zimbraReverseProxySNIEnabled', false);
  const defaultMode = ctx.server.enumValue('zimbraReverseProxyClientCertMode', 'off');
  const defaultHeaders = headerList(ctx.config);
  const readerOf = domainReaders(ctx);
  // Every name of a domain shares its headers: parsed once per domain.
  const headersOf = new Map<string, Header[]>();
  const domainHeaders = (domain: string): Header[] => {
    const key = domain.toLowerCase();
    let list = headersOf.get(key);
    if (list === undefined) {
      const reader = readerOf.get(key);
      list = reader === undefined ? defaultHeaders : headerList(reader);
      headersOf.set(key, list);
    }
    return list;
  };

  const hosts = items.map((item) => {
    const vars = item.vars;
    const host: StockVirtualHost = {
      vhn: item.vhn,
      vip: vars['vip'] ?? '',
      crt: vars['ssl.crt'] ?? ctx.paths.sslCrtDefault,
      key: vars['ssl.key'] ?? ctx.paths.sslKeyDefault,
      clientCertMode: vars['ssl.clientcertmode'] ?? defaultMode,
      headers: vars['web.add.headers.vhost'] ?? '',
    };
    const headers = domainHeaders(item.domain);
    const ownBlock =
      (!sni && host.vip !== '') || host.clientCertMode !== defaultMode || hasRepeatedName(headers);
    return { host, headers, ownBlock };
  });

  const mapped = hosts.filter((h) => !h.ownBlock);
  const { selection, reason } = chooseSelection(
    ctx,
    mapped.length,
    hasRepeatedName(defaultHeaders),
  );
  if (selection === 'static') {
    return {
      selection,
      reason,
      blocks: hosts.map((h) => h.host),
      mapped: [],
      certificates: [],
      headerMaps: [],
      mapHash: mapHashSizes([]),
    };
  }
  return {
    selection,
    reason,
    blocks: hosts.filter((h) => h.ownBlock).map((h) => h.host),
    mapped: mapped.map((h) => h.host),
    certificates: mapped
      .filter(
        (h) => h.host.crt !== ctx.paths.sslCrtDefault || h.host.key !== ctx.paths.sslKeyDefault,
      )
      .map((h) => ({ host: h.host.vhn, crt: h.host.crt, key: h.host.key })),
    headerMaps: buildHeaderMaps(defaultHeaders, mapped),
    mapHash: mapHashSizes(mapped.map((h) => h.host.vhn)),
  };
}

/**
 * Hash sizes for maps keyed by these names, as server_names_hash is sized (stock.ts): twice the
 * number of names as a power of two, and a bucket that holds two of the longest names (an
 * element is a pointer, a length and the name, aligned to 8 bytes; a bucket ends with a null
 * pointer). nginx's defaults (2048 and 64) are the floor.
 */
function mapHashSizes(names: readonly string[]): { maxSize: number; bucketSize: number } {
  const longest = names.reduce((max, name) => Math.max(max, name.length), 0);
  const element = Math.ceil((8 + 2 + longest) / 8) * 8;
  return {
    maxSize: Math.max(2048, powerOfTwo(names.length * 2)),
    bucketSize: Math.max(64, powerOfTwo(2 * element + 8)),
  };
}

function powerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

function chooseSelection(
  ctx: VarContext,
  mappable: number,
  defaultRepeats: boolean,
): { selection: 'static' | 'map'; reason: string } {
  const asked = ctx.lc.text(CERTIFICATE_LC.selection, 'auto').trim().toLowerCase();
  if (defaultRepeats) {
    return {
      selection: 'static',
      reason: 'the default response headers repeat a header name, which a map cannot hold',
    };
  }
  if (asked === 'static' || asked === 'map') {
    return { selection: asked, reason: `localconfig ${CERTIFICATE_LC.selection}=${asked}` };
  }
  if (asked !== 'auto') {
    ctx.problem({
      subject: CERTIFICATE_LC.selection,
      entry: 'localconfig',
      message: `${CERTIFICATE_LC.selection} must be auto, static or map (got "${asked}")`,
      hint: `zmlocalconfig -e ${CERTIFICATE_LC.selection}=auto`,
    });
    return { selection: 'static', reason: 'invalid localconfig' };
  }
  const threshold = ctx.lc.integer(CERTIFICATE_LC.threshold, DEFAULT_MAP_THRESHOLD);
  return mappable > threshold
    ? { selection: 'map', reason: `auto: ${mappable} virtual host names > ${threshold}` }
    : { selection: 'static', reason: `auto: ${mappable} virtual host names ≤ ${threshold}` };
}

/**
 * One map per header name any mapped host or the default server sends. A host gets an entry only
 * where its value differs from the default's; `""` means the header is not sent (nginx skips an
 * add_header whose value is empty).
 */
function buildHeaderMaps(
  defaults: readonly Header[],
  mapped: readonly { host: StockVirtualHost; headers: readonly Header[] }[],
): StockHeaderMap[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const note = (name: string) => {
    const lower = name.toLowerCase();
    if (seen.has(lower)) return;
    seen.add(lower);
    names.push(name);
  };
  defaults.forEach((h) => note(h.name));
  mapped.forEach((m) => m.headers.forEach((h) => note(h.name)));

  return names.map((name, index) => {
    const valueIn = (list: readonly Header[]) => {
      const found = list.find((h) => h.name.toLowerCase() === name.toLowerCase());
      return found === undefined ? '""' : quoteNginxArgument(found.value);
    };
    const defaultValue = valueIn(defaults);
    const entries = mapped
      .map((m) => ({ host: m.host.vhn, value: valueIn(m.headers) }))
      .filter((entry) => entry.value !== defaultValue);
    return { variable: `zmproxy_header_${index + 1}`, name, defaultValue, entries };
  });
}

/** The valid response headers of an entry (invalid ones are reported by the variables). */
function headerList(reader: EntryReader): Header[] {
  const headers: Header[] = [];
  for (const value of reader.find('zimbraReverseProxyResponseHeaders')?.values ?? []) {
    const parsed = parseResponseHeader(value);
    if (parsed.ok) headers.push({ name: parsed.name, value: parsed.value });
  }
  return headers;
}

function hasRepeatedName(headers: readonly Header[]): boolean {
  return new Set(headers.map((h) => h.name.toLowerCase())).size !== headers.length;
}

function domainReaders(ctx: VarContext): Map<string, EntryReader> {
  const readers = new Map<string, EntryReader>();
  for (const domain of ctx.snapshot.domains) {
    const name = domain.attrs['zimbraDomainName']?.[0];
    if (name !== undefined) readers.set(name.toLowerCase(), ctx.readers.readerFor(domain));
  }
  return readers;
}
