import { describe, expect, it } from 'vitest';
import {
  SNI_LISTENER_PORT,
  UPSTREAM_TLS_PORT,
  sniListenerAddress,
  upstreamTlsAddress,
} from '../../../src/model/mail-tls-chain.js';
import { STOCK_MAIL_TLS_VARIABLES, computeStockMailTls } from '../../../src/vars/stock-mail-tls.js';
import { computeStockWarnings } from '../../../src/vars/stock-limits.js';
import type { VarContext } from '../../../src/vars/types.js';
import { domain, mailboxServer, proxyContext, variableValue } from '../../helpers/builders.js';
import type { ProxySetup } from '../../helpers/builders.js';
import { CERT_C, KEY_C } from '../../helpers/pem.js';

const value = (ctx: VarContext, name: string): string =>
  variableValue(STOCK_MAIL_TLS_VARIABLES, ctx, name);

/** A proxy-only server that generates the config, plus mailbox servers. */
const setup = (options: ProxySetup) =>
  proxyContext(options, {
    servers: [
      mailboxServer('mbox1.example.com', { zimbraImapSSLBindPort: '1993' }),
      mailboxServer('mbox2.example.com'),
    ],
    dns: { 'mbox1.example.com': ['192.0.2.1'], 'mbox2.example.com': ['192.0.2.2'] },
  });

describe('the loopback address scheme', () => {
  it('derives a stable loopback address from the server name alone, case-insensitively', () => {
    const a = upstreamTlsAddress('mbox1.example.com');
    expect(a).toBe(upstreamTlsAddress(' MBOX1.example.com'));
    expect(a).not.toBe(upstreamTlsAddress('mbox2.example.com'));
    const octets = a.split('.').map(Number);
    expect(octets[0]).toBe(127);
    expect(octets[1]).toBeGreaterThanOrEqual(64);
    expect(octets[1]).toBeLessThan(128);
  });

  it('numbers the SNI listeners in 127.2.0.0/16 from 1', () => {
    expect(sniListenerAddress(1)).toBe('127.2.0.1');
    expect(sniListenerAddress(256)).toBe('127.2.1.0');
    expect(() => sniListenerAddress(0)).toThrow(RangeError);
  });
});

