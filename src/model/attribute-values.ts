/**
 * The one validator of attribute values, shared by zmprov (what it stores) and the generator
 * (what it reads): what zmprov accepts, the generator renders and nginx loads. A value passes its
 * catalog type (port, integer, boolean, duration, enum…), then, for the attributes that reach
 * nginx configuration, the syntax nginx needs for that attribute. See docs/security.md.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { AttributeSpec } from './attribute-spec.js';
import type { Parsed } from './value-types.js';
import {
  ipFamily,
  parseBoolean,
  parseDuration,
  parseEnum,
  parseHeaderName,
  parseHostname,
  parseInteger,
  parseIpOrCidr,
  parseMemory,
  parsePort,
} from './value-types.js';

const fail = (message: string): Parsed<string> => ({ ok: false, message });
const pass = (value: string): Parsed<string> => ({ ok: true, value });

/**
 * The longest single-line value that reaches nginx. nginx reads a configuration through a
 * 4 KiB buffer and refuses a longer token ("too long parameter"); our templates put several
 * values on one line, so each stays well below that.
 */
export const MAX_NGINX_VALUE_LENGTH = 1024;

/** PEM text (certificates, keys) may be long, but not unbounded. */
const MAX_PEM_LENGTH = 256 * 1024;

/**
 * Checks one value of `spec`; returns the value to store (an enum value in the catalog's
 * spelling) or what is wrong with it.
 */
export function validateAttributeValue(spec: AttributeSpec, value: string): Parsed<string> {
  const multiLine = spec.type === 'astring' && PEM_SYNTAX.has(spec.name);
  const control = controlReason(value, multiLine);
  if (control !== undefined) return fail(control);
  if (spec.maxLength !== undefined && value.length > spec.maxLength) {
    return fail(`is longer than ${spec.maxLength} characters`);
  }
  const typed = checkType(spec, value);
  if (!typed.ok) return typed;
  if (!spec.usedBy.includes('PCG') && spec.type !== 'id') return typed;
  // Values the generator places in nginx configuration.
  if (value.includes('$')) {
    return fail(
      'contains $, which nginx would expand as a variable (nginx has no escape for it in most directives)',
    );
  }
  if (!multiLine && value.length > MAX_NGINX_VALUE_LENGTH) {
    return fail(
      `is longer than ${MAX_NGINX_VALUE_LENGTH} characters, more than nginx reads as one value`,
    );
  }
  const syntax = SYNTAX[spec.name];
  if (syntax === undefined) return typed;
  const checked = syntax(typed.value);
  return checked.ok ? typed : checked;
}

