import { describe, expect, it } from 'vitest';
import type { DnsTable } from '../../../src/model/dns.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import { LOOKUP_VARIABLES } from '../../../src/vars/lookup.js';
import type { VariableDefinition } from '../../../src/vars/types.js';
import {
  context,
  dnsTable,
  globalConfig,
  mailboxServer,
  server,
  snapshot,
} from '../../helpers/builders.js';

function variable(name: string): VariableDefinition {
  const found = LOOKUP_VARIABLES.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no variable ${name}`);
  return found;
}

const HANDLERS = variable('zmlookup.:handlers');
const AVAILABLE = variable('lookup.available');

/** A proxy-only server that generates the config (serverSource), sorted first by name. */
function proxy(attrs: Record<string, string | string[]> = {}): DirectoryEntry {
  return server('aaproxy.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'], ...attrs });
}

function run(options: {
  globalConfig?: DirectoryEntry;
  servers: DirectoryEntry[];
  dns?: DnsTable;
  localConfig?: Record<string, string>;
}) {
  const handle = context({
    snapshot: snapshot({ globalConfig: options.globalConfig, servers: options.servers }),
    dns: options.dns,
    localConfig: options.localConfig,
    serverName: 'aaproxy.example.com',
  });
  return {
    ...handle,
    handlers: HANDLERS.compute(handle.ctx),
    available: AVAILABLE.compute(handle.ctx),
  };
}

const url = (scheme: string, hostPort: string) =>
  `${scheme}://${hostPort}/service/extension/nginx-lookup`;

describe('lookup handlers (zmlookup.:handlers)', () => {
  it('lists lookup handlers with https for servers at 8.7 or later and http before', () => {
    const version = (major: string, minor: string) => ({
      zimbraServerVersionMajor: major,
      zimbraServerVersionMinor: minor,
    });
    const { handlers, problems } = run({
      servers: [
        proxy(),
        mailboxServer('m1.example.com', version('8', '6')),
        mailboxServer('m2.example.com', version('8', '7')),
        mailboxServer('m3.example.com', version('9', '0')),
        mailboxServer('m4.example.com', version('7', '9')),
      ],
      dns: dnsTable({
        'm1.example.com': ['10.0.0.1'],
        'm2.example.com': ['10.0.0.2'],
        'm3.example.com': ['10.0.0.3'],
        'm4.example.com': ['10.0.0.4'],
      }),
    });
    expect(handlers).toBe(
      [
        url('http', '10.0.0.1:7072'),
        url('https', '10.0.0.2:7072'),
        url('https', '10.0.0.3:7072'),
        url('http', '10.0.0.4:7072'),
      ].join(' '),
    );
    expect(problems).toEqual([]);
  });

  it('uses http for a server without version attributes (older than 8.5)', () => {
    const { handlers } = run({
      servers: [
        proxy(),
        server('old.example.com', {
          zimbraServiceEnabled: 'mailbox',
          zimbraReverseProxyLookupTarget: 'TRUE',
        }),
      ],
      dns: dnsTable({ 'old.example.com': ['10.0.0.9'] }),
    });
    expect(handlers).toBe(url('http', '10.0.0.9:7072'));
  });

  it('writes IPv6 handler addresses in brackets, in full as Java does', () => {
    const { handlers } = run({
      servers: [proxy({ zimbraIPMode: 'ipv6' }), mailboxServer('m1.example.com')],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1', '2001:db8::1'] }),
    });
    expect(handlers).toBe(url('https', '[2001:db8:0:0:0:0:0:1]:7072'));
  });

  it.each([
    { mode: 'ipv4', addresses: ['2001:db8::1', '10.0.0.1'], expected: '10.0.0.1:7072' },
    {
      mode: 'ipv6',
      addresses: ['10.0.0.1', '2001:db8::1'],
      expected: '[2001:db8:0:0:0:0:0:1]:7072',
    },
    { mode: 'both', addresses: ['2001:db8::1', '10.0.0.1'], expected: '10.0.0.1:7072' },
    { mode: 'both', addresses: ['2001:db8::1'], expected: '[2001:db8:0:0:0:0:0:1]:7072' },
  ])('picks $expected from $addresses in IP mode $mode', ({ mode, addresses, expected }) => {
    const { handlers } = run({
      servers: [proxy({ zimbraIPMode: mode }), mailboxServer('m1.example.com')],
      dns: dnsTable({ 'm1.example.com': addresses }),
    });
    expect(handlers).toBe(url('https', expected));
  });

  it('takes the IP mode from the global config when serverSource has none', () => {
    const { handlers } = run({
      globalConfig: globalConfig({ zimbraIPMode: 'ipv6' }),
      servers: [proxy(), mailboxServer('m1.example.com')],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1', '2001:db8::1'] }),
    });
    expect(handlers).toBe(url('https', '[2001:db8:0:0:0:0:0:1]:7072'));
  });

  it('uses an IP address given as zimbraServiceHostname without asking DNS', () => {
    const { handlers, problems, warnings } = run({
      servers: [
        proxy(),
        mailboxServer('m1.example.com', { zimbraServiceHostname: '192.0.2.10' }),
        mailboxServer('m2.example.com', { zimbraServiceHostname: '2001:db8::2' }),
      ],
    });
    expect(handlers).toBe(
      `${url('https', '192.0.2.10:7072')} ${url('https', '[2001:db8:0:0:0:0:0:2]:7072')}`,
    );
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('reads each handler port from its own server, falling back to the global config', () => {
    const { handlers } = run({
      globalConfig: globalConfig({ zimbraExtensionBindPort: '7073' }),
      servers: [
        proxy(),
        mailboxServer('m1.example.com'),
        mailboxServer('m2.example.com', { zimbraExtensionBindPort: '8443' }),
      ],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1'], 'm2.example.com': ['10.0.0.2'] }),
    });
    expect(handlers).toBe(`${url('https', '10.0.0.1:7073')} ${url('https', '10.0.0.2:8443')}`);
  });

  it('reports an extension port that cannot be connected to', () => {
    const { handlers, problems } = run({
      servers: [proxy(), mailboxServer('m1.example.com', { zimbraExtensionBindPort: '0' })],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1'] }),
    });
    expect(handlers).toBe(url('https', '10.0.0.1:7072'));
    expect(problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraExtensionBindPort',
        entry: 'server m1.example.com',
        value: '0',
      }),
    ]);
  });

  it('only considers the servers named in zimbraReverseProxyAvailableLookupTargets', () => {
    const { handlers, warnings } = run({
      servers: [
        proxy({
          zimbraReverseProxyAvailableLookupTargets: ['m2.example.com', 'gone.example.com'],
        }),
        mailboxServer('m1.example.com'),
        mailboxServer('m2.example.com'),
      ],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1'], 'm2.example.com': ['10.0.0.2'] }),
    });
    expect(handlers).toBe(url('https', '10.0.0.2:7072'));
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('gone.example.com')]);
  });

  it('leaves out a server without the mailbox service that inherits lookup target TRUE', () => {
    const { handlers, warnings } = run({
      globalConfig: globalConfig({ zimbraReverseProxyLookupTarget: 'TRUE' }),
      servers: [
        proxy(),
        server('mta.example.com', { zimbraServiceEnabled: ['mta'] }),
        mailboxServer('m1.example.com'),
      ],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1'], 'mta.example.com': ['10.0.0.7'] }),
    });
    expect(handlers).toBe(url('https', '10.0.0.1:7072'));
    const warning = warnings.find(
      (w) => w.hint === 'zmprov ms mta.example.com zimbraReverseProxyLookupTarget FALSE',
    );
    expect(warning?.message).toMatch(/mta\.example\.com .*inherited from the global config/);
  });

  it('ignores a mailbox server whose lookup target is FALSE', () => {
    const { handlers } = run({
      servers: [
        proxy(),
        mailboxServer('m1.example.com', { zimbraReverseProxyLookupTarget: 'FALSE' }),
        mailboxServer('m2.example.com'),
      ],
      dns: dnsTable({ 'm1.example.com': ['10.0.0.1'], 'm2.example.com': ['10.0.0.2'] }),
    });
    expect(handlers).toBe(url('https', '10.0.0.2:7072'));
  });

  it('warns about an unresolvable handler and keeps the others', () => {
    const { handlers, available, problems, warnings } = run({
      servers: [proxy(), mailboxServer('m1.example.com'), mailboxServer('m2.example.com')],
      dns: dnsTable({ 'm1.example.com': [], 'm2.example.com': ['10.0.0.2'] }),
    });
    expect(handlers).toBe(url('https', '10.0.0.2:7072'));
    expect(available).toBe('');
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      {
        code: 'W_LOOKUP_HANDLER_UNRESOLVED',
        message:
          "lookup handler on server m1.example.com left out: m1.example.com can't be resolved",
        hint: 'make m1.example.com resolvable on this host: fix DNS, add it to /etc/hosts, or pass --hosts FILE',
      },
    ]);
  });

  it('reports a problem when no handler is left because DNS failed', () => {
    const { handlers, available, problems } = run({
      servers: [proxy(), mailboxServer('m1.example.com')],
      dns: dnsTable({}),
    });
    expect(handlers).toBe('');
    expect(available).toBe('#');
    expect(problems).toEqual([
      {
        subject: 'zimbraServiceHostname',
        entry: 'server m1.example.com',
        message:
          "No available nginx lookup handlers could be contacted: m1.example.com can't be resolved",
        value: 'm1.example.com',
        hint: 'make m1.example.com resolvable on this host: fix DNS, add it to /etc/hosts, or pass --hosts FILE',
      },
    ]);
  });

  it('counts a handler without an address of the IP mode as a failed resolution', () => {
    const { handlers, problems } = run({
      servers: [proxy({ zimbraIPMode: 'ipv4' }), mailboxServer('m1.example.com')],
      dns: dnsTable({ 'm1.example.com': ['2001:db8::1'] }),
    });
    expect(handlers).toBe('');
    expect(problems.map((p) => p.message)).toEqual([
      'No available nginx lookup handlers could be contacted: m1.example.com has no IPv4 address, and zimbraIPMode is ipv4',
    ]);
  });

  it('only warns when no server is a lookup target, and disables lookup', () => {
    const { handlers, available, problems, warnings } = run({
      servers: [
        proxy(),
        mailboxServer('m1.example.com', { zimbraReverseProxyLookupTarget: 'FALSE' }),
      ],
    });
    expect(handlers).toBe('');
    expect(available).toBe('#');
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      {
        code: 'W_NO_LOOKUP_HANDLERS',
        message: 'No available nginx lookup handlers could be found',
        hint: 'zmprov ms <mailbox server> zimbraReverseProxyLookupTarget TRUE',
      },
    ]);
  });

  it('reports each problem once although two variables use the handler list', () => {
    const handle = run({ servers: [proxy(), mailboxServer('m1.example.com')] });
    HANDLERS.compute(handle.ctx);
    AVAILABLE.compute(handle.ctx);
    expect(handle.problems).toHaveLength(1);
  });
});

