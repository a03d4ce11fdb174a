import { describe, expect, it } from 'vitest';
import { attribute } from '../../../src/model/attribute-catalog.js';
import { validateAttributeValue } from '../../../src/model/attribute-values.js';
import { planAttributeChanges, parseAttributeEdits } from '../../../src/prov/attribute-edits.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';
import { CERT_A, CERT_B, KEY_A } from '../../helpers/pem.js';

const valid = (name: string, value: string) => validateAttributeValue(attribute(name), value).ok;

/** What a security review found zmprov storing and the generator (or nginx) refusing. */
const REFUSED: readonly [string, string][] = [
  ['zimbraReverseProxyIPThrottleWhitelist', '10.0.0.0/33'],
  ['zimbraReverseProxyIPThrottleWhitelist', ':::'],
  ['zimbraReverseProxyIPThrottleWhitelist', '1:2:3:4:5:6:7::'],
  ['zimbraReverseProxyResponseHeaders', 'X-A:b'],
  ['zimbraReverseProxyResponseHeaders', 'X-Debug: $http_cookie'],
  ['zimbraVirtualHostname', '*.example.com'],
  ['zimbraSSLCertificate', '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n'],
  ['zimbraReverseProxyClientCertCA', 'garbage -----BEGIN CERTIFICATE----- garbage'],
  ['zimbraSSLPrivateKey', CERT_A],
  ['zimbraReverseProxyDefaultRealm', 'EXAMPLE${x}'],
  ['zimbraReverseProxyErrorHandlerURL', '/x$nosuch'],
  ['zimbraReverseProxyErrorHandlerURL', 'https://errors.example.com/'],
  ['zimbraReverseProxyErrorHandlerURL', '/x?a=b&c'],
  ['zimbraReverseProxySSLCiphers', 'HIGH$x'],
  ['zimbraReverseProxySSLCiphers', 'NOSUCHCIPHER'],
  ['zimbraReverseProxySSLECDHCurve', 'nosuchcurve'],
  ['zimbraReverseProxyImapEnabledCapability', 'A'.repeat(70_000)],
  ['zimbraId', '/ZZINJ(.*|'],
  ['zimbraReverseProxySSLProtocols', 'TLSv9'],
];

const ACCEPTED: readonly [string, string][] = [
  ['zimbraReverseProxyIPThrottleWhitelist', '10.0.0.0/8'],
  ['zimbraReverseProxyIPThrottleWhitelist', '2001:db8::/32'],
  ['zimbraReverseProxyResponseHeaders', 'X-Frame-Options: SAMEORIGIN'],
  ['zimbraVirtualHostname', 'mail.example.com'],
  ['zimbraSSLCertificate', `${CERT_A}\n${CERT_B}\n`],
  ['zimbraSSLPrivateKey', KEY_A],
  ['zimbraReverseProxyErrorHandlerURL', '/service/error'],
  ['zimbraReverseProxySSLCiphers', 'ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL:!MD5'],
  ['zimbraReverseProxySSLECDHCurve', 'prime256v1:secp384r1'],
  ['zimbraId', 'f0b3a2c1-1234-4abc-9def-0123456789ab'],
  ['zimbraReverseProxyImapEnabledCapability', 'LITERAL+'],
  // Not read by the generator: the lookup service expands ${USER} itself.
  ['zimbraReverseProxyMailHostQuery', '(zimbraMailDeliveryAddress=${USER})'],
];

describe('validateAttributeValue', () => {
  it.each(REFUSED)('refuses %s %j', (name, value) => {
    expect(valid(name, value)).toBe(false);
  });

  it.each(ACCEPTED)('accepts %s %j', (name, value) => {
    expect(valid(name, value)).toBe(true);
  });

  it('is what zmprov and the generator both apply', () => {
    const [name, value] = ['zimbraReverseProxyIPThrottleWhitelist', ':::'];
    const stored = planAttributeChanges(
      server('p1'),
      parseAttributeEdits([`+${name}`, value], 'ms'),
    );
    expect(stored.ok).toBe(false);
    const handle = context({
      snapshot: snapshot({
        globalConfig: globalConfig(),
        servers: [server('p1', { [name]: value })],
      }),
    });
    expect(handle.ctx.server.list(name)).toEqual([]);
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: name, value, entry: 'server p1' }),
    ]);
    expect(stored.ok ? '' : stored.problems[0]?.message).toBe(handle.problems[0]?.message);
  });
});
