import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import { context, globalConfig, server, snapshot } from '../../helpers/builders.js';
import type { VarContextHandle } from '../../../src/vars/context.js';
import { XMPP_VARIABLES } from '../../../src/vars/xmpp.js';

function setup(options: { proxy?: Attrs; gc?: Attrs } = {}) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig(options.gc),
      servers: [server('proxy', options.proxy)],
    }),
  });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = XMPP_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

const BOSH: Attrs = {
  zimbraReverseProxyXmppBoshEnabled: 'TRUE',
  zimbraReverseProxyXmppBoshLocalHttpBindURL: '/http-bind',
  zimbraReverseProxyXmppBoshRemoteHttpBindURL: '/http-bind/',
  zimbraReverseProxyXmppBoshHostname: 'chat.example.com',
  zimbraReverseProxyXmppBoshPort: '7070',
};

describe('xmpp variables', () => {
  it('disables the BOSH location by default', () => {
    expect(value(setup(), 'web.xmpp.bosh.upstream.disable')).toBe('#');
  });

  it('enables the BOSH location when enabled with URL, host and port', () => {
    expect(value(setup({ gc: BOSH }), 'web.xmpp.bosh.upstream.disable')).toBe('');
  });

  it.each([
    ['zimbraReverseProxyXmppBoshEnabled', 'FALSE'],
    ['zimbraReverseProxyXmppBoshHostname', []],
    ['zimbraReverseProxyXmppBoshPort', '0'],
    ['zimbraReverseProxyXmppBoshLocalHttpBindURL', []],
  ])('keeps the BOSH location disabled when %s is %j', (attribute, attrValue) => {
    const handle = setup({ gc: { ...BOSH, [attribute]: attrValue } });
    expect(value(handle, 'web.xmpp.bosh.upstream.disable')).toBe('#');
  });

  it('chooses the BOSH scheme from zimbraReverseProxyXmppBoshSSL (code default TRUE)', () => {
    expect(value(setup(), 'web.xmpp.upstream.proto')).toBe('https');
    expect(
      value(setup({ gc: { zimbraReverseProxyXmppBoshSSL: 'FALSE' } }), 'web.xmpp.upstream.proto'),
    ).toBe('http');
  });

  it('reads the BOSH URLs, host, port and timeout with their code defaults', () => {
    const none = setup();
    expect(value(none, 'web.xmpp.local.bind.url')).toBe('/http-bind');
    expect(value(none, 'web.xmpp.remote.bind.url')).toBe('');
    expect(value(none, 'web.xmpp.bosh.hostname')).toBe('');
    expect(value(none, 'web.xmpp.bosh.port')).toBe('0');
    expect(value(none, 'web.xmpp.bosh.timeout')).toBe('60');
    const set = setup({ gc: { ...BOSH, zimbraReverseProxyXmppBoshTimeout: '90s' } });
    expect(value(set, 'web.xmpp.local.bind.url')).toBe('/http-bind');
    expect(value(set, 'web.xmpp.remote.bind.url')).toBe('/http-bind/');
    expect(value(set, 'web.xmpp.bosh.hostname')).toBe('chat.example.com');
    expect(value(set, 'web.xmpp.bosh.port')).toBe('7070');
    expect(value(set, 'web.xmpp.bosh.timeout')).toBe('90');
  });

  it('reports a BOSH host name or URL that is not valid', () => {
    const handle = setup({
      gc: {
        ...BOSH,
        zimbraReverseProxyXmppBoshHostname: 'chat example',
        zimbraReverseProxyXmppBoshLocalHttpBindURL: 'http-bind',
      },
    });
    expect(value(handle, 'web.xmpp.bosh.hostname')).toBe('');
    expect(value(handle, 'web.xmpp.local.bind.url')).toBe('/http-bind');
    expect(value(handle, 'web.xmpp.bosh.upstream.disable')).toBe('#');
    expect(handle.problems.map((p) => p.subject)).toEqual([
      'zimbraReverseProxyXmppBoshHostname',
      'zimbraReverseProxyXmppBoshLocalHttpBindURL',
    ]);
  });

  it('keeps the two unused enablers (default on)', () => {
    expect(value(setup(), 'web.xmpp.bosh.enabled')).toBe('');
    expect(value(setup(), 'web.xmpp.bosh.use_ssl')).toBe('');
    expect(value(setup({ gc: BOSH }), 'web.xmpp.bosh.use_ssl')).toBe('');
    expect(XMPP_VARIABLES.filter((v) => v.unused === true).map((v) => v.name)).toEqual([
      'web.xmpp.bosh.enabled',
      'web.xmpp.bosh.use_ssl',
    ]);
  });
});
