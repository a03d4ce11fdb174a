/**
 * Domain explosion items and the values derived from domains (docs/zimbra-notes.md "Per-domain
 * variables", "Domain items"): per virtual host name the `vhn`, `vip`, certificate paths,
 * client-certificate settings and response headers; the addresses of the strict catch-all server;
 * the client-certificate CA bundle.
 *
 * Conscious fixes of Zimbra's behaviour, each commented where it happens: items are sorted
 * (domains by name, then virtual host names), the listen and CA sets are sorted, a domain without
 * any client-certificate mode gets `web.sso.certauth.enabled` = `#` instead of a stale value, IPv6
 * listen addresses are bracketed, and malformed response headers are Problems.
 */
import type { FoundValues, EntryReader } from '../resolve/attribute-reader.js';
import type { DnsAnswer, ResolvedAddress } from '../model/dns.js';
import { pickAddress } from '../model/dns.js';
import type { DirectoryEntry } from '../model/snapshot.js';
import { entryName } from '../model/snapshot.js';
import {
  controlCharacterReason,
  ipFamily,
  parseHeaderName,
  parseHostname,
  quoteNginxArgument,
} from '../model/value-types.js';
import type { DomainExplodeItem } from '../render/types.js';
import { enabler } from './define.js';
import type { VarContext } from './types.js';

/** Everything derived from the domains, computed once per context. */
export interface DomainData {
  /** One item per virtual host name of every qualifying domain, sorted by domain then vhn. */
  items: readonly DomainExplodeItem[];
  /** Every valid zimbraVirtualIPAddress of an included domain, sorted, de-duplicated. */
  listenAddresses: readonly string[];
  /** The client-certificate CA texts (serverSource + included domains), sorted, de-duplicated. */
  clientCas: readonly string[];
}

const memo = new WeakMap<VarContext, DomainData>();

const RESPONSE_HEADERS = 'zimbraReverseProxyResponseHeaders';
const CLIENT_CERT_MODE = 'zimbraReverseProxyClientCertMode';
const CLIENT_CERT_CA = 'zimbraReverseProxyClientCertCA';

/**
 * serverSource's zimbraReverseProxyGenConfigPerVirtualHostname (code default FALSE,
 * docs/zimbra-notes.md "Code defaults that differ from LDAP defaults").
 */
export function isPerVirtualHostname(ctx: VarContext): boolean {
  return ctx.server.boolean('zimbraReverseProxyGenConfigPerVirtualHostname');
}

/** One item per virtual host name of every qualifying domain, sorted by domain then vhn. */
export function computeDomainItems(ctx: VarContext): DomainExplodeItem[] {
  return [...computeDomainData(ctx).items];
}

/**
 * The client-certificate CA bundle text (serverSource CA plus every exploded domain's CA,
 * de-duplicated, sorted, joined with a newline), or ''. A blank bundle while verification is on
 * for the server or any domain is a Problem (ProxyConfGen exits 1 there, docs/zimbra-notes.md
 * "Domain items").
 */
export function computeClientCaBundle(ctx: VarContext): string {
  return computeDomainData(ctx).clientCas.join('\n');
}

/**
 * The value of `listen.:addresses` (docs/zimbra-notes.md "Variables by area"):
 * `${web.strict.servername}` when no domain has a virtual IP address, else one catch-all `listen`
 * line per address. The `${…}` tokens are left for the engine's rescan, as in Zimbra.
 */
export function computeListenAddresses(ctx: VarContext): string {
  const addresses = computeDomainData(ctx).listenAddresses;
  if (addresses.length === 0) return '${web.strict.servername}';
  return addresses
    .map(
      (address) =>
        // Zimbra writes an IPv6 address bare (`2001:db8::1:443`), which nginx cannot parse
        // (docs/zimbra-notes.md quirk 5); we bracket it.
        `\${web.strict.servername}    listen                  ${bracketed(address)}:\${web.https.port} default_server;`,
    )
    .join('\n');
}

/** The domain items, listen addresses and CA set; memoized per context. */
export function computeDomainData(ctx: VarContext): DomainData {
  const known = memo.get(ctx);
  if (known !== undefined) return known;
  const data = buildDomainData(ctx);
  memo.set(ctx, data);
  return data;
}

