import { describe, expect, it } from 'vitest';
import { STOCK_VARIABLES, computeStockMailVips } from '../../../src/vars/stock.js';
import { computeStockWarnings } from '../../../src/vars/stock-limits.js';
import type { VarContext } from '../../../src/vars/types.js';
import { domain, mailboxServer, proxyContext, variableValue } from '../../helpers/builders.js';
import type { ProxySetup } from '../../helpers/builders.js';
import { CERT_C, KEY_C } from '../../helpers/pem.js';

const value = (ctx: VarContext, name: string): string => variableValue(STOCK_VARIABLES, ctx, name);

/** A proxy-only server that generates the config, plus mailbox servers. */
const setup = (options: ProxySetup) =>
  proxyContext(options, {
    servers: [mailboxServer('mbox1.example.com')],
    dns: { 'mbox1.example.com': ['192.0.2.1'] },
  });

describe('stock lookup variables', () => {
  it('sends lookups to the local service on loopback port 7077 by default', () => {
    const { ctx, problems } = setup({ servers: [mailboxServer('mbox1.example.com')] });
    expect(value(ctx, 'stock.lookup.scheme')).toBe('http');
    expect(value(ctx, 'stock.lookup.:servers')).toBe('server    127.0.0.1:7077 fail_timeout=60s;');
    expect(problems).toEqual([]);
  });

  it('follows the local service to the address and port localconfig names', () => {
    const { ctx } = setup({
      localConfig: { zmproxy_lookup_bind_address: '::1', zmproxy_lookup_port: '7177' },
    });
    expect(value(ctx, 'stock.lookup.:servers')).toBe('server    [::1]:7177 fail_timeout=60s;');
  });

  it('sends lookups to remote services over https, by resolved address', () => {
    const { ctx, problems } = setup({
      localConfig: {
        zmproxy_lookup_servers: 'lookup1.example.com:7077 192.0.2.8:7077',
        zmproxy_lookup_scheme: 'https',
      },
      dns: { 'lookup1.example.com': ['192.0.2.7'] },
    });
    expect(problems).toEqual([]);
    expect(value(ctx, 'stock.lookup.scheme')).toBe('https');
    expect(value(ctx, 'stock.lookup.:servers')).toBe(
      'server    192.0.2.7:7077 fail_timeout=60s;\n    server    192.0.2.8:7077 fail_timeout=60s;',
    );
  });

  it('refuses remote services off loopback over plain http, and an unusable port', () => {
    const remote = setup({ localConfig: { zmproxy_lookup_servers: '192.0.2.8:7077' } });
    value(remote.ctx, 'stock.lookup.:servers');
    expect(remote.problems.map((p) => p.subject)).toEqual(['zmproxy_lookup_scheme']);
    const port = setup({ localConfig: { zmproxy_lookup_port: '70770' } });
    value(port.ctx, 'stock.lookup.:servers');
    expect(port.problems.map((p) => p.subject)).toEqual(['zmproxy_lookup_port']);
  });

  it('turns the lookup handlers into upstream servers with the retry interval as fail_timeout', () => {
    const { ctx } = setup({
      localConfig: { zmproxy_lookup_servers: 'nle' },
      config: { zimbraReverseProxyRouteLookupTimeoutCache: '30s' },
      servers: [mailboxServer('mbox1.example.com'), mailboxServer('mbox2.example.com')],
      dns: { 'mbox2.example.com': ['192.0.2.2'] },
    });
    expect(value(ctx, 'stock.lookup.scheme')).toBe('https');
    expect(value(ctx, 'stock.lookup.:servers')).toBe(
      'server    192.0.2.1:7072 fail_timeout=30s;\n    server    192.0.2.2:7072 fail_timeout=30s;',
    );
  });

  it('leaves out handlers of the other scheme and warns about them', () => {
    const { ctx } = setup({
      localConfig: { zmproxy_lookup_servers: 'nle' },
      servers: [
        mailboxServer('mbox1.example.com'),
        mailboxServer('old.example.com', {
          zimbraServerVersionMajor: '8',
          zimbraServerVersionMinor: '6',
        }),
      ],
      dns: { 'old.example.com': ['192.0.2.9'] },
    });
    expect(value(ctx, 'stock.lookup.:servers')).toBe('server    192.0.2.1:7072 fail_timeout=60s;');
    expect(
      computeStockWarnings(ctx)
        .map((w) => w.message)
        .join('\n'),
    ).toContain('lookup handlers 192.0.2.9:7072 speak http://');
  });

  it('points auth_http at the loopback listener from localconfig and rejects other addresses', () => {
    const good = setup({ localConfig: { zmproxy_auth_http_listen: '[::1]:7090' } });
    expect(value(good.ctx, 'stock.lookup.url')).toBe(
      'http://[::1]:7090/service/extension/nginx-lookup',
    );
    const bad = setup({ localConfig: { zmproxy_auth_http_listen: '192.0.2.5:7079' } });
    expect(value(bad.ctx, 'stock.lookup.listen')).toBe('127.0.0.1:7079');
    expect(bad.problems.map((p) => p.subject)).toEqual(['zmproxy_auth_http_listen']);
  });

  it('enables the shared key header only when a usable key is configured', () => {
    expect(value(setup({}).ctx, 'stock.lookup.key.enabled')).toBe('#');
    const keyed = setup({ localConfig: { zmproxy_lookup_shared_key: 'abc123+/=' } });
    expect(value(keyed.ctx, 'stock.lookup.key.enabled')).toBe('');
    expect(value(keyed.ctx, 'stock.lookup.key')).toBe('abc123+/=');
    const quoted = setup({ localConfig: { zmproxy_lookup_shared_key: 'a"b' } });
    expect(value(quoted.ctx, 'stock.lookup.key')).toBe('');
    expect(quoted.problems.map((p) => p.subject)).toEqual(['zmproxy_lookup_shared_key']);
  });
});

