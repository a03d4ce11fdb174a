/**
 * Where nginx's route lookups go and how the lookup service listens: one reading of the
 * `zmproxy_lookup_*` localconfig keys shared by the generator (the stock templates' lookup
 * upstream), `zmproxy lookup` (its listen address and TLS), `zmproxyctl` (whether it runs a local
 * service) and `zmproxy doctor` (what it probes). docs/deployment.md explains the three layouts.
 *
 * - `local` (the default): the lookup service runs on the proxy host, on loopback, plain HTTP,
 *   port 7077 (Zimbra uses 7070 to 7074 and mailboxd owns 7072 on combined hosts).
 * - a list of `host:port`: remote lookup services, over TLS when any of them is off loopback.
 * - `nle`: Zimbra's own lookup extension in mailboxd on every lookup target (the generator's
 *   handler list: zimbraExtensionBindPort, https from Zimbra 8.7 on).
 */
import { hostPort } from './dns.js';
import { ipFamily } from './value-types.js';

/** The localconfig keys of the lookup topology (defaults in localconfig-defaults.ts). */
export const LOOKUP_LC = {
  servers: 'zmproxy_lookup_servers',
  bindAddress: 'zmproxy_lookup_bind_address',
  port: 'zmproxy_lookup_port',
  scheme: 'zmproxy_lookup_scheme',
  tlsCert: 'zmproxy_lookup_tls_cert',
  tlsKey: 'zmproxy_lookup_tls_key',
  caFile: 'zmproxy_lookup_ca_file',
  tlsName: 'zmproxy_lookup_tls_name',
  sharedKey: 'zmproxy_lookup_shared_key',
} as const;

/** The lookup service's port: free of Zimbra's 7070–7074 and of zmproxy's 7078 and 7079. */
export const DEFAULT_LOOKUP_PORT = 7077;

export type LookupScheme = 'http' | 'https';

/** One lookup service nginx connects to. */
export interface LookupEndpoint {
  /** An IP address or a host name. */
  host: string;
  port: number;
}

interface TopologyCommon {
  scheme: LookupScheme;
  /** CA bundle nginx trusts for the services' certificates; '' for none. */
  caFile: string;
  /** Name the services' certificates carry (nginx `proxy_ssl_name`). */
  tlsName: string;
  /** Key nginx sends as X-Zmproxy-Key; '' for none. */
  sharedKey: string;
}

export type LookupTopology =
  | (TopologyCommon & {
      kind: 'local';
      /** Where the local service listens. */
      listen: LookupEndpoint;
      /** Where nginx connects: the listen address, or loopback for a wildcard listen. */
      connect: LookupEndpoint;
      /** Certificate and key of the local service (https); '' for none. */
      tlsCert: string;
      tlsKey: string;
    })
  | (TopologyCommon & { kind: 'remote'; servers: readonly LookupEndpoint[] })
  | (TopologyCommon & { kind: 'nle' });

/** A key whose value cannot be used, with what to do. */
export interface TopologyProblem {
  key: string;
  value: string;
  message: string;
  hint: string;
}

/** Reads a key: the value in localconfig, or the default ('' when none). */
export type LookupKeyReader = (key: string) => string;

/** True for 127.0.0.0/8 and ::1. */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || bare === '::1';
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/** `host:port` or `[ipv6]:port`; undefined when malformed. */
export function parseEndpoint(text: string): LookupEndpoint | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = parsePort(match[3] ?? '');
  if (port === undefined || host === '') return undefined;
  if (match[1] !== undefined && ipFamily(host) !== 6) return undefined;
  return { host, port };
}

/** `host:port` with IPv6 bracketed. */
export function formatEndpoint(endpoint: LookupEndpoint): string {
  const family = ipFamily(endpoint.host);
  return family === undefined
    ? `${endpoint.host}:${endpoint.port}`
    : hostPort({ address: endpoint.host, family }, endpoint.port);
}

/** The base URL of a lookup service (`http://127.0.0.1:7077`). */
export function endpointUrl(scheme: LookupScheme, endpoint: LookupEndpoint): string {
  return `${scheme}://${formatEndpoint(endpoint)}`;
}

const KEY_CHARACTERS = /^[A-Za-z0-9+/=._~-]*$/;

/**
 * Reads the topology from localconfig. Every unusable key is a problem (all at once); the
 * topology returned then holds the defaults for those keys, so callers can go on reporting.
 */