function buildDomainData(ctx: VarContext): DomainData {
  const items: DomainExplodeItem[] = [];
  const listen = new Set<string>();
  const cas = new Set<string>();

  const serverCa = ctx.server.find(CLIENT_CERT_CA);
  addCa(ctx.server, serverCa, cas);

  // Zimbra searches domains only when the per-vhn flag is on (docs/zimbra-notes.md "How the
  // generator collects servers and domains").
  if (isPerVirtualHostname(ctx)) {
    for (const domain of ctx.snapshot.domains) {
      const result = domainItems(ctx, domain);
      if (result === undefined) continue;
      items.push(...result.items);
      for (const address of result.vips) listen.add(address);
      addCa(ctx.readers.readerFor(domain), result.ca, cas);
    }
  }

  const clientCas = [...cas].sort();
  checkClientCaBundle(ctx, clientCas, items);
  return { items, listenAddresses: [...listen].sort(), clientCas };
}

function addCa(reader: EntryReader, found: FoundValues | undefined, cas: Set<string>): void {
  const text = found?.values[0];
  if (text === undefined || text.trim() === '') return;
  // The bundle is a file nginx reads at start-up; anything but PEM certificates fails there.
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    reader.report(
      CLIENT_CERT_CA,
      found,
      text.length > 60 ? `${text.slice(0, 60)}…` : text,
      'is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)',
    );
    return;
  }
  cas.add(text);
}

function checkClientCaBundle(
  ctx: VarContext,
  clientCas: readonly string[],
  items: readonly DomainExplodeItem[],
): void {
  if (clientCas.length > 0) return;
  const serverMode = ctx.server.enumValue(CLIENT_CERT_MODE, 'off');
  const domain = items.find((item) => verifiesClientCert(item.clientCertMode));
  if (!verifiesClientCert(serverMode) && domain === undefined) return;
  const where =
    domain === undefined
      ? `${CLIENT_CERT_MODE} is ${serverMode}`
      : `${CLIENT_CERT_MODE} of domain ${domain.domain} is ${domain.clientCertMode ?? ''}`;
  ctx.problem({
    subject: CLIENT_CERT_CA,
    entry: `server ${entryName(ctx.serverSource)}`,
    message: `client certificate verification is enabled (${where}) but no client certificate CA is configured`,
    hint: `zmprov mcf ${CLIENT_CERT_CA} "$(cat ca.pem)", or zmprov mcf ${CLIENT_CERT_MODE} off`,
  });
}

/** True for the client-certificate modes that make nginx ask for a certificate. */
export function verifiesClientCert(mode: string | undefined): boolean {
  return mode === 'on' || mode === 'optional';
}

interface DomainResult {
  items: DomainExplodeItem[];
  vips: string[];
  ca: FoundValues | undefined;
}

