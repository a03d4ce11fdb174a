import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../helpers/builders.js';
import {
  context,
  domain,
  globalConfig,
  mailboxServer,
  server,
  snapshot,
} from '../../helpers/builders.js';
import { containing } from '../../helpers/matchers.js';
import type { DirectoryEntry } from '../../../src/model/snapshot.js';
import { ADMIN_VARIABLES } from '../../../src/vars/admin.js';
import { DOCS_VARIABLES } from '../../../src/vars/docs.js';
import { SSL_VARIABLES } from '../../../src/vars/ssl.js';
import { SSO_VARIABLES } from '../../../src/vars/sso.js';
import type { VarContextHandle } from '../../../src/vars/context.js';
import { WEB_VARIABLES } from '../../../src/vars/web.js';
import { XMPP_VARIABLES } from '../../../src/vars/xmpp.js';

const GC: Attrs = {
  zimbraMailPort: '8080',
  zimbraMailSSLPort: '8443',
  zimbraAdminPort: '7071',
  zimbraMailProxyReconnectTimeout: '10',
};

function setup(
  options: {
    proxy?: Attrs;
    gc?: Attrs;
    servers?: DirectoryEntry[];
    domains?: DirectoryEntry[];
    localConfig?: Record<string, string>;
    workdir?: string;
  } = {},
): VarContextHandle {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig({ ...GC, ...options.gc }),
      servers: [
        ...(options.servers ?? []),
        server('proxy', { zimbraServiceEnabled: ['proxy'], ...options.proxy }),
      ],
      domains: options.domains ?? [],
    }),
    serverName: 'proxy',
    localConfig: options.localConfig,
    workdir: options.workdir,
  });
}

function value(handle: VarContextHandle, name: string): string {
  const definition = WEB_VARIABLES.find((v) => v.name === name);
  if (definition === undefined) throw new Error(`no variable ${name}`);
  return definition.compute(handle.ctx);
}

describe('web variable set', () => {
  it('defines each name exactly once across the web, ssl, admin, sso, xmpp and docs areas', () => {
    const all = [
      ...WEB_VARIABLES,
      ...SSL_VARIABLES,
      ...ADMIN_VARIABLES,
      ...SSO_VARIABLES,
      ...XMPP_VARIABLES,
      ...DOCS_VARIABLES,
    ].map((v) => v.name);
    expect(new Set(all).size).toBe(all.length);
    expect([
      WEB_VARIABLES.length,
      SSL_VARIABLES.length,
      ADMIN_VARIABLES.length,
      SSO_VARIABLES.length,
      XMPP_VARIABLES.length,
      DOCS_VARIABLES.length,
    ]).toEqual([49, 18, 7, 4, 9, 2]);
  });

  it('leaves the upstream timeouts to the timeouts area', () => {
    const names = WEB_VARIABLES.map((v) => v.name);
    expect(names.filter((n) => n.endsWith('.timeout'))).toEqual([]);
  });

  it('marks exactly the Zimbra variables no template uses as unused', () => {
    expect(WEB_VARIABLES.filter((v) => v.unused === true).map((v) => v.name)).toEqual([
      'web.uploadmax',
      'web.http.maxbody',
      'web.https.maxbody',
    ]);
  });
});

describe('web enablers', () => {
  it('disables the web proxy by default and enables it with zimbraReverseProxyHttpEnabled', () => {
    expect(value(setup(), 'web.enabled')).toBe('#');
    expect(value(setup({ gc: { zimbraReverseProxyHttpEnabled: 'TRUE' } }), 'web.enabled')).toBe('');
  });

  it('makes the web proxy available only when there is a web client upstream', () => {
    expect(value(setup(), 'web.available')).toBe('#');
    expect(value(setup({ servers: [mailboxServer('mb1')] }), 'web.available')).toBe('');
  });

  it.each([
    [undefined, '', ''],
    ['http', '', '#'],
    ['https', '#', ''],
    ['both', '', ''],
    ['redirect', '', ''],
    ['mixed', '', ''],
  ])('mail mode %s gives web.http.enabled %j and web.https.enabled %j', (mode, http, https) => {
    const handle = setup({ proxy: mode === undefined ? {} : { zimbraReverseProxyMailMode: mode } });
    expect(value(handle, 'web.http.enabled')).toBe(http);
    expect(value(handle, 'web.https.enabled')).toBe(https);
    expect(value(handle, 'web.mailmode')).toBe(mode ?? 'both');
  });

  it('enables the strict catch-all server only when configured (code default FALSE)', () => {
    expect(value(setup(), 'web.strict.servername')).toBe('#');
    expect(
      value(
        setup({ gc: { zimbraReverseProxyStrictServerNameEnabled: 'TRUE' } }),
        'web.strict.servername',
      ),
    ).toBe('');
  });
});

