import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_CATALOG } from '../../../src/model/attribute-catalog.js';
import { validateAttributeValue } from '../../../src/model/attribute-values.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';

describe('attribute reader', () => {
  it('reads the server value before the global config value', () => {
    const { ctx } = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyWorkerProcesses: '8' }),
        servers: [server('p1', { zimbraReverseProxyWorkerProcesses: '2' })],
      }),
    });
    expect(ctx.server.integer('zimbraReverseProxyWorkerProcesses', 4)).toBe(2);
  });

  it('falls back to the global value when the server value is unset', () => {
    const { ctx } = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyWorkerProcesses: '8' }),
        servers: [server('p1')],
      }),
    });
    expect(ctx.server.integer('zimbraReverseProxyWorkerProcesses', 4)).toBe(8);
  });

  it('does not inherit an attribute that is not serverInherited', () => {
    const { ctx } = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyIPLoginLimit: '9' }),
        servers: [server('p1')],
      }),
    });
    expect(ctx.server.integer('zimbraReverseProxyIPLoginLimit', 0)).toBe(0);
    expect(ctx.config.integer('zimbraReverseProxyIPLoginLimit', 0)).toBe(9);
  });

  it('replaces a multi-valued global list with the server list instead of merging', () => {
    const { ctx } = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxySSLProtocols: ['TLSv1.2', 'TLSv1.3'] }),
        servers: [server('p1', { zimbraReverseProxySSLProtocols: 'TLSv1.3' })],
      }),
    });
    expect(ctx.server.list('zimbraReverseProxySSLProtocols')).toEqual(['TLSv1.3']);
  });

  it('reads a boolean as TRUE only when it is exactly TRUE and reports any other spelling', () => {
    const handle = context({
      snapshot: snapshot({ servers: [server('p1', { zimbraReverseProxyMailEnabled: 'true' })] }),
    });
    expect(handle.ctx.server.boolean('zimbraReverseProxyMailEnabled', true)).toBe(true);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyMailEnabled',
        entry: 'server p1',
        value: 'true',
        hint: 'zmprov ms p1 zimbraReverseProxyMailEnabled <value>',
      }),
    ]);
  });

  it('reads a bare duration as seconds and reports a malformed one', () => {
    const handle = context({
      snapshot: snapshot({
        globalConfig: globalConfig({
          zimbraReverseProxyRouteLookupTimeout: '15',
          zimbraReverseProxyConnectTimeout: '2 min',
        }),
        servers: [server('p1')],
      }),
    });
    expect(handle.ctx.server.duration('zimbraReverseProxyRouteLookupTimeout', 1)).toBe(15_000);
    expect(handle.ctx.server.duration('zimbraReverseProxyConnectTimeout', 120_000)).toBe(120_000);
    expect(handle.problems.map((p) => p.entry)).toEqual(['global config']);
  });

  it('rejects a token that would break out of its nginx directive', () => {
    const handle = context({
      snapshot: snapshot({
        servers: [server('p1', { zimbraReverseProxyAcceptMutex: 'on; include /etc/passwd' })],
      }),
    });
    expect(handle.ctx.server.token('zimbraReverseProxyAcceptMutex', 'on')).toBe('on');
    // The shared validator (an enum here) refuses it before the token check would.
    expect(handle.problems[0]?.message).toMatch(/must be one of on, off/);
  });

  it('rejects a token that starts with #, which nginx would read as a comment', () => {
    const handle = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxySSLCiphers: '#HIGH' }),
        servers: [server('p1')],
      }),
    });
    expect(handle.ctx.config.token('zimbraReverseProxySSLCiphers', 'HIGH')).toBe('HIGH');
    expect(handle.problems[0]?.message).toMatch(/not an OpenSSL cipher list/);
  });

  it('rejects a localconfig path that would end its directive', () => {
    const handle = context({
      snapshot: snapshot({ servers: [server('p1')] }),
      localConfig: { krb5_keytab: '/k;load_module /tmp/evil.so' },
    });
    expect(handle.ctx.lc.token('krb5_keytab')).toBe('/opt/zimbra/conf/krb5.keytab');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'krb5_keytab', entry: 'localconfig' }),
    ]);
  });

  it('uses the catalog code default when the caller gives none', () => {
    const { ctx } = context({
      snapshot: snapshot({ globalConfig: globalConfig({}), servers: [server('p1')] }),
    });
    expect(ctx.server.enumValue('zimbraIPMode')).toBe('both');
    expect(ctx.server.port('zimbraMailPort')).toBe(80);
    expect(ctx.server.boolean('zimbraReverseProxyGenConfigPerVirtualHostname')).toBe(false);
    expect(ctx.server.listOrDefault('zimbraReverseProxyPop3EnabledCapability')).toEqual([
      'TOP',
      'USER',
      'UIDL',
      'EXPIRE 31 USER',
    ]);
  });

  it('refuses to read without a default when the catalog has none', () => {
    const { ctx } = context({
      snapshot: snapshot({ globalConfig: globalConfig({}), servers: [server('p1')] }),
    });
    expect(() => ctx.server.integer('zimbraReverseProxyWorkerProcesses')).toThrow(
      /no code default in the catalog/,
    );
  });

  it('holds only catalog code defaults that pass their own validator', () => {
    for (const spec of ATTRIBUTE_CATALOG) {
      for (const value of spec.codeDefault ?? []) {
        expect([spec.name, validateAttributeValue(spec, value).ok]).toEqual([spec.name, true]);
      }
    }
  });
});