describe('stock mail variables', () => {
  it("announces Zimbra's IMAP capabilities without ID before login", () => {
    expect(value(setup({}).ctx, 'stock.mail.imapcapa')).toBe(
      ' "IMAP4rev1" "LITERAL+" "SASL-IR" "IDLE" "NAMESPACE"',
    );
  });

  it("gives each virtual IP address one mail server, with the first domain's certificate", () => {
    const { ctx } = setup({
      config: {
        zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE',
        zimbraReverseProxySNIEnabled: 'FALSE',
      },
      domains: [
        domain('a.test', {
          zimbraVirtualHostname: ['mail.a.test', 'imap.a.test'],
          zimbraVirtualIPAddress: '203.0.113.1',
          zimbraSSLCertificate: CERT_C,
          zimbraSSLPrivateKey: KEY_C,
        }),
      ],
    });
    expect(computeStockMailVips(ctx)).toEqual([
      {
        vip: '203.0.113.1:',
        address: '203.0.113.1',
        domain: 'a.test',
        crt: '/opt/zimbra/conf/domaincerts/a.test.crt',
        key: '/opt/zimbra/conf/domaincerts/a.test.key',
      },
    ]);
    // The servers themselves: templates/nginx.conf.mail.*.template.hbs (goldens sni-on-vips,
    // ipv6-vips-sni-off).
  });

  it('has no per-address mail servers when SNI is on', () => {
    const { ctx } = setup({
      config: {
        zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE',
        zimbraReverseProxySNIEnabled: 'TRUE',
      },
      domains: [
        domain('a.test', {
          zimbraVirtualHostname: 'mail.a.test',
          zimbraVirtualIPAddress: '203.0.113.1',
          zimbraSSLCertificate: CERT_C,
          zimbraSSLPrivateKey: KEY_C,
        }),
      ],
    });
    expect(computeStockMailVips(ctx)).toEqual([]);
  });
});

