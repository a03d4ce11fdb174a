/**
 * Variables of the ssl area (docs/zimbra-notes.md "Variables by area"): TLS protocols, ciphers and
 * curves of the mail and web servers, session cache, default certificate paths, client-certificate
 * defaults and the Diffie-Hellman parameters file.
 */
import { attribute } from '../model/attribute-catalog.js';
import { attrVar, constVar, customVar, enabler, onOff } from './define.js';
import { computeClientCaBundle } from './domains.js';
import type { VarContext, VariableDefinition } from './types.js';

/**
 * ProxyConfGen's code default of zimbraReverseProxySSLProtocols (the LDAP default is shorter,
 * docs/zimbra-notes.md "Code defaults that differ from LDAP defaults").
 */
const DEFAULT_SSL_PROTOCOLS: readonly string[] =
  attribute('zimbraReverseProxySSLProtocols').codeDefault ?? [];

/** The protocol names nginx's ssl_protocols accepts, as nginx spells them. */
const NGINX_SSL_PROTOCOLS: readonly string[] = [
  'SSLv2',
  'SSLv3',
  'TLSv1',
  'TLSv1.1',
  'TLSv1.2',
  'TLSv1.3',
];

/** ProxyConfGen's code default of zimbraReverseProxySSLCiphers: the LDAP list without TLS_AES_256_GCM_SHA384. */
export const DEFAULT_SSL_CIPHERS = [
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-DSS-AES128-GCM-SHA256',
  'kEDH+AESGCM',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES128-SHA',
  'DHE-DSS-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'DHE-DSS-AES256-SHA',
  'DHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128',
  'AES256',
  'HIGH',
  '!aNULL',
  '!eNULL',
  '!EXPORT',
  '!DES',
  '!MD5',
  '!PSK',
  '!RC4',
].join(':');

const SSL_PROTOCOLS = 'zimbraReverseProxySSLProtocols';
const SESSION_CACHE_SIZE = 'zimbraReverseProxySSLSessionCacheSize';
/** nginx sizes: digits with an optional k/m/g (nginx does not read `kb`/`mb`). */
const NGINX_SIZE = /^\d+[kmg]?$/i;

/**
 * serverSource's zimbraReverseProxySSLProtocols (code default when empty), each as ` <proto>`.
 * A name nginx does not know is a Problem and left out.
 */
export function computeSslProtocols(ctx: VarContext): string {
  const found = ctx.server.find(SSL_PROTOCOLS);
  const values = found?.values ?? DEFAULT_SSL_PROTOCOLS;
  let text = '';
  for (const value of values) {
    const known = NGINX_SSL_PROTOCOLS.find((p) => p.toLowerCase() === value.toLowerCase());
    if (known === undefined) {
      ctx.server.report(
        SSL_PROTOCOLS,
        found,
        value,
        `not a protocol nginx knows (${NGINX_SSL_PROTOCOLS.join(', ')})`,
      );
    } else {
      text += ` ${known}`;
    }
  }
  return text;
}

/** `shared:SSL:<size>` from zimbraReverseProxySSLSessionCacheSize (code default `10m`). */
export function computeSessionCacheSize(ctx: VarContext): string {
  const size = ctx.server.token(SESSION_CACHE_SIZE, '10m');
  if (NGINX_SIZE.test(size)) return `shared:SSL:${size}`;
  ctx.server.report(
    SESSION_CACHE_SIZE,
    ctx.server.find(SESSION_CACHE_SIZE),
    size,
    'not an nginx size: use digits with an optional k, m or g',
  );
  return 'shared:SSL:10m';
}

const protocolsVar = (name: string, description: string) =>
  customVar({
    name,
    area: 'ssl',
    description,
    attribute: SSL_PROTOCOLS,
    source: 'server',
    defaultText: DEFAULT_SSL_PROTOCOLS.map((p) => ` ${p}`).join(''),
    compute: computeSslProtocols,
  });

const ciphersVar = (name: string, description: string) =>
  attrVar({
    name,
    area: 'ssl',
    description,
    attribute: 'zimbraReverseProxySSLCiphers',
    type: 'string',
    // Read from the global config only: a server-level value is ignored, as in Zimbra
    // (docs/zimbra-notes.md quirk 3).
    source: 'config',
    defaultValue: DEFAULT_SSL_CIPHERS,
  });