describe('http block values', () => {
  it('writes the fair balancer directive with 32k by default and the configured size', () => {
    expect(value(setup(), 'upstream.fair.shm.size')).toBe('upstream_fair_shm_size 32k;');
    expect(
      value(
        setup({ gc: { zimbraReverseProxyUpstreamFairShmSize: '64' } }),
        'upstream.fair.shm.size',
      ),
    ).toBe('upstream_fair_shm_size 64k;');
  });

  it('reports a fair shm size below the minimum of 32 and a non-number, as zmprov does', () => {
    const small = setup({ gc: { zimbraReverseProxyUpstreamFairShmSize: '16' } });
    expect(value(small, 'upstream.fair.shm.size')).toBe('upstream_fair_shm_size 32k;');
    expect(small.problems).toEqual([
      expect.objectContaining({ message: 'must be at least 32', value: '16' }),
    ]);
    const junk = setup({ gc: { zimbraReverseProxyUpstreamFairShmSize: 'big' } });
    expect(value(junk, 'upstream.fair.shm.size')).toBe('upstream_fair_shm_size 32k;');
    expect(junk.problems).toHaveLength(1);
  });

  it('reads the server names hash sizes from localconfig', () => {
    expect(value(setup(), 'web.server_names.max_size')).toBe('512');
    expect(value(setup(), 'web.server_names.bucket_size')).toBe('64');
    const handle = setup({
      localConfig: {
        proxy_server_names_hash_max_size: '1024',
        proxy_server_names_hash_bucket_size: '128',
      },
    });
    expect(value(handle, 'web.server_names.max_size')).toBe('1024');
    expect(value(handle, 'web.server_names.bucket_size')).toBe('128');
  });

  it('reads the exact version check switch (default on)', () => {
    expect(value(setup(), 'web.upstream.exactversioncheck')).toBe('on');
    expect(
      value(
        setup({ proxy: { zimbraReverseProxyExactServerVersionCheck: 'off' } }),
        'web.upstream.exactversioncheck',
      ),
    ).toBe('off');
  });

  it.each([
    ['web.upstream.webclient.name', 'zimbra_webclient'],
    ['web.upstream.name', 'zimbra'],
    ['web.ssl.upstream.webclient.name', 'zimbra_ssl_webclient'],
    ['web.ssl.upstream.name', 'zimbra_ssl'],
    ['web.upstream.zx.name', 'zx'],
    ['web.ssl.upstream.zx.name', 'zx_ssl'],
    ['web.ews.upstream.name', 'zimbra_ews'],
    ['web.ssl.ews.upstream.name', 'zimbra_ews_ssl'],
    ['web.login.upstream.name', 'zimbra_login'],
    ['web.ssl.login.upstream.name', 'zimbra_login_ssl'],
  ])('names upstream %s %s', (name, expected) => {
    expect(value(setup(), name)).toBe(expected);
  });

  it('writes the access log under the -w work directory', () => {
    expect(value(setup({ workdir: '/srv/z' }), 'web.logfile')).toBe('/srv/z/log/nginx.access.log');
  });

  it('writes the static error pages by default', () => {
    expect(value(setup(), 'web.:error_pages')).toBe(
      'error_page 502 /zmerror_upstream_502.html;\nerror_page 504 /zmerror_upstream_504.html;\n',
    );
  });

  it('sends errors to zimbraReverseProxyErrorHandlerURL when set', () => {
    const handle = setup({ proxy: { zimbraReverseProxyErrorHandlerURL: '/errors/h' } });
    expect(value(handle, 'web.:error_pages')).toBe(
      'error_page 502 /errors/h?err=502&up=$upstream_addr;\n' +
        'error_page 504 /errors/h?err=504&up=$upstream_addr;\n',
    );
  });

  it('refuses an error URL that is not a plain path (absolute URL, query, $)', () => {
    for (const url of ['https://err.example/h', '/x?a=b&c', '/x$nosuchvar', '/x$host']) {
      const handle = setup({ proxy: { zimbraReverseProxyErrorHandlerURL: url } });
      expect(value(handle, 'web.:error_pages')).toContain('/zmerror_upstream_502.html');
      expect(handle.problems).toEqual([expect.objectContaining({ value: url })]);
    }
  });

  it('reports an error handler URL that is not a URL and keeps the static pages', () => {
    const handle = setup({ proxy: { zimbraReverseProxyErrorHandlerURL: 'err.example' } });
    expect(value(handle, 'web.:error_pages')).toContain('/zmerror_upstream_502.html');
    expect(handle.problems).toEqual([
      expect.objectContaining({ subject: 'zimbraReverseProxyErrorHandlerURL' }),
    ]);
  });
});

