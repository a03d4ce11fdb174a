import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import {
  context,
  dnsTable,
  domain,
  globalConfig,
  server,
  snapshot,
} from '../../helpers/builders.js';
import { containing } from '../../helpers/matchers.js';
import type { DnsTable } from '../../../src/model/dns.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import {
  computeClientCaBundle,
  computeDomainItems,
  computeListenAddresses,
  formatResponseHeaders,
  parseResponseHeader,
} from '../../../src/vars/domains.js';
import { CERT_A, CERT_B, CERT_C, KEY_C } from '../../helpers/pem.js';

// Sorted: CA_A < CA_B as strings.
const [CA_A, CA_B] = [CERT_A, CERT_B].sort() as [string, string];

function setup(options: {
  domains: DirectoryEntry[];
  proxy?: Attrs;
  gc?: Attrs;
  dns?: DnsTable;
  workdir?: string;
}) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig({ zimbraReverseProxyClientCertMode: 'off', ...options.gc }),
      servers: [
        server('proxy', {
          zimbraServiceEnabled: ['proxy'],
          zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE',
          ...options.proxy,
        }),
      ],
      domains: options.domains,
    }),
    dns: options.dns,
    workdir: options.workdir,
  });
}

describe('domain items', () => {
  it('uses the default certificate, with a warning, for a domain with a certificate but no key', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: 'mail.example.com',
          zimbraSSLCertificate: CA_A,
        }),
      ],
    });
    const [item] = computeDomainItems(handle.ctx);
    expect(item?.vars['ssl.crt']).toBe('/opt/zimbra/conf/nginx.crt');
    expect(item?.vars['ssl.key']).toBe('/opt/zimbra/conf/nginx.key');
    expect(handle.warnings.map((w) => w.message)).toContainEqual(
      expect.stringContaining('zimbraSSLCertificate but no zimbraSSLPrivateKey'),
    );
  });

  it('yields no items when zimbraReverseProxyGenConfigPerVirtualHostname is unset (code default FALSE)', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      proxy: { zimbraReverseProxyGenConfigPerVirtualHostname: [] },
    });
    expect(computeDomainItems(handle.ctx)).toEqual([]);
  });

  it('yields one item per virtual host name, sorted, with the default certificate', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: ['webmail.example.com', 'mail.example.com'],
          zimbraVirtualIPAddress: ['10.0.0.2', '10.0.0.1'],
        }),
      ],
    });
    const items = computeDomainItems(handle.ctx);
    expect(items.map((item) => item.vhn)).toEqual(['mail.example.com', 'webmail.example.com']);
    expect(items[0]).toEqual({
      domain: 'example.com',
      vhn: 'mail.example.com',
      clientCertMode: 'off',
      vars: {
        vhn: 'mail.example.com',
        vip: '10.0.0.1:',
        'ssl.crt': '/opt/zimbra/conf/nginx.crt',
        'ssl.key': '/opt/zimbra/conf/nginx.key',
        'ssl.clientcertmode': 'off',
        'ssl.clientcertca': '/opt/zimbra/conf/nginx.client.ca.crt',
        'web.sso.certauth.enabled': '#',
        'web.add.headers.vhost': '',
      },
    });
    expect(handle.problems).toEqual([]);
  });

  it('pairs VIPs by index when the lists have equal length, before sorting', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: ['b.example.com', 'a.example.com'],
          zimbraVirtualIPAddress: ['10.0.0.2', '10.0.0.1'],
        }),
      ],
    });
    expect(computeDomainItems(handle.ctx).map((i) => [i.vhn, i.vars['vip']])).toEqual([
      ['a.example.com', '10.0.0.1:'],
      ['b.example.com', '10.0.0.2:'],
    ]);
  });

  it('uses the first VIP for every name when the lists differ in length', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: ['a.example.com', 'b.example.com', 'c.example.com'],
          zimbraVirtualIPAddress: ['10.0.0.9', '10.0.0.8'],
        }),
      ],
    });
    expect(computeDomainItems(handle.ctx).map((i) => i.vars['vip'])).toEqual([
      '10.0.0.9:',
      '10.0.0.9:',
      '10.0.0.9:',
    ]);
  });

  it('resolves the virtual host name through DNS when the domain has no VIP', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      dns: dnsTable({ 'mail.example.com': ['192.0.2.10'] }),
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('192.0.2.10:');
  });

  it('uses a virtual host name that is an IP address as the address itself', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: '192.0.2.7' })],
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('192.0.2.7:');
  });

  it('treats a name missing from the DNS table as an unknown address', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('');
    expect(handle.warnings).toEqual([]);
  });

  it('warns when the virtual host name does not resolve and listens on the wildcard', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      dns: dnsTable({ 'mail.example.com': [] }),
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('');
    expect(handle.warnings).toEqual([
      expect.objectContaining({
        message: containing('mail.example.com of domain example.com does not resolve'),
      }),
    ]);
    expect(handle.problems).toEqual([]);
  });

  it('brackets an IPv6 address and uses [::]: for it with SNI', () => {
    const domains = [
      domain('example.com', {
        zimbraVirtualHostname: 'mail.example.com',
        zimbraVirtualIPAddress: '2001:db8::1',
      }),
    ];
    const plain = setup({ domains, proxy: { zimbraIPMode: 'both' } });
    expect(computeDomainItems(plain.ctx)[0]?.vars['vip']).toBe('[2001:db8::1]:');
    const sni = setup({
      domains,
      proxy: { zimbraIPMode: 'both', zimbraReverseProxySNIEnabled: 'TRUE' },
    });
    expect(computeDomainItems(sni.ctx)[0]?.vars['vip']).toBe('[::]:');
  });

  it('listens on the wildcard for an IPv4 address when SNI is on', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: 'mail.example.com',
          zimbraVirtualIPAddress: '10.0.0.1',
        }),
      ],
      proxy: { zimbraReverseProxySNIEnabled: 'TRUE' },
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('');
  });

  it('picks the address of the IP mode from a dual-stack DNS answer', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      proxy: { zimbraIPMode: 'ipv6' },
      dns: dnsTable({ 'mail.example.com': ['192.0.2.10', '2001:db8::10'] }),
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['vip']).toBe('[2001:db8::10]:');
    expect(handle.problems).toEqual([]);
  });

  it('reports an IPv6 VIP under IP mode ipv4', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: 'mail.example.com',
          zimbraVirtualIPAddress: '2001:db8::1',
        }),
      ],
      proxy: { zimbraIPMode: 'ipv4' },
    });
    computeDomainItems(handle.ctx);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraVirtualIPAddress',
        entry: 'domain example.com',
        value: '2001:db8::1',
        message: 'is an IPv6 address, but zimbraIPMode of server proxy is ipv4',
      }),
    ]);
  });

  it('reports a virtual host name that resolves only to IPv4 under IP mode ipv6', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      proxy: { zimbraIPMode: 'ipv6' },
      dns: dnsTable({ 'mail.example.com': ['192.0.2.10'] }),
    });
    computeDomainItems(handle.ctx);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraVirtualHostname',
        value: 'mail.example.com',
        message:
          'resolves to 192.0.2.10, which is an IPv4 address, but zimbraIPMode of server proxy is ipv6',
      }),
    ]);
  });

  it('reports a VIP that is not an IP address and a virtual host name that is not a host name', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: ['good.example.com', 'bad name;'],
          zimbraVirtualIPAddress: ['10.0.0.300'],
        }),
      ],
    });
    const items = computeDomainItems(handle.ctx);
    expect(items.map((i) => i.vhn)).toEqual(['good.example.com']);
    expect(handle.problems.map((p) => [p.subject, p.entry, p.value])).toEqual([
      ['zimbraVirtualHostname', 'domain example.com', 'bad name;'],
      ['zimbraVirtualIPAddress', 'domain example.com', '10.0.0.300'],
    ]);
  });

  it('uses the per-domain certificate and key under the -w work directory', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: 'mail.example.com',
          zimbraSSLCertificate: CERT_C,
          zimbraSSLPrivateKey: KEY_C,
        }),
      ],
      workdir: '/srv/zimbra',
    });
    const vars = computeDomainItems(handle.ctx)[0]?.vars;
    expect(vars?.['ssl.crt']).toBe('/srv/zimbra/conf/domaincerts/example.com.crt');
    expect(vars?.['ssl.key']).toBe('/srv/zimbra/conf/domaincerts/example.com.key');
  });

  it('skips domains without a virtual host name', () => {
    const handle = setup({ domains: [domain('example.com', { zimbraSSLCertificate: CERT_C })] });
    expect(computeDomainItems(handle.ctx)).toEqual([]);
  });

  it('skips a domain without certificate, key, client-cert mode or CA anywhere', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      gc: { zimbraReverseProxyClientCertMode: [] },
    });
    expect(computeDomainItems(handle.ctx)).toEqual([]);
  });

  it('keeps a domain that only inherits the client-cert mode from the global config', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
    });
    expect(computeDomainItems(handle.ctx)).toHaveLength(1);
  });

  it('orders items by domain, then by virtual host name', () => {
    const handle = setup({
      domains: [
        domain('a.org', { zimbraVirtualHostname: ['z.a.org', 'y.a.org'] }),
        domain('b.org', { zimbraVirtualHostname: ['a.b.org'] }),
      ],
    });
    expect(computeDomainItems(handle.ctx).map((i) => i.vhn)).toEqual([
      'y.a.org',
      'z.a.org',
      'a.b.org',
    ]);
  });

  it('sets the client-cert variables from the domain mode', () => {
    const handle = setup({
      domains: [
        domain('example.com', {
          zimbraVirtualHostname: 'mail.example.com',
          zimbraReverseProxyClientCertMode: 'optional',
          zimbraReverseProxyClientCertCA: CA_A,
        }),
      ],
    });
    const [item] = computeDomainItems(handle.ctx);
    expect(item?.clientCertMode).toBe('optional');
    expect(item?.vars['ssl.clientcertmode']).toBe('optional');
    expect(item?.vars['web.sso.certauth.enabled']).toBe('');
    expect(item?.vars['ssl.clientcertca']).toBe(
      '/opt/zimbra/conf/domaincerts/example.com.client.ca.crt',
    );
  });

  it('uses # for certauth when no client-cert mode is set anywhere (no stale value)', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyClientCertMode: 'on',
          zimbraReverseProxyClientCertCA: CA_A,
        }),
        domain('b.com', { zimbraVirtualHostname: 'mail.b.com', zimbraSSLCertificate: 'C' }),
      ],
      gc: { zimbraReverseProxyClientCertMode: [] },
      proxy: { zimbraReverseProxyClientCertMode: 'optional' },
    });
    const items = computeDomainItems(handle.ctx);
    expect(items.map((i) => [i.clientCertMode, i.vars['web.sso.certauth.enabled']])).toEqual([
      ['on', ''],
      [undefined, '#'],
    ]);
    expect(items[1]?.vars['ssl.clientcertmode']).toBe('optional');
  });

  it('formats the domain response headers, inheriting the global ones', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyResponseHeaders: ['X-Frame-Options: DENY', 'X-A: 1'],
        }),
        domain('b.com', { zimbraVirtualHostname: 'mail.b.com' }),
      ],
      gc: { zimbraReverseProxyResponseHeaders: 'X-Global: yes' },
    });
    expect(computeDomainItems(handle.ctx).map((i) => i.vars['web.add.headers.vhost'])).toEqual([
      'add_header X-Frame-Options DENY;\n    add_header X-A 1;',
      'add_header X-Global yes;',
    ]);
  });
});