function domainItems(ctx: VarContext, domain: DirectoryEntry): DomainResult | undefined {
  const reader = ctx.readers.readerFor(domain);
  const vhnFound = reader.find('zimbraVirtualHostname');
  if (vhnFound === undefined) return undefined;
  const hasCert = reader.has('zimbraSSLCertificate');
  const hasKey = reader.has('zimbraSSLPrivateKey');
  const modeFound = reader.find(CLIENT_CERT_MODE);
  const ca = reader.find(CLIENT_CERT_CA);
  // Mode and CA are domainInherited, so with the usual global `off` this never skips
  // (docs/zimbra-notes.md quirk 4).
  if (!hasCert && !hasKey && modeFound === undefined && ca === undefined) return undefined;

  // The domain name becomes part of certificate paths: it must be a plain host name.
  const name = reader.hostname('zimbraDomainName', '');
  if (name === '') return undefined;

  const mode = modeFound === undefined ? undefined : reader.enumValue(CLIENT_CERT_MODE, 'off');
  const vipFound = reader.find('zimbraVirtualIPAddress');
  const rawVips = vipFound?.values ?? [];
  const validVips = new Set<string>();
  for (const vip of rawVips) {
    if (ipFamily(vip) === undefined) {
      reader.report('zimbraVirtualIPAddress', vipFound, vip, 'not an IP address');
    } else if (modeMismatch(ctx, vip) === undefined) {
      validVips.add(vip);
    } else {
      reportMismatch(ctx, reader, 'zimbraVirtualIPAddress', vipFound, vip);
    }
  }

  const certDir = ctx.paths.domainCertDir;
  // The domain's files exist only when it has both (src/engine/domain-certs.ts writes the pair,
  // as zmdomaincertmgr does): with one of the two, nginx would load a file never written.
  const ownPair = hasCert && hasKey;
  if (hasCert !== hasKey) {
    ctx.warn({
      code: 'W_DOMAIN_CERT_INCOMPLETE',
      message: `domain ${name} has ${hasCert ? 'zimbraSSLCertificate but no zimbraSSLPrivateKey' : 'zimbraSSLPrivateKey but no zimbraSSLCertificate'}; its virtual hosts use the default certificate`,
      hint: `zmprov md ${name} ${hasCert ? 'zimbraSSLPrivateKey' : 'zimbraSSLCertificate'} "$(cat FILE.pem)"`,
    });
  }
  const common = {
    'ssl.crt': ownPair ? `${certDir}/${name}.crt` : ctx.paths.sslCrtDefault,
    'ssl.key': ownPair ? `${certDir}/${name}.key` : ctx.paths.sslKeyDefault,
    'ssl.clientcertmode': mode ?? ctx.server.enumValue(CLIENT_CERT_MODE, 'off'),
    'ssl.clientcertca':
      ca === undefined ? ctx.paths.clientCaBundle : `${certDir}/${name}.client.ca.crt`,
    // Zimbra leaves the previous domain's value when this domain has no mode (docs/zimbra-notes.md
    // "Per-domain variables"); a domain without a mode does not verify client certificates, so `#`.
    'web.sso.certauth.enabled': enabler(verifiesClientCert(mode)),
    'web.add.headers.vhost': formatResponseHeaders(reader),
  };

  const sni = ctx.server.boolean('zimbraReverseProxySNIEnabled', false);
  const vhns = vhnFound.values;
  const items: DomainExplodeItem[] = [];
  vhns.forEach((vhn, index) => {
    const parsed = parseHostname(vhn);
    if (!parsed.ok) {
      reader.report('zimbraVirtualHostname', vhnFound, vhn, parsed.message);
      return;
    }
    // Pair by the position in the directory's value lists, before sorting.
    const rawVip = rawVips.length === vhns.length ? rawVips[index] : rawVips[0];
    const address =
      rawVip === undefined
        ? resolveVirtualHost(ctx, reader, vhnFound, vhn)
        : validVips.has(rawVip)
          ? { address: rawVip, family: ipFamily(rawVip) ?? 4 }
          : undefined;
    items.push({
      domain: name,
      vhn,
      clientCertMode: mode,
      vars: { vhn, vip: formatVip(address, sni), ...common },
    });
  });
  // Conscious fix: Zimbra keeps directory order; sorted output gives stable diffs.
  items.sort((a, b) => compare(a.vhn, b.vhn));
  return { items, vips: [...validVips], ca };
}

/**
 * The address a virtual host name resolved to before variables were computed. A name the table
 * does not hold is "unknown" (the edge chose not to resolve it); a failed lookup is a warning.
 */
function resolveVirtualHost(
  ctx: VarContext,
  reader: EntryReader,
  found: FoundValues,
  vhn: string,
): ResolvedAddress | undefined {
  const literal = ipFamily(vhn);
  const answer: DnsAnswer | undefined =
    literal === undefined
      ? ctx.dns.get(vhn.toLowerCase())
      : { ok: true, addresses: [{ address: vhn, family: literal }] };
  if (answer === undefined) return undefined;
  const domain = entryName(reader.entry);
  if (!answer.ok) {
    ctx.warn({
      code: 'W_VHOST_UNRESOLVED',
      message: `virtual host name ${vhn} of domain ${domain} does not resolve (${answer.error}); its servers listen on the wildcard address`,
      hint: `fix DNS, or zmprov md ${domain} +zimbraVirtualIPAddress <ip>`,
    });
    return undefined;
  }
  // Zimbra takes the resolver's first address and fails when its family does not fit the IP
  // mode; picking by IP mode (docs/zimbra-notes.md "DNS") avoids failing a dual-stack name in ipv6
  // mode.
  const address = pickAddress(answer.addresses, ctx.ipMode) ?? answer.addresses[0];
  if (address === undefined) return undefined;
  if (modeMismatch(ctx, address.address) !== undefined) {
    reportMismatch(ctx, reader, 'zimbraVirtualHostname', found, vhn, address.address);
    return undefined;
  }
  return address;
}

