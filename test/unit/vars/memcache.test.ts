import { describe, expect, it } from 'vitest';
import type { DnsTable } from '../../../src/model/dns.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import { MEMCACHE_VARIABLES } from '../../../src/vars/memcache.js';
import type { VariableDefinition } from '../../../src/vars/types.js';
import { context, dnsTable, globalConfig, server, snapshot } from '../../helpers/builders.js';

function variable(name: string): VariableDefinition {
  const found = MEMCACHE_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found;
}

const SERVERS = variable('memcache.:servers');

function memcached(name: string, attrs: Record<string, string | string[]> = {}) {
  return server(name, { zimbraServiceEnabled: ['proxy', 'memcached'], ...attrs });
}

function run(options: {
  globalConfig?: DirectoryEntry;
  servers: DirectoryEntry[];
  dns?: DnsTable;
}) {
  const handle = context({
    snapshot: snapshot({ globalConfig: options.globalConfig, servers: options.servers }),
    dns: options.dns,
  });
  return { ...handle, servers: SERVERS.compute(handle.ctx) };
}

describe('memcache.:servers', () => {
  it('lists every memcached server as a servers line with its resolved address', () => {
    const { servers, problems } = run({
      servers: [
        memcached('mc1.example.com'),
        server('mta.example.com', { zimbraServiceEnabled: 'mta' }),
        memcached('mc2.example.com'),
      ],
      dns: dnsTable({
        'mc1.example.com': ['10.0.0.1'],
        'mc2.example.com': ['10.0.0.2'],
        'mta.example.com': ['10.0.0.3'],
      }),
    });
    expect(servers).toBe('  servers   10.0.0.1:11211;\n  servers   10.0.0.2:11211;\n');
    expect(problems).toEqual([]);
  });

  it('reads each bind port from its own server, falling back to the global config', () => {
    const { servers } = run({
      globalConfig: globalConfig({ zimbraMemcachedBindPort: '11311' }),
      servers: [
        memcached('mc1.example.com'),
        memcached('mc2.example.com', { zimbraMemcachedBindPort: '11411' }),
      ],
      dns: dnsTable({ 'mc1.example.com': ['10.0.0.1'], 'mc2.example.com': ['10.0.0.2'] }),
    });
    expect(servers).toBe('  servers   10.0.0.1:11311;\n  servers   10.0.0.2:11411;\n');
  });

  it('writes an IPv6 memcached address in brackets, in full as Java does', () => {
    const { servers } = run({
      servers: [memcached('mc1.example.com', { zimbraIPMode: 'ipv6' })],
      dns: dnsTable({ 'mc1.example.com': ['10.0.0.1', '2001:db8::11'] }),
    });
    expect(servers).toBe('  servers   [2001:db8:0:0:0:0:0:11]:11211;\n');
  });

  it('uses an IP address given as zimbraServiceHostname without asking DNS', () => {
    const { servers, problems } = run({
      servers: [memcached('mc1.example.com', { zimbraServiceHostname: '192.0.2.5' })],
    });
    expect(servers).toBe('  servers   192.0.2.5:11211;\n');
    expect(problems).toEqual([]);
  });

  it('reports a bind port that is not a port', () => {
    const { servers, problems } = run({
      servers: [memcached('mc1.example.com', { zimbraMemcachedBindPort: '99999' })],
      dns: dnsTable({ 'mc1.example.com': ['10.0.0.1'] }),
    });
    expect(servers).toBe('  servers   10.0.0.1:11211;\n');
    expect(problems).toEqual([
      expect.objectContaining({ subject: 'zimbraMemcachedBindPort', value: '99999' }),
    ]);
  });

  it('skips an unresolvable memcached server with a warning when others resolve', () => {
    const { servers, problems, warnings } = run({
      servers: [memcached('mc1.example.com'), memcached('mc2.example.com')],
      dns: dnsTable({ 'mc1.example.com': [], 'mc2.example.com': ['10.0.0.2'] }),
    });
    expect(servers).toBe('  servers   10.0.0.2:11211;\n');
    expect(problems).toEqual([]);
    expect(warnings.map((w) => w.message)).toEqual([
      "memcached server on server mc1.example.com left out: mc1.example.com can't be resolved",
    ]);
  });

  it('reports a problem when no memcached server can be resolved', () => {
    const { servers, problems } = run({
      servers: [memcached('mc1.example.com')],
      dns: dnsTable({}),
    });
    expect(servers).toBe('');
    expect(problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraServiceHostname',
        entry: 'server mc1.example.com',
        message: "no memcached server could be resolved: mc1.example.com can't be resolved",
      }),
    ]);
  });

  it('reports a problem, with the zmprov fix, when no server runs memcached', () => {
    const { servers, problems } = run({
      servers: [server('proxy.example.com', { zimbraServiceEnabled: 'proxy' })],
    });
    expect(servers).toBe('');
    expect(problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraServiceEnabled',
        hint: 'install zimbra-memcached on a server, then zmprov ms <server> +zimbraServiceEnabled memcached',
      }),
    ]);
  });
});

describe('memcache timings', () => {
  it.each([
    {
      name: 'memcache.timeout',
      attribute: 'zimbraReverseProxyCacheFetchTimeout',
      default: '3000ms',
      set: '5s',
      expected: '5000ms',
    },
    {
      name: 'memcache.reconnect',
      attribute: 'zimbraReverseProxyCacheReconnectInterval',
      default: '60000ms',
      set: '2m',
      expected: '120000ms',
    },
    {
      name: 'memcache.ttl',
      attribute: 'zimbraReverseProxyCacheEntryTTL',
      default: '3600000ms',
      set: '1d',
      expected: '86400000ms',
    },
  ])('formats $name in milliseconds from the global config', (c) => {
    const v = variable(c.name);
    expect(v.attribute).toBe(c.attribute);
    expect(v.defaultText).toBe(c.default);
    expect(v.compute(context({ snapshot: snapshot({ servers: [server('p1')] }) }).ctx)).toBe(
      c.default,
    );
    const configured = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ [c.attribute]: c.set }),
        servers: [server('p1', { [c.attribute]: '1ms' })],
      }),
    });
    expect(v.compute(configured.ctx)).toBe(c.expected);
  });

  it('reports a cache time that is not a duration', () => {
    const handle = context({
      snapshot: snapshot({
        globalConfig: globalConfig({ zimbraReverseProxyCacheEntryTTL: '1 hour' }),
        servers: [server('p1')],
      }),
    });
    expect(variable('memcache.ttl').compute(handle.ctx)).toBe('3600000ms');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraReverseProxyCacheEntryTTL', value: '1 hour' }),
    ]);
  });

  it('defines each memcache variable once', () => {
    expect(MEMCACHE_VARIABLES.map((v) => v.name)).toEqual([
      'memcache.:servers',
      'memcache.timeout',
      'memcache.reconnect',
      'memcache.ttl',
    ]);
  });
});
