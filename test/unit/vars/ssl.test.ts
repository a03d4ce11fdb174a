import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import { context, domain, globalConfig, server, snapshot } from '../../helpers/builders.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import type { VarContextHandle } from '../../../src/vars/context.js';
import { DEFAULT_SSL_CIPHERS, SSL_VARIABLES } from '../../../src/vars/ssl.js';
import { CERT_A } from '../../helpers/pem.js';

const CA = CERT_A;

function setup(
  options: {
    proxy?: Attrs;
    gc?: Attrs;
    domains?: DirectoryEntry[];
    workdir?: string;
    dhparamExists?: boolean;
  } = {},
): VarContextHandle {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig(options.gc),
      servers: [server('proxy', options.proxy)],
      domains: options.domains ?? [],
    }),
    workdir: options.workdir,
    dhparamExists: options.dhparamExists,
  });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = SSL_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

describe('ssl variables', () => {
  it('always prefers the server cipher order', () => {
    expect(value(setup(), 'mail.ssl.preferserverciphers')).toBe('on');
    expect(value(setup(), 'web.ssl.preferserverciphers')).toBe('on');
  });

  it.each(['mail.ssl.protocols', 'web.ssl.protocols'])(
    '%s uses the code default list when the attribute is unset',
    (name) => {
      expect(value(setup(), name)).toBe(' TLSv1 TLSv1.1 TLSv1.2 TLSv1.3');
    },
  );

  it('writes each configured protocol with a leading space, server value first', () => {
    const handle = setup({
      gc: { zimbraReverseProxySSLProtocols: ['TLSv1.2', 'TLSv1.3'] },
      proxy: { zimbraReverseProxySSLProtocols: ['tlsv1.3'] },
    });
    expect(value(handle, 'web.ssl.protocols')).toBe(' TLSv1.3');
  });

  it('reports a protocol nginx does not know and leaves it out', () => {
    const handle = setup({ gc: { zimbraReverseProxySSLProtocols: ['TLSv1.2', 'TLSv9'] } });
    expect(value(handle, 'mail.ssl.protocols')).toBe(' TLSv1.2');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraReverseProxySSLProtocols', value: 'TLSv9' }),
    ]);
  });

  it.each(['mail.ssl.ciphers', 'web.ssl.ciphers'])(
    '%s reads the global config only and defaults to the code list',
    (name) => {
      expect(value(setup(), name)).toBe(DEFAULT_SSL_CIPHERS);
      expect(DEFAULT_SSL_CIPHERS).not.toContain('TLS_AES_256_GCM_SHA384');
      const handle = setup({
        gc: { zimbraReverseProxySSLCiphers: 'HIGH:!aNULL' },
        proxy: { zimbraReverseProxySSLCiphers: 'ignored' },
      });
      expect(value(handle, name)).toBe('HIGH:!aNULL');
    },
  );

  it('reports a cipher list that would break the directive', () => {
    const handle = setup({ gc: { zimbraReverseProxySSLCiphers: 'HIGH; include x' } });
    expect(value(handle, 'web.ssl.ciphers')).toBe(DEFAULT_SSL_CIPHERS);
    expect(handle.problems).toHaveLength(1);
  });

  it.each(['mail.ssl.ecdh.curve', 'web.ssl.ecdh.curve'])('%s defaults to prime256v1', (name) => {
    expect(value(setup(), name)).toBe('prime256v1');
    expect(
      value(setup({ gc: { zimbraReverseProxySSLECDHCurve: 'X25519:prime256v1' } }), name),
    ).toBe('X25519:prime256v1');
  });

  it('writes the session cache as shared:SSL:<size>', () => {
    expect(value(setup(), 'ssl.session.cachesize')).toBe('shared:SSL:10m');
    expect(
      value(
        setup({ proxy: { zimbraReverseProxySSLSessionCacheSize: '50m' } }),
        'ssl.session.cachesize',
      ),
    ).toBe('shared:SSL:50m');
  });

  it('reports a session cache size nginx cannot read', () => {
    const handle = setup({ proxy: { zimbraReverseProxySSLSessionCacheSize: '10MB' } });
    expect(value(handle, 'ssl.session.cachesize')).toBe('shared:SSL:10m');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraReverseProxySSLSessionCacheSize', value: '10MB' }),
    ]);
  });

  it('writes the session timeout in seconds (600 when unset everywhere)', () => {
    expect(value(setup(), 'ssl.session.timeout')).toBe('600');
    expect(
      value(setup({ gc: { zimbraReverseProxySSLSessionTimeout: '10m' } }), 'ssl.session.timeout'),
    ).toBe('600');
    expect(
      value(setup({ proxy: { zimbraReverseProxySSLSessionTimeout: '1h' } }), 'ssl.session.timeout'),
    ).toBe('3600');
  });

  it('puts the default certificate, key, CA bundle and dhparam file under the -w work directory', () => {
    const handle = setup({ workdir: '/srv/zimbra' });
    expect(value(handle, 'ssl.crt.default')).toBe('/srv/zimbra/conf/nginx.crt');
    expect(value(handle, 'ssl.key.default')).toBe('/srv/zimbra/conf/nginx.key');
    expect(value(handle, 'ssl.clientcertca.default')).toBe('/srv/zimbra/conf/nginx.client.ca.crt');
    expect(value(handle, 'web.ssl.dhparam.file')).toBe('/srv/zimbra/conf/dhparam.pem');
  });

  it('reads the default client-cert mode (off) and fixes the depth at 10', () => {
    expect(value(setup(), 'ssl.clientcertmode.default')).toBe('off');
    expect(
      value(
        setup({ proxy: { zimbraReverseProxyClientCertMode: 'optional' } }),
        'ssl.clientcertmode.default',
      ),
    ).toBe('optional');
    expect(value(setup(), 'ssl.clientcertdepth.default')).toBe('10');
  });

  it('enables the client CA only when the bundle has a certificate', () => {
    expect(value(setup(), 'ssl.clientcertca.enabled')).toBe('#');
    expect(
      value(setup({ gc: { zimbraReverseProxyClientCertCA: CA } }), 'ssl.clientcertca.enabled'),
    ).toBe('');
  });

  it('enables the client CA for a domain CA when per-vhn generation is on', () => {
    const handle = setup({
      proxy: { zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE' },
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyClientCertCA: CA,
        }),
      ],
    });
    expect(value(handle, 'ssl.clientcertca.enabled')).toBe('');
  });

  it('enables ssl_dhparam only when the file exists', () => {
    expect(value(setup(), 'web.ssl.dhparam.enabled')).toBe('#');
    expect(value(setup({ dhparamExists: true }), 'web.ssl.dhparam.enabled')).toBe('');
  });
});