describe('listen addresses', () => {
  it('is the strict-servername token alone when no domain has a VIP', () => {
    const handle = setup({
      domains: [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
    });
    expect(computeListenAddresses(handle.ctx)).toBe('${web.strict.servername}');
  });

  it('lists every VIP once, sorted, with IPv6 addresses bracketed', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraVirtualIPAddress: ['10.0.0.2', '2001:db8::1'],
        }),
        domain('b.com', {
          zimbraVirtualHostname: 'mail.b.com',
          zimbraVirtualIPAddress: ['10.0.0.1', '10.0.0.2'],
        }),
      ],
    });
    expect(computeListenAddresses(handle.ctx)).toBe(
      [
        '${web.strict.servername}    listen                  10.0.0.1:${web.https.port} default_server;',
        '${web.strict.servername}    listen                  10.0.0.2:${web.https.port} default_server;',
        '${web.strict.servername}    listen                  [2001:db8::1]:${web.https.port} default_server;',
      ].join('\n'),
    );
  });

  it('ignores the VIPs of domains that are not exploded', () => {
    const handle = setup({
      domains: [domain('a.com', { zimbraVirtualIPAddress: '10.0.0.2' })],
    });
    expect(computeListenAddresses(handle.ctx)).toBe('${web.strict.servername}');
  });
});