function checkType(spec: AttributeSpec, value: string): Parsed<string> {
  const asText = <T>(parsed: Parsed<T>): Parsed<string> =>
    parsed.ok ? pass(value) : fail(parsed.message);
  switch (spec.type) {
    case 'port':
      return asText(parsePort(value));
    case 'integer':
    case 'long':
      return asText(parseInteger(value, spec.min, spec.max));
    case 'boolean':
      return asText(parseBoolean(value));
    case 'duration': {
      const parsed = parseDuration(value);
      if (!parsed.ok) return fail(parsed.message);
      if (spec.min !== undefined && parsed.value < spec.min * 1000) {
        return fail(`must be at least ${spec.min}s`);
      }
      return pass(value);
    }
    case 'enum': {
      const parsed = parseEnum(value, spec.values ?? []);
      return parsed.ok ? pass(parsed.value) : fail(parsed.message);
    }
    case 'email':
      return value.includes('@') ? pass(value) : fail('not an email address (local@domain)');
    case 'id':
      return UUID.test(value) ? pass(value) : fail('not a zimbraId (a UUID such as 4f1c…-…)');
    case 'string':
    case 'astring':
      return pass(value);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// eslint-disable-next-line no-control-regex -- control characters are what we refuse
const MULTI_LINE_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- control characters are what we refuse
const SINGLE_LINE_FORBIDDEN = /[\u0000-\u001f\u007f]/;

/**
 * Why a value holds characters no attribute of its type may hold. Certificates and keys are
 * multi-line PEM text, so they may hold line breaks and tabs; nothing else may.
 */
function controlReason(value: string, multiLine: boolean): string | undefined {
  if (value.includes('\uFFFD')) return 'contains U+FFFD, the mark of text that was not UTF-8';
  const pattern = multiLine ? MULTI_LINE_FORBIDDEN : SINGLE_LINE_FORBIDDEN;
  if (!pattern.test(value)) return undefined;
  return /[\r\n]/.test(value) && !multiLine
    ? 'contains a line break'
    : 'contains a control character';
}

type Syntax = (value: string) => Parsed<string>;

const hostname: Syntax = (value) => {
  const parsed = parseHostname(value);
  return parsed.ok ? pass(value) : fail(`${parsed.message} (letters, digits, - and dots; no *)`);
};

const domainName: Syntax = (value) => {
  if (ipFamily(value) !== undefined) return fail('is an IP address, not a domain name');
  return hostname(value);
};

const ipAddress: Syntax = (value) =>
  ipFamily(value) === undefined ? fail('not an IP address') : pass(value);

const ipOrCidr: Syntax = (value) => {
  const parsed = parseIpOrCidr(value);
  return parsed.ok ? pass(value) : fail(parsed.message);
};

/** `Name: value`: a header name, a colon, white space, then a value without quotes' troubles. */
const responseHeader: Syntax = (value) => {
  const match = /^([^:]*):\s+(.*)$/s.exec(value);
  if (match === null) return fail('not a response header: use "Name: value" (a space after :)');
  const name = parseHeaderName(match[1] ?? '');
  if (!name.ok) return fail(name.message);
  if ((match[2] ?? '').trim() === '') return fail('has an empty header value');
  return pass(value);
};

/** An IMAP or POP3 capability: printable ASCII words, nothing that ends a quoted string. */
const capability: Syntax = (value) => {
  if (!/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(value)) {
    return fail('not a capability (printable words separated by single spaces)');
  }
  if (/["\\;{}]/.test(value)) return fail('contains a quote, backslash, ; { or }');
  return pass(value);
};

/** What nginx's `ssl_ciphers` hands to OpenSSL's SSL_CTX_set_cipher_list. */
const cipherList: Syntax = (value) => {
  if (!/^[A-Za-z0-9!+@=_:,.-]+$/.test(value)) {
    return fail('not an OpenSSL cipher list (names and keywords joined by :, with ! + - @)');
  }
  // TLS 1.3 suites are not set by ssl_ciphers: a list of nothing else matches no cipher.
  const legacy = value
    .split(/[:,]/)
    .filter((name) => name !== '' && !/^TLS_/.test(name))
    .join(':');
  if (legacy === '') return fail('names only TLS 1.3 suites, which nginx ssl_ciphers does not set');
  return openSslAccepts({ ciphers: legacy }, 'OpenSSL matches no cipher in this list');
};

/** What nginx's `ssl_ecdh_curve` hands to OpenSSL's SSL_CTX_set1_curves_list. */
const curveList: Syntax = (value) => {
  if (value === 'auto') return pass(value);
  if (!/^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)*$/.test(value)) {
    return fail('not a curve list (curve names joined by :)');
  }
  return openSslAccepts({ ecdhCurve: value }, 'OpenSSL does not know one of these curves');
};

function openSslAccepts(
  options: { ciphers?: string; ecdhCurve?: string },
  message: string,
): Parsed<string> {
  try {
    createSecureContext(options);
    return pass(options.ciphers ?? options.ecdhCurve ?? '');
  } catch {
    return fail(message);
  }
}

const SSL_PROTOCOLS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const sslProtocol: Syntax = (value) =>
  SSL_PROTOCOLS.some((known) => known.toLowerCase() === value.toLowerCase())
    ? pass(value)
    : fail(`must be one of ${SSL_PROTOCOLS.join(', ')}`);

/** A local URL path nginx can redirect errors to: `/` then path characters, no query. */
const urlPath: Syntax = (value) =>
  /^\/[A-Za-z0-9._~%/+,=:@!-]*$/.test(value)
    ? pass(value)
    : fail('not a URL path: start with / and use letters, digits and . _ ~ % / + , = : @ ! -');

const nginxSize: Syntax = (value) =>
  /^\d{1,9}[kKmMgG]?$/.test(value) && parseMemory(value).ok
    ? pass(value)
    : fail('not an nginx size: use digits with an optional k, m or g');

/** Whole PEM blocks of one label, each parsed by OpenSSL (`BEGIN CERTIFICATE` alone is not enough). */
function pemBlocks(value: string, label: RegExp): string[] | undefined {
  if (value.length > MAX_PEM_LENGTH) return undefined;
  const blocks = [
    ...value.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----/g),
  ];
  const rest = value.replace(
    /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1-----/g,
    '',
  );
  if (blocks.length === 0 || rest.trim() !== '') return undefined;
  if (!blocks.every((block) => label.test(block[1] ?? ''))) return undefined;
  return blocks.map((block) => block[0]);
}

const certificates: Syntax = (value) => {
  const blocks = pemBlocks(value, /^(TRUSTED )?CERTIFICATE$/);
  if (blocks === undefined) return fail('not PEM certificates (only BEGIN/END CERTIFICATE blocks)');
  try {
    for (const block of blocks) new X509Certificate(block);
  } catch {
    return fail('holds a certificate OpenSSL cannot read');
  }
  return pass(value);
};

const privateKey: Syntax = (value) => {
  const blocks = pemBlocks(value, /^((RSA|EC) )?PRIVATE KEY$/);
  if (blocks?.length !== 1) return fail('not one PEM private key');
  try {
    createPrivateKey(value);
  } catch {
    return fail('holds a private key OpenSSL cannot read (or one with a passphrase)');
  }
  return pass(value);
};

const PEM_SYNTAX = new Set([
  'zimbraSSLCertificate',
  'zimbraSSLPrivateKey',
  'zimbraReverseProxyClientCertCA',
]);

/** The syntax of each attribute that reaches nginx beyond its catalog type. */
const SYNTAX: Readonly<Record<string, Syntax>> = {
  zimbraDomainName: domainName,
  zimbraServiceHostname: hostname,
  zimbraVirtualHostname: hostname,
  zimbraVirtualIPAddress: ipAddress,
  zimbraReverseProxyXmppBoshHostname: hostname,
  zimbraDocumentServerHost: hostname,
  zimbraReverseProxyUpstreamLoginServers: hostname,
  zimbraReverseProxyUpstreamEwsServers: hostname,
  zimbraReverseProxyAvailableLookupTargets: hostname,
  zimbraReverseProxyIPThrottleWhitelist: ipOrCidr,
  zimbraReverseProxyResponseHeaders: responseHeader,
  zimbraReverseProxyImapEnabledCapability: capability,
  zimbraReverseProxyPop3EnabledCapability: capability,
  zimbraReverseProxySSLCiphers: cipherList,
  zimbraReverseProxySSLECDHCurve: curveList,
  zimbraReverseProxySSLProtocols: sslProtocol,
  zimbraReverseProxyErrorHandlerURL: urlPath,
  zimbraReverseProxySSLSessionCacheSize: nginxSize,
  zimbraSSLCertificate: certificates,
  zimbraReverseProxyClientCertCA: certificates,
  zimbraSSLPrivateKey: privateKey,
};
