/** The checks that read only the directory: external routes, trusted IPs, SSL to upstream, REST URLs. */
import { describe, expect, it } from 'vitest';
import { checkExternalRoutes } from '../../../../src/doctor/checks/external-routes.js';
import { checkRestUrls } from '../../../../src/doctor/checks/rest-urls.js';
import { checkSslUpstream } from '../../../../src/doctor/checks/ssl-upstream.js';
import type { TemplateFacts } from '../../../../src/doctor/checks/trusted-ips.js';
import { checkTrustedIps } from '../../../../src/doctor/checks/trusted-ips.js';
import type { DirectoryEntry } from '../../../../src/model/snapshot.js';
import type { Attrs } from '../../../helpers/builders.js';
import {
  context,
  dnsTable,
  domain,
  globalConfig,
  mailboxServer,
  server,
  snapshot,
} from '../../../helpers/builders.js';

function ctxOf(
  global: Attrs,
  servers: DirectoryEntry[],
  domains: DirectoryEntry[] = [],
  accounts: DirectoryEntry[] = [],
) {
  const snap = { ...snapshot({ globalConfig: globalConfig(global), servers, domains }), accounts };
  return context({
    snapshot: snap,
    dns: dnsTable({ 'proxy1.example.com': ['10.0.0.1'], 'mbox1.example.com': ['10.0.0.11'] }),
  }).ctx;
}

const PROXY = server('proxy1.example.com', { zimbraServiceEnabled: ['proxy', 'memcached'] });
const MBOX = mailboxServer('mbox1.example.com');

describe('checkExternalRoutes', () => {
  const external = domain('ext.example.com', { zimbraReverseProxyUseExternalRoute: 'TRUE' });

  it('passes when nothing routes to an external server', () => {
    expect(
      checkExternalRoutes(ctxOf({}, [PROXY, MBOX], [domain('example.com')])).map((f) => f.severity),
    ).toEqual(['ok']);
  });

  it('warns about XOIP and ID while a domain routes to an external server', () => {
    const findings = checkExternalRoutes(
      ctxOf({ zimbraReverseProxySendPop3Xoip: 'TRUE' }, [PROXY, MBOX], [external]),
    );
    expect(findings.map((f) => [f.severity, f.subject])).toEqual([
      ['warn', 'zimbraReverseProxySendPop3Xoip'],
      ['warn', 'zimbraReverseProxySendImapId'],
    ]);
    expect(findings[0]?.evidence).toContain('domain ext.example.com routes to an external server');
    expect(findings[0]?.fix).toBe(
      'zmprov mcf zimbraReverseProxySendPop3Xoip FALSE && zmproxyconfgen && zmproxyctl reload',
    );
  });

  it('sees an account with an external route too, and passes once both are off', () => {
    const account: DirectoryEntry = {
      dn: 'uid=u,ou=people,dc=example,dc=com',
      kind: 'account',
      attrs: {
        zimbraMailDeliveryAddress: ['u@example.com'],
        zimbraReverseProxyUseExternalRoute: ['TRUE'],
      },
    };
    const off = { zimbraReverseProxySendPop3Xoip: 'FALSE', zimbraReverseProxySendImapId: 'FALSE' };
    const findings = checkExternalRoutes(ctxOf(off, [PROXY, MBOX], [], [account]));
    expect(findings.map((f) => f.severity)).toEqual(['ok', 'ok']);
    expect(findings[0]?.evidence).toContain('account u@example.com');
  });
});