describe('client certificate CA bundle', () => {
  it('is empty when no CA is configured and verification is off', () => {
    const handle = setup({ domains: [] });
    expect(computeClientCaBundle(handle.ctx)).toBe('');
    expect(handle.problems).toEqual([]);
  });

  it('joins the server CA and the domain CAs, de-duplicated and sorted', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyClientCertCA: CA_B,
        }),
        domain('b.com', {
          zimbraVirtualHostname: 'mail.b.com',
          zimbraReverseProxyClientCertCA: CA_A,
        }),
      ],
      proxy: { zimbraReverseProxyClientCertCA: CA_B },
    });
    expect(computeClientCaBundle(handle.ctx)).toBe(`${CA_A}\n${CA_B}`);
  });

  it('includes only the server CA when per-vhn generation is off', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyClientCertCA: CA_B,
        }),
      ],
      proxy: {
        zimbraReverseProxyClientCertCA: CA_A,
        zimbraReverseProxyGenConfigPerVirtualHostname: 'FALSE',
      },
    });
    expect(computeClientCaBundle(handle.ctx)).toBe(CA_A);
  });

  it('reports verification on at server level without any CA', () => {
    const handle = setup({ domains: [], proxy: { zimbraReverseProxyClientCertMode: 'on' } });
    expect(computeClientCaBundle(handle.ctx)).toBe('');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyClientCertCA',
        entry: 'server proxy',
        message: containing('client certificate verification is enabled'),
      }),
    ]);
  });

  it('reports verification on in a domain without any CA', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyClientCertMode: 'optional',
        }),
      ],
    });
    computeClientCaBundle(handle.ctx);
    expect(handle.problems).toEqual([
      expect.objectContaining({
        message: containing('of domain a.com is optional'),
      }),
    ]);
  });

  it('reports a CA that is not a PEM certificate', () => {
    const handle = setup({ domains: [], proxy: { zimbraReverseProxyClientCertCA: 'garbage' } });
    expect(computeClientCaBundle(handle.ctx)).toBe('');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraReverseProxyClientCertCA', value: 'garbage' }),
    ]);
  });
});