describe('upstream list variables', () => {
  const servers = () => [
    mailboxServer('mb1'),
    server('web1', {
      zimbraServiceEnabled: ['mailbox', 'zimbra'],
      zimbraReverseProxyLookupTarget: 'TRUE',
      zimbraMailMode: 'https',
      zimbraServerVersion: '10.1.0',
    }),
  ];

  it('fills each list from its server group and port', () => {
    const handle = setup({ servers: servers() });
    expect(value(handle, 'web.upstream.webclient.:servers')).toBe(
      'server    mb1:8080 fail_timeout=10s version=10.1.0_GA_4633;\n' +
        '        server    web1:8080 fail_timeout=10s version=10.1.0;\n',
    );
    expect(value(handle, 'web.upstream.:servers')).toBe(
      'server    mb1:8080 fail_timeout=10s version=10.1.0_GA_4633;\n',
    );
    expect(value(handle, 'web.ssl.upstream.webclient.:servers')).toContain('web1:8443');
    expect(value(handle, 'web.ssl.upstream.:servers')).toBe(
      'server    mb1:8443 fail_timeout=10s version=10.1.0_GA_4633;\n',
    );
    expect(value(handle, 'web.upstream.zx.:servers')).toContain('mb1:8742');
    expect(value(handle, 'web.ssl.upstream.zx.:servers')).toContain('mb1:8743');
  });

  it('disables the EWS and login upstreams when no servers are named', () => {
    const handle = setup({ servers: servers() });
    expect(value(handle, 'web.ews.upstream.disable')).toBe('#');
    expect(value(handle, 'web.login.upstream.disable')).toBe('#');
    expect(value(handle, 'web.upstream.ewsserver.:servers')).toBe('');
    expect(value(handle, 'web.ssl.upstream.loginserver.:servers')).toBe('');
  });

  it('enables the EWS and login upstreams for named servers', () => {
    const handle = setup({
      servers: servers(),
      proxy: {
        zimbraReverseProxyUpstreamEwsServers: 'web1',
        zimbraReverseProxyUpstreamLoginServers: 'mb1',
      },
    });
    expect(value(handle, 'web.ews.upstream.disable')).toBe('');
    expect(value(handle, 'web.upstream.ewsserver.:servers')).toContain('web1:8080');
    expect(value(handle, 'web.ssl.upstream.ewsserver.:servers')).toContain('web1:8443');
    expect(value(handle, 'web.login.upstream.disable')).toBe('');
    expect(value(handle, 'web.upstream.loginserver.:servers')).toContain('mb1:8080');
    expect(value(handle, 'web.ssl.upstream.loginserver.:servers')).toContain('mb1:8443');
  });

  it('reports a login server name that matches no server', () => {
    const handle = setup({
      servers: servers(),
      proxy: { zimbraReverseProxyUpstreamLoginServers: 'nope' },
    });
    expect(value(handle, 'web.login.upstream.disable')).toBe('#');
    expect(handle.problems).toEqual([
      expect.objectContaining({
        subject: 'zimbraReverseProxyUpstreamLoginServers',
        entry: 'server proxy',
        value: 'nope',
        hint: 'zmprov ms proxy -zimbraReverseProxyUpstreamLoginServers nope, or create the server',
      }),
    ]);
  });

  it('keeps the EWS upstream out when no named server is a valid upstream, with a warning', () => {
    const handle = setup({
      servers: [mailboxServer('mb1', { zimbraReverseProxyLookupTarget: 'FALSE' })],
      proxy: { zimbraReverseProxyUpstreamEwsServers: 'mb1' },
    });
    expect(value(handle, 'web.ews.upstream.disable')).toBe('#');
    expect(handle.warnings).toEqual([
      expect.objectContaining({ message: containing('EWS upstream is left out') }),
    ]);
  });
});