describe('checkTrustedIps', () => {
  const templates: TemplateFacts = {
    ok: true,
    dir: '/t',
    templates: [
      {
        name: 'nginx.conf.web.template',
        path: '/t/x',
        text: 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      },
    ],
  };

  it('passes when every proxy address is trusted and the templates send X-Forwarded-For', () => {
    const findings = checkTrustedIps(
      ctxOf(
        {
          zimbraMailTrustedIP: ['127.0.0.1', '10.0.0.0/24'],
          zimbraReverseProxyHttpEnabled: 'TRUE',
        },
        [PROXY, MBOX],
      ),
      templates,
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok', 'ok']);
  });

  it("warns about a proxy missing from a server's own list, with the ms fix", () => {
    const mbox = mailboxServer('mbox1.example.com', { zimbraMailTrustedIP: '127.0.0.1' });
    const findings = checkTrustedIps(
      ctxOf({ zimbraMailTrustedIP: '10.0.0.1' }, [PROXY, mbox]),
      templates,
    );
    expect(findings[0]?.subject).toBe('server mbox1.example.com');
    expect(findings[0]?.evidence).toContain('10.0.0.1 (proxy1.example.com) missing');
    expect(findings[0]?.fix).toBe(
      'zmprov ms mbox1.example.com +zimbraMailTrustedIP 10.0.0.1 && zmmailboxdctl restart',
    );
  });

  it('warns when the web templates do not send X-Forwarded-For', () => {
    const findings = checkTrustedIps(
      ctxOf({ zimbraMailTrustedIP: '10.0.0.1', zimbraReverseProxyHttpEnabled: 'TRUE' }, [
        PROXY,
        MBOX,
      ]),
      {
        ok: true,
        dir: '/t',
        templates: [{ name: 'nginx.conf.web.template', path: '/t/x', text: 'proxy_pass x;' }],
      },
    );
    expect(findings.find((f) => f.subject === 'X-Forwarded-For')?.severity).toBe('warn');
  });
});

describe('checkSslUpstream', () => {
  it('passes TLS to an https upstream', () => {
    const findings = checkSslUpstream(
      ctxOf(
        { zimbraReverseProxySSLToUpstreamEnabled: 'TRUE', zimbraReverseProxyMailEnabled: 'FALSE' },
        [PROXY, MBOX],
      ),
    );
    expect(findings.filter((f) => f.subject !== 'stock nginx').map((f) => f.severity)).toEqual([
      'ok',
    ]);
  });

  it('fails a proxy mail mode zmproxyconfig refuses with SSL to upstream', () => {
    const proxy = server('proxy1.example.com', {
      zimbraServiceEnabled: 'proxy',
      zimbraReverseProxyMailMode: 'both',
    });
    const findings = checkSslUpstream(
      ctxOf({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [proxy, MBOX]),
    );
    const failure = findings.find((f) => f.severity === 'fail');
    expect(failure?.fix).toBe('zmprov ms proxy1.example.com zimbraReverseProxyMailMode https');
  });

  it('fails an http-mode upstream under TLS, and an https-mode upstream without it', () => {
    const http = mailboxServer('mbox1.example.com', { zimbraMailMode: 'http' });
    expect(
      checkSslUpstream(
        ctxOf({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [PROXY, http]),
      ).find((f) => f.severity === 'fail')?.fix,
    ).toBe('zmprov ms mbox1.example.com zimbraMailMode both && zmmailboxdctl restart');
    expect(
      checkSslUpstream(
        ctxOf({ zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' }, [PROXY, MBOX]),
      ).find((f) => f.severity === 'fail')?.evidence,
    ).toContain('zimbraMailMode of upstream mbox1.example.com is https');
  });

  it('reports what stock nginx cannot do for mail', () => {
    const findings = checkSslUpstream(
      ctxOf({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [PROXY, MBOX]),
    );
    expect(
      findings.some(
        (f) =>
          f.subject === 'stock nginx' &&
          f.evidence.includes('over TLS without checking their certificates'),
      ),
    ).toBe(true);
  });
});

describe('checkRestUrls', () => {
  it('warns about a domain with a virtual host but no public service host name', () => {
    const findings = checkRestUrls(
      ctxOf(
        {},
        [PROXY, MBOX],
        [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      ),
    );
    expect(findings[0]?.severity).toBe('warn');
    expect(findings[0]?.fix).toBe(
      'zmprov md example.com zimbraPublicServiceHostname mail.example.com zimbraPublicServiceProtocol https',
    );
  });

  it('passes when the public service host name is set, here inherited from the global config', () => {
    const findings = checkRestUrls(
      ctxOf(
        { zimbraPublicServiceHostname: 'mail.example.com' },
        [PROXY, MBOX],
        [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      ),
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });
});