describe('lookup settings', () => {
  it('enables zm_lookup caching by default and follows the attribute', () => {
    const caching = variable('zmlookup.caching');
    expect(caching.defaultText).toBe('on');
    expect(caching.compute(run({ servers: [proxy()] }).ctx)).toBe('on');
    const off = run({
      globalConfig: globalConfig({ zimbraReverseProxyZmlookupCachingEnabled: 'TRUE' }),
      servers: [proxy({ zimbraReverseProxyZmlookupCachingEnabled: 'FALSE' })],
    });
    expect(caching.compute(off.ctx)).toBe('off');
  });

  it('reads the nginx lookup password from localconfig, escaped for its quotes', () => {
    const dpasswd = variable('zmlookup.dpasswd');
    expect(dpasswd.compute(run({ servers: [proxy()] }).ctx)).toBe('zmnginx');
    const custom = run({
      servers: [proxy()],
      localConfig: { ldap_nginx_password: 'p a"s\\s;' },
    });
    expect(dpasswd.compute(custom.ctx)).toBe('p a\\"s\\\\s;');
    expect(custom.problems).toEqual([]);
  });

  it('rejects a lookup password with a line break', () => {
    const handle = run({ servers: [proxy()], localConfig: { ldap_nginx_password: 'a\nb' } });
    expect(variable('zmlookup.dpasswd').compute(handle.ctx)).toBe('zmnginx');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'ldap_nginx_password', entry: 'localconfig' }),
    ]);
  });

  it('reads the prefix URL from the global config only', () => {
    const prefix = variable('zmprefix.url');
    expect(prefix.compute(run({ servers: [proxy()] }).ctx)).toBe('/');
    const handle = run({
      globalConfig: globalConfig({ zimbraMailURL: '/mail' }),
      servers: [proxy({ zimbraMailURL: '/ignored' })],
    });
    expect(prefix.compute(handle.ctx)).toBe('/mail');
  });

  it('rejects a prefix URL that would break the directive', () => {
    const handle = run({
      globalConfig: globalConfig({ zimbraMailURL: '/; include /etc/passwd' }),
      servers: [proxy()],
    });
    expect(variable('zmprefix.url').compute(handle.ctx)).toBe('/');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraMailURL', entry: 'global config' }),
    ]);
  });

  it('defines each lookup variable once with its area and a description', () => {
    expect(LOOKUP_VARIABLES.map((v) => v.name)).toEqual([
      'zmlookup.:handlers',
      'lookup.available',
      'zmlookup.caching',
      'zmlookup.dpasswd',
      'zmprefix.url',
    ]);
    for (const v of LOOKUP_VARIABLES) {
      expect(v.area).toBe('lookup');
      expect(v.description).not.toBe('');
    }
  });
});
