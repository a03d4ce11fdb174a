import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import { context, globalConfig, mailboxServer, server, snapshot } from '../../helpers/builders.js';
import { containing } from '../../helpers/matchers.js';
import type { UpstreamServer } from '../../../src/vars/upstreams.js';
import {
  computeUpstreamServers,
  formatUpstreamServer,
  formatUpstreamServers,
} from '../../../src/vars/upstreams.js';

const GC: Attrs = {
  zimbraMailPort: '8080',
  zimbraMailSSLPort: '8443',
  zimbraAdminPort: '7071',
  zimbraMailProxyReconnectTimeout: '10',
  zimbraMailProxyMaxFails: '1',
};

const proxy = () => server('proxy', { zimbraServiceEnabled: ['proxy', 'memcached'] });

function setup(servers: ReturnType<typeof server>[], gc: Attrs = GC, serverName = 'proxy') {
  return context({
    snapshot: snapshot({ globalConfig: globalConfig(gc), servers }),
    serverName,
  });
}

describe('upstream server lists', () => {
  it('lists each valid upstream with hostname, port, fail_timeout and version', () => {
    const handle = setup([mailboxServer('mb1'), mailboxServer('mb2'), proxy()]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(formatUpstreamServers(list)).toBe(
      'server    mb1:8080 fail_timeout=10s version=10.1.0_GA_4633;\n' +
        '        server    mb2:8080 fail_timeout=10s version=10.1.0_GA_4633;\n',
    );
    expect(handle.problems).toEqual([]);
  });

  it('formats an empty list as the empty string', () => {
    const handle = setup([proxy()]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list).toEqual([]);
    expect(formatUpstreamServers(list)).toBe('');
  });

  it('reads fail_timeout from the upstream server itself before the global config', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraMailProxyReconnectTimeout: '30' }),
      proxy(),
    ]);
    const [entry] = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(entry?.failTimeout).toBe(30);
  });

  it('uses 60 seconds when zimbraMailProxyReconnectTimeout is absent everywhere', () => {
    const handle = setup([mailboxServer('mb1'), proxy()], { zimbraMailPort: '8080' });
    const [entry] = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(entry?.failTimeout).toBe(60);
  });

  it('uses 60 seconds and reports a problem when zimbraMailProxyReconnectTimeout is not a number', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraMailProxyReconnectTimeout: '10s' }),
      proxy(),
    ]);
    const [entry] = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(entry?.failTimeout).toBe(60);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraMailProxyReconnectTimeout',
        entry: 'server mb1',
        value: '10s',
      }),
    ]);
  });

  it('adds max_fails only when zimbraMailProxyMaxFails is not 1', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraMailProxyMaxFails: '0' }),
      mailboxServer('mb2'),
      mailboxServer('mb3', { zimbraMailProxyMaxFails: '3' }),
      proxy(),
    ]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list.map((entry) => entry.maxFails)).toEqual([0, undefined, 3]);
    expect(formatUpstreamServer(list[0] as UpstreamServer)).toBe(
      'mb1:8080 fail_timeout=10s max_fails=0 version=10.1.0_GA_4633',
    );
  });

  it('leaves version= out for a pre-8.5 server and when asked to, listing that server once', () => {
    const legacy = mailboxServer('mb0', { zimbraServerVersion: [] });
    const handle = setup([legacy, mailboxServer('mb1'), proxy()]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list.map((entry) => entry.version)).toEqual([undefined, '10.1.0_GA_4633']);
    expect(list.map((entry) => entry.host)).toEqual(['mb0', 'mb1']);
    expect(formatUpstreamServers(list, { version: false })).toBe(
      'server    mb0:8080 fail_timeout=10s;\n        server    mb1:8080 fail_timeout=10s;\n',
    );
  });

  it('reads the port attribute named by the global config', () => {
    const handle = setup(
      [mailboxServer('mb1', { zimbraMailSSLPort: '9443', zimbraAdminPort: '9071' }), proxy()],
      {
        ...GC,
        zimbraReverseProxyHttpPortAttribute: 'zimbraMailSSLPort',
        zimbraReverseProxyAdminPortAttribute: 'zimbraAdminPort',
      },
    );
    const http = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    const https = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'https' });
    const admin = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'admin' });
    expect([http[0]?.port, https[0]?.port, admin[0]?.port]).toEqual([9443, 9443, 9071]);
  });

  it('reports a port attribute name that is not a port attribute and uses the default name', () => {
    const handle = setup([mailboxServer('mb1'), proxy()], {
      ...GC,
      zimbraReverseProxyHttpPortAttribute: 'zimbraMailURL',
      zimbraReverseProxyHttpSSLPortAttribute: 'zimbraNoSuchPort',
    });
    expect(computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' })[0]?.port).toBe(
      8080,
    );
    expect(
      computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'https' })[0]?.port,
    ).toBe(8443);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyHttpPortAttribute',
        entry: 'global config',
        value: 'zimbraMailURL',
        hint: 'zmprov mcf zimbraReverseProxyHttpPortAttribute zimbraMailPort',
      }),
      expect.objectContaining({
        subject: 'zimbraReverseProxyHttpSSLPortAttribute',
        value: 'zimbraNoSuchPort',
      }),
    ]);
  });

  it('uses the fixed ports 8742 and 8743 for zx', () => {
    const handle = setup([mailboxServer('mb1'), proxy()]);
    expect(computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'zx' })[0]?.port).toBe(
      8742,
    );
    expect(
      computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'zx-ssl' })[0]?.port,
    ).toBe(8743);
  });

  it('warns about a server whose upstream port is 0 and still lists it, as Zimbra does', () => {
    const handle = setup([mailboxServer('mb1'), proxy()], {
      zimbraMailProxyReconnectTimeout: '10',
    });
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'https' });
    expect(list[0]?.port).toBe(0);
    expect(handle.warnings).toEqual([
      expect.objectContaining({ message: containing('no zimbraMailSSLPort') }),
    ]);
  });

  it('skips a server with an invalid mail mode with a warning', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraMailMode: [] }),
      mailboxServer('mb2'),
      proxy(),
    ]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list.map((entry) => entry.host)).toEqual(['mb2']);
    expect(handle.warnings).toEqual([
      expect.objectContaining({
        message: containing('mb1, because its mail mode is EMPTY'),
      }),
    ]);
  });

  it('skips a server that is not a lookup target', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraReverseProxyLookupTarget: 'FALSE' }),
      mailboxServer('mb2'),
      proxy(),
    ]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list.map((entry) => entry.host)).toEqual(['mb2']);
  });

  it('excludes a web client server without the mailbox service, with a warning', () => {
    const web = server('web1', {
      zimbraServiceEnabled: ['zimbra'],
      zimbraReverseProxyLookupTarget: 'TRUE',
      zimbraMailMode: 'https',
      zimbraServerVersion: '10.1.0',
    });
    const handle = setup([mailboxServer('mb1'), proxy(), web]);
    const list = computeUpstreamServers(handle.ctx, { group: 'webClient', port: 'http' });
    expect(list.map((entry) => entry.host)).toEqual(['mb1']);
    expect(handle.warnings).toEqual([expect.objectContaining({ message: containing('web1') })]);
  });

  it('writes zimbraServiceHostname, not the server name', () => {
    const handle = setup([
      mailboxServer('mb1', { zimbraServiceHostname: 'mb1.internal.example.com' }),
      proxy(),
    ]);
    const list = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(list[0]).toMatchObject({ server: 'mb1', host: 'mb1.internal.example.com' });
  });

  it('reports a zimbraServiceHostname that is not a host name and leaves the server out', () => {
    const handle = setup([mailboxServer('mb1', { zimbraServiceHostname: 'mb1;evil' }), proxy()]);
    expect(computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' })).toEqual([]);
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraServiceHostname', entry: 'server mb1' }),
    ]);
  });

  it('reports a zimbraServerVersion that is not one nginx token', () => {
    const handle = setup([mailboxServer('mb1', { zimbraServerVersion: '10.1 GA' }), proxy()]);
    computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraServerVersion', value: '10.1 GA' }),
    ]);
  });

  it('lists the EWS and login servers named on serverSource', () => {
    const handle = setup([
      mailboxServer('mb1'),
      mailboxServer('mb2'),
      server('proxy', {
        zimbraServiceEnabled: ['proxy'],
        zimbraReverseProxyUpstreamEwsServers: 'mb2',
        zimbraReverseProxyUpstreamLoginServers: ['mb2', 'MB1'],
      }),
    ]);
    const ews = computeUpstreamServers(handle.ctx, { group: 'ews', port: 'https' });
    const login = computeUpstreamServers(handle.ctx, { group: 'login', port: 'http' });
    expect(ews.map((entry) => `${entry.host}:${entry.port}`)).toEqual(['mb2:8443']);
    expect(login.map((entry) => entry.host)).toEqual(['mb2', 'mb1']);
  });

  it('reports an EWS server name that matches no server, with a hint', () => {
    const handle = setup([mailboxServer('mb1'), proxy()], {
      ...GC,
      zimbraReverseProxyUpstreamEwsServers: ['mb1', 'gone'],
    });
    const ews = computeUpstreamServers(handle.ctx, { group: 'ews', port: 'http' });
    expect(ews.map((entry) => entry.host)).toEqual(['mb1']);
    expect(handle.problems).toEqual([
      {
        subject: 'zimbraReverseProxyUpstreamEwsServers',
        entry: 'global config',
        message: 'names no server in the directory',
        value: 'gone',
        hint: 'zmprov mcf -zimbraReverseProxyUpstreamEwsServers gone, or create the server',
      },
    ]);
  });

  it('computes each list once per context, so problems are not repeated', () => {
    const handle = setup([mailboxServer('mb1', { zimbraMailProxyReconnectTimeout: 'x' }), proxy()]);
    const first = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    const second = computeUpstreamServers(handle.ctx, { group: 'mailClient', port: 'http' });
    expect(second).toBe(first);
    expect(handle.problems).toHaveLength(1);
  });
});

describe('upstream addresses', () => {
  it('writes an IPv6 zimbraServiceHostname in brackets', () => {
    expect(
      formatUpstreamServer({
        server: 'mb1',
        host: '2001:db8::11',
        port: 8080,
        failTimeout: 10,
        maxFails: undefined,
        version: undefined,
      }),
    ).toBe('[2001:db8::11]:8080 fail_timeout=10s');
    expect(
      formatUpstreamServer({
        server: 'mb1',
        host: '192.0.2.11',
        port: 8080,
        failTimeout: 10,
        maxFails: undefined,
        version: undefined,
      }),
    ).toBe('192.0.2.11:8080 fail_timeout=10s');
  });
});