const curveVar = (name: string, description: string) =>
  attrVar({
    name,
    area: 'ssl',
    description,
    attribute: 'zimbraReverseProxySSLECDHCurve',
    type: 'string',
    source: 'config',
    defaultValue: 'prime256v1',
  });

export const SSL_VARIABLES: readonly VariableDefinition[] = [
  constVar(
    'mail.ssl.preferserverciphers',
    'ssl',
    'Mail servers prefer their own cipher order (ssl_prefer_server_ciphers)',
    onOff(true),
    { type: 'boolean' },
  ),
  protocolsVar('mail.ssl.protocols', 'TLS protocols the mail servers accept'),
  ciphersVar('mail.ssl.ciphers', 'OpenSSL cipher list of the mail servers'),
  curveVar('mail.ssl.ecdh.curve', 'Elliptic curve(s) for ECDHE key exchange on the mail servers'),
  protocolsVar(
    'web.ssl.protocols',
    'TLS protocols the web servers accept and use towards upstreams',
  ),
  constVar(
    'web.ssl.preferserverciphers',
    'ssl',
    'Web servers prefer their own cipher order (ssl_prefer_server_ciphers)',
    onOff(true),
    { type: 'boolean' },
  ),
  ciphersVar('web.ssl.ciphers', 'OpenSSL cipher list of the web servers and towards upstreams'),
  curveVar('web.ssl.ecdh.curve', 'Elliptic curve(s) for ECDHE key exchange on the web servers'),
  customVar({
    name: 'ssl.session.cachesize',
    area: 'ssl',
    description: 'Shared TLS session cache (ssl_session_cache shared:SSL:<size>)',
    attribute: SESSION_CACHE_SIZE,
    source: 'server',
    defaultText: 'shared:SSL:10m',
    compute: computeSessionCacheSize,
  }),
  attrVar({
    name: 'ssl.session.timeout',
    area: 'ssl',
    description: 'Seconds a TLS session may be resumed (ssl_session_timeout)',
    attribute: 'zimbraReverseProxySSLSessionTimeout',
    type: 'time-seconds',
    source: 'server',
    defaultValue: 600,
  }),
  constVar(
    'ssl.crt.default',
    'ssl',
    'Certificate of the default servers (follows -w, unlike Zimbra)',
    (ctx) => ctx.paths.sslCrtDefault,
  ),
  constVar(
    'ssl.key.default',
    'ssl',
    'Private key of the default servers (follows -w, unlike Zimbra)',
    (ctx) => ctx.paths.sslKeyDefault,
  ),
  attrVar({
    name: 'ssl.clientcertmode.default',
    area: 'ssl',
    description: 'Client-certificate verification of the default servers (ssl_verify_client)',
    attribute: 'zimbraReverseProxyClientCertMode',
    type: 'enum',
    source: 'server',
    defaultValue: 'off',
  }),
  // Zimbra names zimbraReverseProxyClientCertDepth here, which does not exist
  // (docs/zimbra-notes.md quirk 23).
  constVar(
    'ssl.clientcertdepth.default',
    'ssl',
    'Maximum client-certificate chain depth (ssl_verify_depth)',
    '10',
    { type: 'integer' },
  ),
  customVar({
    name: 'ssl.clientcertca.enabled',
    area: 'ssl',
    description: 'Enables ssl_client_certificate when a client-certificate CA bundle exists',
    attribute: 'zimbraReverseProxyClientCertCA',
    type: 'enabler',
    source: 'server',
    defaultText: '#',
    compute: (ctx) => enabler(computeClientCaBundle(ctx).trim() !== ''),
  }),
  constVar(
    'ssl.clientcertca.default',
    'ssl',
    'Client-certificate CA bundle file (follows -w, unlike Zimbra)',
    (ctx) => ctx.paths.clientCaBundle,
  ),
  constVar(
    'web.ssl.dhparam.file',
    'ssl',
    'Diffie-Hellman parameters file (follows -w, unlike Zimbra)',
    (ctx) => ctx.paths.dhparamFile,
  ),
  customVar({
    name: 'web.ssl.dhparam.enabled',
    area: 'ssl',
    description: 'Enables ssl_dhparam when the Diffie-Hellman parameters file exists',
    type: 'enabler',
    source: 'none',
    defaultText: '#',
    compute: (ctx) => enabler(ctx.facts.dhparamExists),
  }),
];