describe('server block values', () => {
  it('reads the proxy ports with their code defaults', () => {
    const handle = context({ snapshot: snapshot({ servers: [server('proxy')] }) });
    expect(value(handle, 'web.http.port')).toBe('0');
    expect(value(handle, 'web.https.port')).toBe('0');
    expect(value(handle, 'web.http.uport')).toBe('80');
  });

  it('reads the configured proxy ports', () => {
    const handle = setup({ proxy: { zimbraMailProxyPort: '80', zimbraMailSSLProxyPort: '443' } });
    expect(value(handle, 'web.http.port')).toBe('80');
    expect(value(handle, 'web.https.port')).toBe('443');
    expect(value(handle, 'web.http.uport')).toBe('8080');
  });

  it('uses the localconfig host name as the default server name, validated', () => {
    expect(value(setup(), 'web.server_name.default')).toBe('localhost');
    expect(
      value(
        setup({ localConfig: { zimbra_server_hostname: 'proxy.example.com' } }),
        'web.server_name.default',
      ),
    ).toBe('proxy.example.com');
    const bad = setup({ localConfig: { zimbra_server_hostname: 'a b' } });
    expect(value(bad, 'web.server_name.default')).toBe('localhost');
    expect(bad.problems).toEqual([expect.objectContaining({ subject: 'zimbra_server_hostname' })]);
  });

  it('reads the login URL from serverSource (default /) and requires a path', () => {
    expect(value(setup(), 'web.login.upstream.url')).toBe('/');
    expect(value(setup({ proxy: { zimbraMailURL: '/zimbra' } }), 'web.login.upstream.url')).toBe(
      '/zimbra',
    );
    const bad = setup({ proxy: { zimbraMailURL: 'zimbra' } });
    expect(value(bad, 'web.login.upstream.url')).toBe('/');
    expect(bad.problems).toHaveLength(1);
  });

  it.each([
    ['web.upstream.target', 'https://zimbra_ssl', 'http://zimbra'],
    ['web.upstream.webclient.target', 'https://zimbra_ssl_webclient', 'http://zimbra_webclient'],
    ['web.upstream.login.target', 'https://zimbra_login_ssl', 'http://zimbra_login'],
    ['web.upstream.ews.target', 'https://zimbra_ews_ssl', 'http://zimbra_ews'],
    ['web.upstream.zx', 'https://zx_ssl', 'http://zx'],
  ])('%s follows zimbraReverseProxySSLToUpstreamEnabled', (name, ssl, plain) => {
    expect(value(setup(), name)).toBe(ssl);
    expect(value(setup({ gc: { zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' } }), name)).toBe(
      plain,
    );
  });

  it('builds listen.:addresses from the exploded domains', () => {
    expect(value(setup(), 'listen.:addresses')).toBe('${web.strict.servername}');
    const handle = setup({
      proxy: { zimbraReverseProxyGenConfigPerVirtualHostname: 'TRUE' },
      gc: { zimbraReverseProxyClientCertMode: 'off' },
      domains: [
        domain('a.com', {
          zimbraVirtualHostname: 'mail.a.com',
          zimbraVirtualIPAddress: '10.0.0.1',
        }),
      ],
    });
    expect(value(handle, 'listen.:addresses')).toBe(
      '${web.strict.servername}    listen                  10.0.0.1:${web.https.port} default_server;',
    );
  });

  it('formats the global response headers', () => {
    expect(value(setup(), 'web.add.headers.default')).toBe('');
    const handle = setup({
      gc: { zimbraReverseProxyResponseHeaders: ['X-A: 1', 'X-B: two words'] },
    });
    expect(value(handle, 'web.add.headers.default')).toBe(
      'add_header X-A 1;\n    add_header X-B "two words";',
    );
  });

  it('formats the upload limit as a size', () => {
    expect(value(setup(), 'web.uploadmax')).toBe('10m');
    expect(value(setup({ gc: { zimbraFileUploadMaxSize: '20971520' } }), 'web.http.maxbody')).toBe(
      '20m',
    );
    expect(value(setup(), 'web.https.maxbody')).toBe('10m');
  });
});
