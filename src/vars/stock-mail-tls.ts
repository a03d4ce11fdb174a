/**
 * The stock mail TLS chain (docs/mail-tls.md): what nginx's `stream {}` module adds to the mail
 * proxy of the stock template set, as typed data for `nginx.conf.stream.template.hbs` and
 * `nginx.conf.mail.sni.template.hbs`, plus the few variables the plain templates need.
 *
 * - Upstream TLS (zimbraReverseProxySSLToUpstreamEnabled TRUE): one loopback listener per mailbox
 *   server and protocol that re-encrypts towards the server's IMAPS/POP3S port; the lookup
 *   service answers nginx's mail module with it. The addresses come from model/mail-tls-chain.ts,
 *   which the lookup service imports too.
 * - Per-domain certificates (zimbraReverseProxySNIEnabled TRUE and a domain with a certificate of
 *   its own): the public IMAPS/POP3S port belongs to a stream server that reads the TLS server
 *   name without terminating TLS and passes the connection, with the client address in a PROXY
 *   protocol header, to a loopback mail listener holding that name's certificate.
 */
import {
  MAX_SNI_LISTENERS,
  SNI_LISTENER_PORT,
  UPSTREAM_TLS_PORT,
  sniListenerAddress,
  upstreamTlsAddress,
} from '../model/mail-tls-chain.js';
import type { ChainProtocol } from '../model/mail-tls-chain.js';
import { namedPortAttribute } from './upstreams.js';
import { entryName } from '../model/snapshot.js';
import { parseAbsolutePath } from '../model/value-types.js';
import { customVar, enabler } from './define.js';
import { computeDomainData } from './domains.js';
import { computeLookupHandlers } from './lookup.js';
import { hasService } from './server-lists.js';
import { computeModulePath, isSslToUpstream } from './stock.js';
import type { VarContext, VariableDefinition } from './types.js';

/** Localconfig keys of the chain (defaults in localconfig-defaults.ts). */
export const MAIL_TLS_LC = {
  streamModule: 'zmproxy_nginx_stream_module',
  upstreamCaFile: 'zmproxy_mail_upstream_ca_file',
} as const;

const DEFAULT_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** One loopback listener of the upstream-TLS chain. */
export interface UpstreamTlsListener {
  protocol: ChainProtocol;
  /** The mailbox server's zimbraServiceHostname (the name its certificate must carry). */
  server: string;
  /** `127.x.y.z:port`, where the lookup service sends nginx's mail module. */
  listen: string;
  /** `name:port` of the mailbox server's IMAPS/POP3S port. */
  target: string;
}

/** One certificate behind the SNI router, with its loopback mail listener per protocol. */
export interface SniCertificate {
  /** 1 = the default certificate. */
  index: number;
  crt: string;
  key: string;
  /** The virtual host names that get this certificate (none for the default). */
  names: readonly string[];
  imapListen: string;
  pop3Listen: string;
  /** The first domain using it, for comments. */
  domain: string;
}

/** The data of the stream and SNI templates. */
export interface StockMailTls {
  /** The stream module is needed (either part is on). */
  stream: boolean;
  upstream: {
    enabled: boolean;
    /** nginx checks the mailbox servers' certificates against `ca`. */
    verify: boolean;
    ca: string;
    listeners: readonly UpstreamTlsListener[];
  };
  sni: {
    enabled: boolean;
    imaps: boolean;
    pop3s: boolean;
    certificates: readonly SniCertificate[];
    /** `certificates` without the default one (index 1), which the default servers carry. */
    extra: readonly SniCertificate[];
    /** map_hash_max_size and map_hash_bucket_size that hold every mapped name without a warning. */
    mapHash: { maxSize: number; bucketSize: number };
  };
}

const memo = new WeakMap<VarContext, StockMailTls>();

/** The chain's data; memoized per context so that problems are reported once. */
export function computeStockMailTls(ctx: VarContext): StockMailTls {
  const known = memo.get(ctx);
  if (known !== undefined) return known;
  const built = buildStockMailTls(ctx);
  memo.set(ctx, built);
  return built;
}

