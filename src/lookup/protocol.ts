/**
 * The contract between nginx and the lookup service, in one place: the paths nginx calls, the
 * header names of requests and answers, the texts a client may see, how an answer is made safe
 * to send, and which parts of a web request the nginx route cache keys on (so that the service
 * decides only from what the key holds). The templates (nginx.conf.mail, nginx.conf.web,
 * nginx.conf.web.route) and the service both follow it; test/unit/lookup/protocol.test.ts checks
 * the templates against it. docs/zimbra-nginx-lookup.md explains where each rule comes from.
 */

/** Where the lookup service answers nginx's `auth_http` requests: the NLE's own path. */
export const STOCK_LOOKUP_PATH = '/service/extension/nginx-lookup';

/** Where the lookup service answers the web `auth_request` route lookups. */
export const STOCK_ROUTE_PATH = '/service/extension/zmproxy-route';

/** Liveness and metrics paths of the service. */
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';

/** Request header names, lower case as node:http gives them. */
export const REQUEST_HEADER = {
  method: 'auth-method',
  user: 'auth-user',
  pass: 'auth-pass',
  protocol: 'auth-protocol',
  attempt: 'auth-login-attempt',
  clientIp: 'client-ip',
  proxyIp: 'x-proxy-ip',
  ssl: 'auth-ssl',
  sharedKey: 'x-zmproxy-key',
  originalUri: 'x-original-uri',
  cookie: 'cookie',
  authorization: 'authorization',
  host: 'host',
} as const;

/** Answer header names. */
export const ANSWER_HEADER = {
  status: 'Auth-Status',
  server: 'Auth-Server',
  port: 'Auth-Port',
  user: 'Auth-User',
  wait: 'Auth-Wait',
  route: 'X-Zmproxy-Route',
} as const;

/**
 * What a failed login tells the client: stock nginx relays the Auth-Status text (`NO LOGIN
 * failed`, `-ERR LOGIN failed`). Unknown users, wrong passwords and refused accounts all get it,
 * so that a client cannot tell which names exist.
 */
export const LOGIN_FAILED = 'LOGIN failed';
/** The temporary failure (directory down, no route known): the client may retry. */
export const TEMPORARILY_UNAVAILABLE = 'Login service temporarily unavailable';

/** Web route answers: a route, no route (nginx goes round robin), or a refused client. */
export const WEB_STATUS = { route: 200, noRoute: 204, refused: 403, badKey: 401 } as const;

// eslint-disable-next-line no-control-regex -- control characters are what is replaced
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f]/g;

/** Line breaks and other control characters (tab aside) replaced by spaces. */
export function stripControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ');
}

/**
 * A header value as node:http can send it and nginx reads it: UTF-8 text carried byte for byte
 * (node:http writes header strings as Latin-1), control characters replaced by spaces. A
 * throttle message from LDAP with an en dash, or a cached value with a line break, would
 * otherwise throw in writeHead or split the answer. Applied once, by the HTTP edge.
 */
export function sanitizeAnswerValue(value: string): string {
  return Buffer.from(stripControlCharacters(value), 'utf8').toString('latin1');
}

/** {@link sanitizeAnswerValue} over every header of an answer. */
export function sanitizeAnswerHeaders(
  headers: Readonly<Record<string, string>>,
): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) safe[name] = sanitizeAnswerValue(value);
  return safe;
}

/**
 * The parts of a request URI that the web route cache key holds, as nginx `map` regexes of
 * `$request_uri` (nginx.conf.web.template, `$zmproxy_route_path`): a URI matching one of them is
 * in the key whole; any other URI is keyed as "". The classifier sees the URI only through
 * {@link routeKeyedUri}, so two requests with one key always get one decision. `~*` is
 * case-insensitive, `~` case-sensitive, as in nginx.
 */
export const ROUTE_KEYED_URIS: readonly { readonly match: '~' | '~*'; readonly regex: string }[] = [
  // REST (/home/, /service/home/) and CalDAV/CardDAV (/dav/, /principals/users/) name the user.
  { match: '~*', regex: '^/(service/)?home/' },
  { match: '~*', regex: '^/(dav|principals)/' },
  // ActiveSync: the user of basic auth, or the User query argument.
  { match: '~*', regex: '^/Microsoft-Server-ActiveSync' },
  // An auth token in the query, on any path.
  { match: '~', regex: '[?&]zauthtoken=' },
];

const KEYED_URI_TESTS = ROUTE_KEYED_URIS.map(
  ({ match, regex }) => new RegExp(regex, match === '~*' ? 'i' : ''),
);

/** The URI as the web route cache key holds it: the URI when it may name a user, else "". */
export function routeKeyedUri(uri: string): string {
  return KEYED_URI_TESTS.some((test) => test.test(uri)) ? uri : '';
}