describe('TLS to the mailbox servers', () => {
  it('gives every mailbox server a listener per protocol, towards its TLS port', () => {
    const { ctx } = setup({});
    const chain = computeStockMailTls(ctx);
    expect(chain.stream).toBe(true);
    expect(chain.upstream.listeners).toEqual([
      {
        protocol: 'imap',
        server: 'mbox1.example.com',
        listen: `${upstreamTlsAddress('mbox1.example.com')}:${UPSTREAM_TLS_PORT.imap}`,
        target: 'mbox1.example.com:1993',
      },
      {
        protocol: 'pop3',
        server: 'mbox1.example.com',
        listen: `${upstreamTlsAddress('mbox1.example.com')}:${UPSTREAM_TLS_PORT.pop3}`,
        target: 'mbox1.example.com:995',
      },
      {
        protocol: 'imap',
        server: 'mbox2.example.com',
        listen: `${upstreamTlsAddress('mbox2.example.com')}:${UPSTREAM_TLS_PORT.imap}`,
        target: 'mbox2.example.com:993',
      },
      {
        protocol: 'pop3',
        server: 'mbox2.example.com',
        listen: `${upstreamTlsAddress('mbox2.example.com')}:${UPSTREAM_TLS_PORT.pop3}`,
        target: 'mbox2.example.com:995',
      },
    ]);
    expect(value(ctx, 'stock.stream.enabled')).toBe('');
    expect(value(ctx, 'stock.mail.upstream.tls.enabled')).toBe('');
  });

  it('is off with zimbraReverseProxySSLToUpstreamEnabled FALSE, and so is the stream module', () => {
    const { ctx } = setup({ config: { zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' } });
    expect(computeStockMailTls(ctx).upstream).toMatchObject({ enabled: false, listeners: [] });
    expect(value(ctx, 'stock.stream.enabled')).toBe('#');
    expect(value(ctx, 'stock.mail.upstream.tls.enabled')).toBe('#');
  });

  it('verifies only with a CA, and warns until one is set', () => {
    const unverified = setup({}).ctx;
    expect(value(unverified, 'stock.mail.upstream.tls.verify.enabled')).toBe('#');
    expect(computeStockWarnings(unverified).map((w) => w.message)).toContainEqual(
      expect.stringContaining('zmproxy_mail_upstream_ca_file is empty'),
    );
    const verified = setup({ localConfig: { zmproxy_mail_upstream_ca_file: '/ca/mbx.pem' } }).ctx;
    expect(value(verified, 'stock.mail.upstream.tls.verify.enabled')).toBe('');
    expect(value(verified, 'stock.mail.upstream.tls.ca')).toBe('/ca/mbx.pem');
    expect(
      computeStockWarnings(verified)
        .map((w) => w.message)
        .join('\n'),
    ).not.toContain('zmproxy_mail_upstream_ca_file');
  });

  it('refuses a relative CA path and a relative stream module path', () => {
    const { ctx, problems } = setup({
      localConfig: {
        zmproxy_mail_upstream_ca_file: 'ca.pem',
        zmproxy_nginx_stream_module: 'modules/ngx_stream_module.so',
      },
    });
    expect(computeStockMailTls(ctx).upstream.verify).toBe(false);
    expect(value(ctx, 'stock.stream.module')).toBe('/usr/lib/nginx/modules/ngx_stream_module.so');
    expect(problems.map((p) => p.subject)).toEqual([
      'zmproxy_mail_upstream_ca_file',
      'zmproxy_nginx_stream_module',
    ]);
  });

  it('refuses a mailbox server name that is no host name', () => {
    const { ctx, problems } = setup({
      servers: [mailboxServer('mbox1.example.com', { zimbraServiceHostname: 'mbox1;evil' })],
    });
    expect(computeStockMailTls(ctx).upstream.listeners).toEqual([]);
    expect(problems.length).toBeGreaterThan(0);
    expect(new Set(problems.map((p) => p.subject))).toEqual(new Set(['zimbraServiceHostname']));
  });
});

describe("the mailbox servers' own IMAPS and POP3S servers", () => {
  it('warns, naming the server and the attribute, when one that TLS reaches has it off', () => {
    const { ctx, warnings } = setup({
      servers: [
        mailboxServer('mbox1.example.com', { zimbraImapSSLServerEnabled: 'FALSE' }),
        mailboxServer('mbox2.example.com'),
      ],
    });
    computeStockMailTls(ctx);
    expect(warnings.map((w) => [w.code, w.message.split(':')[0]])).toEqual([
      [
        'W_MAILBOX_TLS_SERVER_OFF',
        'mailbox server mbox1.example.com has zimbraImapSSLServerEnabled FALSE',
      ],
    ]);
    expect(warnings[0]?.hint).toContain(
      'zmprov ms mbox1.example.com zimbraImapSSLServerEnabled TRUE',
    );
  });

  it('reads the global config value, and says nothing without TLS to the mailbox servers', () => {
    const off = { zimbraPop3SSLServerEnabled: 'FALSE' };
    expect(setupWarnings({ config: off })).toEqual([
      'W_MAILBOX_TLS_SERVER_OFF',
      'W_MAILBOX_TLS_SERVER_OFF',
    ]);
    expect(
      setupWarnings({ config: { ...off, zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' } }),
    ).toEqual([]);
    expect(setupWarnings({})).toEqual([]);
  });
});

function setupWarnings(options: Parameters<typeof setup>[0]): string[] {
  const { ctx, warnings } = setup(options);
  computeStockMailTls(ctx);
  return warnings.map((w) => w.code);
}

describe('IMAPS/POP3S certificates by server name', () => {
  const domains = [
    domain('a.test', {
      zimbraVirtualHostname: ['mail.a.test', 'IMAP.a.test'],
      zimbraSSLCertificate: CERT_C,
      zimbraSSLPrivateKey: KEY_C,
    }),
    domain('b.test', { zimbraVirtualHostname: 'mail.b.test' }),
  ];

  it('routes the names of a domain certificate to a listener of their own; others to the default', () => {
    const { ctx } = setup({
      config: {
        zimbraReverseProxySNIEnabled: 'TRUE',
        zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE',
      },
      domains,
    });
    const sni = computeStockMailTls(ctx).sni;
    expect(sni).toMatchObject({ enabled: true, imaps: true, pop3s: true });
    expect(sni.certificates.map((c) => [c.index, c.crt, c.names])).toEqual([
      [1, '/opt/zimbra/conf/nginx.crt', []],
      [2, '/opt/zimbra/conf/domaincerts/a.test.crt', ['imap.a.test', 'mail.a.test']],
    ]);
    expect(sni.extra[0]?.imapListen).toBe(`127.2.0.2:${SNI_LISTENER_PORT.imap}`);
    expect(value(ctx, 'stock.mail.sni.imap.on')).toBe('');
    expect(value(ctx, 'stock.mail.sni.imap.off')).toBe('#');
  });

  it('stays off without SNI, and when no domain has a certificate of its own', () => {
    const off = setup({ config: { zimbraReverseProxySNIEnabled: 'FALSE' }, domains }).ctx;
    expect(computeStockMailTls(off).sni.enabled).toBe(false);
    expect(value(off, 'stock.mail.sni.imap.off')).toBe('');
    const plain = setup({
      config: { zimbraReverseProxySNIEnabled: 'TRUE' },
      domains: [domain('b.test', { zimbraVirtualHostname: 'mail.b.test' })],
    }).ctx;
    expect(computeStockMailTls(plain).sni.enabled).toBe(false);
  });
});

describe('the TLS port attribute', () => {
  it('reports a global port attribute that names no port attribute, and reads the default', () => {
    const { ctx, problems } = setup({
      config: { zimbraReverseProxyImapSSLPortAttribute: '10m' },
    });
    const imap = computeStockMailTls(ctx).upstream.listeners.filter((l) => l.protocol === 'imap');
    expect(imap.map((l) => l.target)).toEqual(['mbox1.example.com:1993', 'mbox2.example.com:993']);
    expect(problems.map((p) => p.subject)).toEqual(['zimbraReverseProxyImapSSLPortAttribute']);
  });
});