/** Why an address does not fit serverSource's IP mode, or undefined. */
function modeMismatch(ctx: VarContext, address: string): string | undefined {
  const family = ipFamily(address);
  if (ctx.ipMode === 'ipv4' && family === 6) return 'an IPv6 address';
  if (ctx.ipMode === 'ipv6' && family === 4) return 'an IPv4 address';
  return undefined;
}

function reportMismatch(
  ctx: VarContext,
  reader: EntryReader,
  attributeName: string,
  found: FoundValues | undefined,
  value: string,
  resolved?: string,
): void {
  const what = modeMismatch(ctx, resolved ?? value) ?? 'an address';
  const subject = resolved === undefined ? 'is' : `resolves to ${resolved}, which is`;
  const server = entryName(ctx.serverSource);
  reader.report(
    attributeName,
    found,
    value,
    `${subject} ${what}, but zimbraIPMode of server ${server} is ${ctx.ipMode}`,
    `zmprov ms ${server} zimbraIPMode both, or give the domain an address of the right family`,
  );
}

/** `vip`: `""`/`[::]:` with SNI or an unknown address, else `<ipv4>:` or `[<ipv6>]:`. */
function formatVip(address: ResolvedAddress | undefined, sni: boolean): string {
  if (address === undefined) return '';
  if (sni) return address.family === 6 ? '[::]:' : '';
  return `${bracketed(address.address)}:`;
}

function bracketed(address: string): string {
  return ipFamily(address) === 6 ? `[${address}]` : address;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `add_header` lines from an entry's zimbraReverseProxyResponseHeaders (with its inheritance:
 * a domain falls back to the global config), joined with a newline and a 4-space indent, no
 * trailing newline (docs/zimbra-notes.md "Variables by area", "Multi-line values"). Each value is
 * `Name: value` (a colon and at least one white-space character after the name).
 *
 * Deviation: Zimbra turns a value that does not fit into `add_header X-Zimbra-Unknown-Header
 * <whole value>`; we report it as a Problem, since such a header is never what the admin wanted.
 */
export function formatResponseHeaders(reader: EntryReader): string {
  const found = reader.find(RESPONSE_HEADERS);
  const lines: string[] = [];
  for (const value of found?.values ?? []) {
    const header = parseResponseHeader(value);
    if (!header.ok) {
      reader.report(RESPONSE_HEADERS, found, value, header.message, headerHint(found, value));
      continue;
    }
    lines.push(`add_header ${header.name} ${quoteNginxArgument(header.value)};`);
  }
  return lines.join('\n    ');
}

type ParsedHeader = { ok: true; name: string; value: string } | { ok: false; message: string };

/** Parses one `Name: value` response header. */
export function parseResponseHeader(text: string): ParsedHeader {
  const match = /^([^:]*):\s+(.*)$/s.exec(text);
  if (match === null)
    return { ok: false, message: 'not a response header: use "Name: value" (a space after :)' };
  const name = match[1] ?? '';
  const value = match[2] ?? '';
  const nameParsed = parseHeaderName(name);
  if (!nameParsed.ok) return { ok: false, message: nameParsed.message };
  const why = controlCharacterReason(value);
  if (why !== undefined) return { ok: false, message: `header value ${why}` };
  // The template engine would expand `${…}` inside the value (docs/zimbra-notes.md "`${name}`
  // substitution").
  if (value.includes('${'))
    return { ok: false, message: 'header value contains ${, which the template engine expands' };
  return { ok: true, name, value };
}

function headerHint(found: FoundValues | undefined, value: string): string {
  const from = found?.from;
  const command =
    from === undefined || from.kind === 'globalConfig'
      ? 'zmprov mcf'
      : `zmprov md ${entryName(from)}`;
  return `${command} -${RESPONSE_HEADERS} ${JSON.stringify(value)} +${RESPONSE_HEADERS} "Name: value"`;
}