describe('response headers', () => {
  it('parses "Name: value" and quotes a value with spaces or semicolons', () => {
    const handle = setup({
      domains: [],
      gc: {
        zimbraReverseProxyResponseHeaders: [
          'Strict-Transport-Security: max-age=31536000; includeSubDomains',
          'X-Content-Type-Options: nosniff',
          'X-Quote: say "hi"',
        ],
      },
    });
    expect(formatResponseHeaders(handle.ctx.config)).toBe(
      [
        'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains";',
        'add_header X-Content-Type-Options nosniff;',
        'add_header X-Quote "say \\"hi\\"";',
      ].join('\n    '),
    );
    expect(handle.problems).toEqual([]);
  });

  it('reports a value without ": " instead of inventing X-Zimbra-Unknown-Header', () => {
    const handle = setup({
      domains: [],
      gc: { zimbraReverseProxyResponseHeaders: ['X-Ok: 1', 'NoColonHere', 'X-Tight:1'] },
    });
    expect(formatResponseHeaders(handle.ctx.config)).toBe('add_header X-Ok 1;');
    expect(handle.problems.map((p) => p.value)).toEqual(['NoColonHere', 'X-Tight:1']);
    expect(handle.problems[0]?.hint).toBe(
      "zmprov mcf -zimbraReverseProxyResponseHeaders 'NoColonHere'",
    );
  });

  it('reports a hostile header that smuggles a line break', () => {
    const handle = setup({
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraReverseProxyResponseHeaders: 'X-Evil: 1;\n    return 302 https://evil.example/',
        }),
      ],
    });
    expect(computeDomainItems(handle.ctx)[0]?.vars['web.add.headers.vhost']).toBe('');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyResponseHeaders',
        entry: 'domain a.com',
        message: 'contains a line break',
        hint: containing('zmprov md a.com -zimbraReverseProxyResponseHeaders'),
      }),
    ]);
  });

  it('rejects a header name that is not an HTTP token and a value with ${', () => {
    expect(parseResponseHeader('Bad Name: x').ok).toBe(false);
    expect(parseResponseHeader('X-A: ${core.workdir}').ok).toBe(false);
    expect(parseResponseHeader('X-A: $host')).toEqual({ ok: true, name: 'X-A', value: '$host' });
  });
});