/** Whether the mail proxy is on: a lookup handler exists and zimbraReverseProxyMailEnabled. */
function mailProxied(ctx: VarContext): boolean {
  return (
    computeLookupHandlers(ctx).length > 0 &&
    ctx.server.boolean('zimbraReverseProxyMailEnabled', true)
  );
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const TLS_PORT_ATTRIBUTE: Readonly<
  Record<ChainProtocol, { via: string; codeDefault: string; port: number; serverEnabled: string }>
> = {
  imap: {
    via: 'zimbraReverseProxyImapSSLPortAttribute',
    codeDefault: 'zimbraImapSSLBindPort',
    port: 993,
    serverEnabled: 'zimbraImapSSLServerEnabled',
  },
  pop3: {
    via: 'zimbraReverseProxyPop3SSLPortAttribute',
    codeDefault: 'zimbraPop3SSLBindPort',
    port: 995,
    serverEnabled: 'zimbraPop3SSLServerEnabled',
  },
};

/**
 * The server attribute holding a protocol's TLS port: the value of the global config's
 * `zimbraReverseProxy{Imap,Pop3}SSLPortAttribute`.
 */
export function tlsPortAttribute(ctx: VarContext, protocol: ChainProtocol): string {
  const { via, codeDefault } = TLS_PORT_ATTRIBUTE[protocol];
  return namedPortAttribute(ctx, via, codeDefault);
}

function buildUpstream(ctx: VarContext, mail: boolean): StockMailTls['upstream'] {
  const ca = ctx.lc.token(MAIL_TLS_LC.upstreamCaFile);
  const enabled = mail && isSslToUpstream(ctx);
  const listeners: UpstreamTlsListener[] = [];
  if (!enabled) return { enabled, verify: false, ca, listeners };
  const imap =
    ctx.server.boolean('zimbraReverseProxyMailImapEnabled', true) ||
    ctx.server.boolean('zimbraReverseProxyMailImapsEnabled', true);
  const pop3 =
    ctx.server.boolean('zimbraReverseProxyMailPop3Enabled', true) ||
    ctx.server.boolean('zimbraReverseProxyMailPop3sEnabled', true);
  const owners = new Map<string, string>();
  for (const server of ctx.servers.all.filter((entry) => hasService(entry, 'mailbox'))) {
    const reader = ctx.readers.readerFor(server);
    const name = reader.token('zimbraServiceHostname', entryName(server));
    if (!HOST_NAME.test(name)) {
      ctx.problem({
        subject: 'zimbraServiceHostname',
        entry: entryName(server),
        message: 'is not a host name, so nginx cannot reach this mailbox server over TLS',
        value: name,
        hint: `zmprov ms ${entryName(server)} zimbraServiceHostname <host name>`,
      });
      continue;
    }
    const address = upstreamTlsAddress(name);
    const owner = owners.get(address);
    if (owner !== undefined && owner.toLowerCase() !== name.toLowerCase()) {
      ctx.problem({
        subject: 'zimbraServiceHostname',
        entry: entryName(server),
        message: `mailbox servers ${owner} and ${name} get the same loopback address ${address} for TLS to the mailbox servers (docs/mail-tls.md)`,
        value: name,
        hint: 'rename one of the two servers, or zmprov ms <proxy> zimbraReverseProxySSLToUpstreamEnabled FALSE',
      });
      continue;
    }
    owners.set(address, name);
    for (const [protocol, on] of [
      ['imap', imap],
      ['pop3', pop3],
    ] as const) {
      if (!on) continue;
      const spec = TLS_PORT_ATTRIBUTE[protocol];
      const port = reader.port(tlsPortAttribute(ctx, protocol), spec.port);
      if (port === 0) continue;
      // The mailbox binds its TLS port only with this on (docs/zimbra-notes.md "The mailbox's own IMAPS and POP3S servers").
      if (!reader.boolean(spec.serverEnabled)) {
        ctx.warn({
          code: 'W_MAILBOX_TLS_SERVER_OFF',
          message: `mailbox server ${name} has ${spec.serverEnabled} FALSE: nothing listens on its port ${port}, where the proxy sends ${protocol === 'imap' ? 'IMAP' : 'POP3'} logins over TLS, so its users cannot log in through the proxy`,
          hint: `zmprov ms ${entryName(server)} ${spec.serverEnabled} TRUE (then restart its mailbox), or zmprov ms <proxy> zimbraReverseProxySSLToUpstreamEnabled FALSE`,
        });
      }
      listeners.push({
        protocol,
        server: name,
        listen: `${address}:${UPSTREAM_TLS_PORT[protocol]}`,
        target: `${name}:${port}`,
      });
    }
  }
  let verify = ca !== '';
  if (verify && !parseAbsolutePath(ca).ok) {
    ctx.problem({
      subject: MAIL_TLS_LC.upstreamCaFile,
      entry: 'localconfig',
      message: 'must be an absolute path (a CA bundle in PEM)',
      value: ca,
      hint: `zmlocalconfig -e ${MAIL_TLS_LC.upstreamCaFile}=/opt/zimbra/conf/ca/ca.pem`,
    });
    verify = false;
  }
  return { enabled, verify, ca, listeners };
}

function buildSni(ctx: VarContext, mail: boolean): StockMailTls['sni'] {
  const imaps = mail && ctx.server.boolean('zimbraReverseProxyMailImapsEnabled', true);
  const pop3s = mail && ctx.server.boolean('zimbraReverseProxyMailPop3sEnabled', true);
  const sni = ctx.server.boolean('zimbraReverseProxySNIEnabled', false);
  const certificate = (index: number, crt: string, key: string, domain: string): SniCertificate => {
    const address = sniListenerAddress(index);
    return {
      index,
      crt,
      key,
      names: [],
      imapListen: `${address}:${SNI_LISTENER_PORT.imap}`,
      pop3Listen: `${address}:${SNI_LISTENER_PORT.pop3}`,
      domain,
    };
  };
  const byFiles = new Map<string, SniCertificate & { names: string[] }>();
  const defaults = {
    ...certificate(1, ctx.paths.sslCrtDefault, ctx.paths.sslKeyDefault, ''),
    names: [],
  };
  byFiles.set(`${defaults.crt}\n${defaults.key}`, defaults);
  if (sni && (imaps || pop3s)) {
    const seen = new Set<string>();
    for (const item of computeDomainData(ctx).items) {
      const crt = item.vars['ssl.crt'] ?? ctx.paths.sslCrtDefault;
      const key = item.vars['ssl.key'] ?? ctx.paths.sslKeyDefault;
      const name = item.vhn.toLowerCase();
      if (seen.has(name)) continue;
      seen.add(name);
      const files = `${crt}\n${key}`;
      let entry = byFiles.get(files);
      if (entry === undefined) {
        if (byFiles.size >= MAX_SNI_LISTENERS) continue;
        entry = { ...certificate(byFiles.size + 1, crt, key, item.domain), names: [] };
        byFiles.set(files, entry);
      }
      // The default certificate's names need no map entry: the map's default is that listener.
      if (entry.index !== 1) entry.names.push(name);
    }
  }
  const certificates = [...byFiles.values()];
  const enabled = sni && (imaps || pop3s) && certificates.length > 1;
  return {
    enabled,
    imaps: enabled && imaps,
    pop3s: enabled && pop3s,
    certificates: enabled ? certificates : [],
    extra: enabled ? certificates.slice(1) : [],
    mapHash: mapHashSizes(enabled ? certificates.flatMap((c) => c.names) : []),
  };
}

/**
 * Hash sizes for maps keyed by these names, sized as the web side's maps (stock-sites.ts): twice
 * the number of names as a power of two, and a bucket that holds two of the longest names;
 * nginx's defaults (2048 and 64) are the floor.
 */
function mapHashSizes(names: readonly string[]): { maxSize: number; bucketSize: number } {
  const longest = names.reduce((max, name) => Math.max(max, name.length), 0);
  const element = Math.ceil((8 + 2 + longest) / 8) * 8;
  const powerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  return {
    maxSize: Math.max(2048, powerOfTwo(names.length * 2)),
    bucketSize: Math.max(64, powerOfTwo(2 * element + 8)),
  };
}

function buildStockMailTls(ctx: VarContext): StockMailTls {
  const mail = mailProxied(ctx);
  const upstream = buildUpstream(ctx, mail);
  const sni = buildSni(ctx, mail);
  return { stream: upstream.enabled || sni.enabled, upstream, sni };
}

function computeStreamModule(ctx: VarContext): string {
  return computeModulePath(ctx, MAIL_TLS_LC.streamModule, DEFAULT_STREAM_MODULE);
}

const sniVar = (protocol: ChainProtocol, on: boolean): VariableDefinition =>
  customVar({
    name: `stock.mail.sni.${protocol}.${on ? 'on' : 'off'}`,
    area: 'stock',
    description: on
      ? `Enables the loopback PROXY-protocol listen line of the default ${protocol.toUpperCase()}S server (the SNI router owns the public port)`
      : `Enables the public listen lines of the default ${protocol.toUpperCase()}S server (no SNI router)`,
    attribute: 'zimbraReverseProxySNIEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: on ? '#' : '',
    compute: (ctx) => {
      const sni = computeStockMailTls(ctx).sni;
      return enabler((protocol === 'imap' ? sni.imaps : sni.pop3s) === on);
    },
  });

export const STOCK_MAIL_TLS_VARIABLES: readonly VariableDefinition[] = [
  customVar({
    name: 'stock.stream.enabled',
    area: 'stock',
    description:
      'Enables the stream module and its include: TLS to the mailbox servers, or IMAPS/POP3S certificates chosen by server name',
    attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(computeStockMailTls(ctx).stream),
  }),
  customVar({
    name: 'stock.stream.module',
    area: 'stock',
    description: 'Absolute path of the dynamic nginx stream module (Debian: libnginx-mod-stream)',
    attribute: MAIL_TLS_LC.streamModule,
    type: 'string',
    source: 'localconfig',
    defaultText: DEFAULT_STREAM_MODULE,
    compute: computeStreamModule,
  }),
  customVar({
    name: 'stock.mail.upstream.tls.enabled',
    area: 'stock',
    description:
      'Enables the X-Zmproxy-Upstream header of auth_http: the lookup service answers with the loopback TLS listeners of the mailbox servers',
    attribute: 'zimbraReverseProxySSLToUpstreamEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(computeStockMailTls(ctx).upstream.enabled),
  }),
  customVar({
    name: 'stock.mail.upstream.tls.verify.enabled',
    area: 'stock',
    description: `Enables verification of the mailbox servers' certificates (localconfig ${MAIL_TLS_LC.upstreamCaFile} set)`,
    attribute: MAIL_TLS_LC.upstreamCaFile,
    type: 'enabler',
    source: 'localconfig',
    defaultText: '#',
    compute: (ctx) => enabler(computeStockMailTls(ctx).upstream.verify),
  }),
  customVar({
    name: 'stock.mail.upstream.tls.ca',
    area: 'stock',
    description: "CA bundle nginx trusts for the mailbox servers' IMAPS/POP3S certificates",
    attribute: MAIL_TLS_LC.upstreamCaFile,
    type: 'string',
    source: 'localconfig',
    defaultText: '',
    compute: (ctx) => computeStockMailTls(ctx).upstream.ca,
  }),
  customVar({
    name: 'stock.mail.sni.enabled',
    area: 'stock',
    description:
      'Enables the include of the per-certificate loopback mail listeners behind the SNI router',
    attribute: 'zimbraReverseProxySNIEnabled',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(computeStockMailTls(ctx).sni.enabled),
  }),
  sniVar('imap', true),
  sniVar('imap', false),
  sniVar('pop3', true),
  sniVar('pop3', false),
  customVar({
    name: 'stock.mail.sni.imap.listen',
    area: 'stock',
    description: 'Loopback address:port of the default IMAPS listener behind the SNI router',
    type: 'string',
    source: 'custom',
    defaultText: `${sniListenerAddress(1)}:${SNI_LISTENER_PORT.imap}`,
    compute: () => `${sniListenerAddress(1)}:${SNI_LISTENER_PORT.imap}`,
  }),
  customVar({
    name: 'stock.mail.sni.pop3.listen',
    area: 'stock',
    description: 'Loopback address:port of the default POP3S listener behind the SNI router',
    type: 'string',
    source: 'custom',
    defaultText: `${sniListenerAddress(1)}:${SNI_LISTENER_PORT.pop3}`,
    compute: () => `${sniListenerAddress(1)}:${SNI_LISTENER_PORT.pop3}`,
  }),
];