describe('stock web variables', () => {
  it('leaves version= and port-0 servers out of the upstream groups', () => {
    const { ctx } = setup({
      servers: [
        mailboxServer('mbox1.example.com', {
          zimbraMailSSLPort: '8443',
          zimbraMailProxyMaxFails: '3',
        }),
        mailboxServer('mbox2.example.com'),
      ],
      dns: { 'mbox2.example.com': ['192.0.2.2'] },
    });
    expect(value(ctx, 'stock.upstream.webclient.name')).toBe('zimbra_ssl_webclient');
    expect(value(ctx, 'stock.upstream.webclient.:servers')).toBe(
      'server    mbox1.example.com:8443 fail_timeout=60s max_fails=3;',
    );
    expect(value(ctx, 'stock.upstream.webclient.enabled')).toBe('');
    expect(value(ctx, 'stock.upstream.admin.enabled')).toBe('#');
  });

  it('derives the web login limit as a per-minute rate with the whole allowance as burst', () => {
    const { ctx } = setup({
      config: {
        zimbraReverseProxyIPLoginLimit: '100',
        zimbraReverseProxyIPLoginLimitTime: '3600',
        zimbraReverseProxyIPThrottleWhitelist: ['10.0.0.0/8', '2001:db8::/32'],
      },
    });
    expect(value(ctx, 'stock.throttle.web.enabled')).toBe('');
    expect(value(ctx, 'stock.throttle.web.rate')).toBe('2r/m');
    expect(value(ctx, 'stock.throttle.web.burst')).toBe('100');
    expect(value(ctx, 'stock.throttle.whitelist.:geo')).toBe(
      '10.0.0.0/8  1;\n    2001:db8::/32  1;',
    );
    expect(value(setup({}).ctx, 'stock.throttle.web.enabled')).toBe('#');
  });

  it('writes the https port into redirect URLs only when it is not 443', () => {
    expect(
      value(
        setup({ config: { zimbraMailSSLProxyPort: '443' } }).ctx,
        'stock.web.https.port.suffix',
      ),
    ).toBe('');
    expect(
      value(
        setup({ config: { zimbraMailSSLProxyPort: '8443' } }).ctx,
        'stock.web.https.port.suffix',
      ),
    ).toBe(':8443');
  });
});

describe('computeStockWarnings', () => {
  it('names each mail feature stock nginx lacks with its attribute', () => {
    const { ctx } = setup({
      config: {
        zimbraReverseProxyMailEnabled: 'TRUE',
        zimbraReverseProxyImapSaslGssapiEnabled: 'TRUE',
      },
      localConfig: {
        zmproxy_lookup_shared_key: 'k',
        zmproxy_lookup_ca_file: '/ca.pem',
        zmproxy_lookup_servers: 'nle',
        zmproxy_mail_upstream_ca_file: '/mbx-ca.pem',
      },
    });
    const messages = computeStockWarnings(ctx).map((w) => w.message.split(' ')[0]);
    expect(messages).toEqual([
      'zimbraReverseProxySendImapId',
      'zimbraReverseProxySendPop3Xoip',
      'zimbraReverseProxyImapSaslGssapiEnabled',
    ]);
  });

  it('says nothing about mail when mail is not proxied', () => {
    const { ctx } = setup({
      config: { zimbraReverseProxyMailEnabled: 'FALSE' },
      localConfig: {
        zmproxy_lookup_shared_key: 'k',
        zmproxy_lookup_ca_file: '/ca.pem',
        zmproxy_lookup_servers: 'nle',
      },
    });
    expect(computeStockWarnings(ctx)).toEqual([]);
  });

  it('warns that lookup handlers are reached over TLS without verification until a CA is set', () => {
    const unverified = setup({
      localConfig: { zmproxy_lookup_shared_key: 'k', zmproxy_lookup_servers: 'nle' },
    }).ctx;
    expect(computeStockWarnings(unverified).map((w) => w.message)).toContainEqual(
      expect.stringContaining('zmproxy_lookup_ca_file is empty'),
    );
    expect(value(unverified, 'stock.lookup.tls.verify.enabled')).toBe('#');
    const verified = setup({
      localConfig: {
        zmproxy_lookup_shared_key: 'k',
        zmproxy_lookup_ca_file: '/opt/zimbra/conf/ca/ca.pem',
        zmproxy_lookup_servers: 'nle',
      },
    }).ctx;
    expect(value(verified, 'stock.lookup.tls.verify.enabled')).toBe('');
    expect(value(verified, 'stock.lookup.tls.ca')).toBe('/opt/zimbra/conf/ca/ca.pem');
    expect(value(verified, 'stock.lookup.tls.name')).toBe('zmlookup');
  });
});