export function readLookupTopology(read: LookupKeyReader): {
  topology: LookupTopology;
  problems: TopologyProblem[];
} {
  const problems: TopologyProblem[] = [];
  const problem = (key: string, value: string, message: string, example: string) =>
    problems.push({ key, value, message, hint: `zmlocalconfig -e ${key}=${example}` });

  const schemeText = read(LOOKUP_LC.scheme) || 'http';
  let scheme: LookupScheme = 'http';
  if (schemeText === 'http' || schemeText === 'https') scheme = schemeText;
  else problem(LOOKUP_LC.scheme, schemeText, 'must be http or https', 'https');

  const sharedKey = read(LOOKUP_LC.sharedKey).trim();
  if (!KEY_CHARACTERS.test(sharedKey)) {
    problem(
      LOOKUP_LC.sharedKey,
      '(hidden)',
      'may hold only letters, digits and + / = . _ ~ - (it is written into nginx strings and HTTP headers)',
      '$(openssl rand -hex 24)',
    );
  }
  const common: TopologyCommon = {
    scheme,
    caFile: read(LOOKUP_LC.caFile).trim(),
    tlsName: read(LOOKUP_LC.tlsName).trim() || 'zmlookup',
    sharedKey: KEY_CHARACTERS.test(sharedKey) ? sharedKey : '',
  };

  const servers = read(LOOKUP_LC.servers).trim() || 'local';
  if (servers === 'nle') return { topology: { ...common, kind: 'nle' }, problems };
  if (servers !== 'local') {
    const endpoints: LookupEndpoint[] = [];
    for (const text of servers.split(/[\s,]+/).filter((s) => s !== '')) {
      const endpoint = parseEndpoint(text);
      if (endpoint === undefined) {
        problem(
          LOOKUP_LC.servers,
          text,
          'each lookup service must be host:port or [ipv6]:port (or the whole value local or nle)',
          `"lookup1.example.com:${DEFAULT_LOOKUP_PORT} lookup2.example.com:${DEFAULT_LOOKUP_PORT}"`,
        );
      } else endpoints.push(endpoint);
    }
    const exposed = endpoints.filter((e) => !isLoopbackAddress(e.host));
    if (scheme === 'http' && exposed.length > 0) {
      problem(
        LOOKUP_LC.scheme,
        scheme,
        `nginx sends users' passwords to the lookup services, and ${exposed.map(formatEndpoint).join(', ')} is not on loopback: use https`,
        'https',
      );
    }
    return { topology: { ...common, kind: 'remote', servers: endpoints }, problems };
  }

  let address = read(LOOKUP_LC.bindAddress).trim() || '127.0.0.1';
  // Left at its default, the local service follows a loopback zmproxy_bind_address, so that
  // proxies on 127.0.0.11, 127.0.0.12, … of one host each have their own.
  const proxyBind = read('zmproxy_bind_address').trim();
  if (address === '127.0.0.1' && proxyBind !== '' && isLoopbackAddress(proxyBind)) {
    address = proxyBind;
  }
  const portText = read(LOOKUP_LC.port).trim() || String(DEFAULT_LOOKUP_PORT);
  const port = parsePort(portText);
  if (port === undefined) {
    problem(
      LOOKUP_LC.port,
      portText,
      'must be a port from 1 to 65535',
      String(DEFAULT_LOOKUP_PORT),
    );
  }
  let host = address;
  if (ipFamily(address) === undefined) {
    problem(LOOKUP_LC.bindAddress, address, 'must be an IP address', '127.0.0.1');
    host = '127.0.0.1';
  }
  const tlsCert = read(LOOKUP_LC.tlsCert).trim();
  const tlsKey = read(LOOKUP_LC.tlsKey).trim();
  if (scheme === 'https' && (tlsCert === '' || tlsKey === '')) {
    problem(
      tlsCert === '' ? LOOKUP_LC.tlsCert : LOOKUP_LC.tlsKey,
      '',
      'the local lookup service speaks https only with a certificate and its key',
      tlsCert === '' ? '/opt/zimbra/conf/zmlookup.crt' : '/opt/zimbra/conf/zmlookup.key',
    );
  }
  if (scheme === 'http' && !isLoopbackAddress(host)) {
    problem(
      LOOKUP_LC.bindAddress,
      address,
      "off loopback the lookup service needs https: nginx sends users' passwords to it",
      '127.0.0.1',
    );
  }
  const listen = { host, port: port ?? DEFAULT_LOOKUP_PORT };
  const wildcard = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : undefined;
  return {
    topology: {
      ...common,
      kind: 'local',
      listen,
      connect: { host: wildcard ?? host, port: listen.port },
      tlsCert,
      tlsKey,
    },
    problems,
  };
}
