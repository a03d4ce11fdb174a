import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import { context, domain, globalConfig, server, snapshot } from '../../helpers/builders.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import type { VarContextHandle } from '../../../src/vars/context.js';
import { SSO_VARIABLES } from '../../../src/vars/sso.js';

const CA = '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----';

function setup(options: { proxy?: Attrs; gc?: Attrs; domains?: DirectoryEntry[] } = {}) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig({ zimbraReverseProxyClientCertCA: CA, ...options.gc }),
      servers: [server('proxy', options.proxy)],
      domains: options.domains ?? [],
    }),
  });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = SSO_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

describe('sso variables', () => {
  it.each([
    [undefined, '#'],
    ['off', '#'],
    ['on', ''],
    ['optional', ''],
  ])('server client-cert mode %s gives the certauth enablers %j', (mode, expected) => {
    const handle = setup({
      proxy: mode === undefined ? {} : { zimbraReverseProxyClientCertMode: mode },
    });
    expect(value(handle, 'web.sso.default.enabled')).toBe(expected);
    expect(value(handle, 'web.sso.certauth.default.enabled')).toBe(expected);
  });

  it('reads the certauth port (code default 0)', () => {
    expect(value(setup(), 'web.sso.certauth.port')).toBe('0');
    expect(
      value(setup({ gc: { zimbraMailSSLProxyClientCertPort: '3443' } }), 'web.sso.certauth.port'),
    ).toBe('3443');
  });

  it('sets web.sso.enabled when an exploded domain verifies client certificates', () => {
    const domains = [
      domain('a.com', { zimbraVirtualHostname: 'mail.a.com', zimbraSSLCertificate: 'C' }),
      domain('b.com', {
        zimbraVirtualHostname: 'mail.b.com',
        zimbraReverseProxyClientCertMode: 'on',
      }),
    ];
    expect(value(setup({ domains }), 'web.sso.enabled')).toBe('#');
    expect(
      value(
        setup({ domains, proxy: { zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE' } }),
        'web.sso.enabled',
      ),
    ).toBe('');
    expect(SSO_VARIABLES.filter((v) => v.unused === true).map((v) => v.name)).toEqual([
      'web.sso.enabled',
    ]);
  });
});
