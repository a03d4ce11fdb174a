import { UPSTREAM_TLS_PORT, upstreamTlsAddress } from '../../../src/model/mail-tls-chain.js';
import { describe, expect, it } from 'vitest';
import { createDirectoryQueries } from '../../../src/lookup/directory-queries.js';
import { decideMailLookup, decideWebRoute, formatMailAnswer } from '../../../src/lookup/handler.js';
import type { LookupDeps } from '../../../src/lookup/handler.js';
import type { MailLookupRequest } from '../../../src/lookup/parse-request.js';
import type {
  DirectoryQuery,
  DirectoryRecord,
  ExternalDirectory,
  LookupCache,
} from '../../../src/lookup/ports.js';
import { computeLookupSettings } from '../../../src/lookup/settings.js';

const settings = (extra: Record<string, string[]> = {}) =>
  computeLookupSettings({
    zimbraDefaultDomainName: ['d.test'],
    zimbraReverseProxyAuthWaitInterval: ['3s'],
    zimbraImapBindPort: ['7143'],
    ...extra,
  }).settings;

const ALICE: DirectoryRecord = {
  dn: 'uid=alice,ou=people,dc=d,dc=test',
  attrs: {
    zimbraMailDeliveryAddress: ['alice@d.test'],
    zimbraMailHost: ['mbx1.test'],
    zimbraAccountStatus: ['active'],
  },
};
const RESTRICTED_DOMAIN: DirectoryRecord = {
  dn: 'dc=d,dc=test',
  attrs: { zimbraDomainName: ['d.test'], zimbraDomainAllowedIPs: ['192.0.2.0/24'] },
};
const MBX1: DirectoryRecord = {
  dn: 'cn=mbx1.test,cn=servers,cn=zimbra',
  attrs: {
    zimbraPop3BindPort: ['7110'],
    zimbraImapSSLBindPort: ['993'],
    zimbraPop3SSLBindPort: ['995'],
  },
};

/** A directory answering by filter text; `down` makes every call reject. */
function fakeDirectory(state: {
  down: boolean;
  binds: string[];
  domain?: DirectoryRecord | undefined;
  account?: DirectoryRecord;
}) {
  return {
    search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]> {
      if (state.down) return Promise.reject(new Error('ECONNREFUSED'));
      if (query.filter.includes('zimbraMailDeliveryAddress=alice@d.test'))
        return Promise.resolve([state.account ?? ALICE]);
      if (query.filter.includes('zimbraServiceHostname=mbx1.test')) return Promise.resolve([MBX1]);
      if (query.filter.includes('zimbraDomainName=d.test') && state.domain !== undefined)
        return Promise.resolve([state.domain]);
      return Promise.resolve([]);
    },
    verifyPassword(dn: string, password: string): Promise<boolean> {
      if (state.down) return Promise.reject(new Error('ECONNREFUSED'));
      state.binds.push(dn);
      return Promise.resolve(dn === ALICE.dn && password === 'right');
    },
  };
}

function fakeCache(state: { down: boolean; data: Map<string, string> }): LookupCache {
  const guard = () => (state.down ? Promise.reject(new Error('down')) : Promise.resolve());
  return {
    get: async (key) => (await guard(), state.data.get(key)),
    add: async (key, value) => {
      await guard();
      if (state.data.has(key)) return false;
      state.data.set(key, value);
      return true;
    },
    delete: async (key) => {
      await guard();
      state.data.delete(key);
    },
    increment: async (key) => {
      await guard();
      const next = Number(state.data.get(key) ?? '0') + 1;
      state.data.set(key, String(next));
      return next;
    },
  };
}

/** An external directory (zimbraAuthMech ldap/ad) that knows `dn`/`password` pairs. */
function fakeExternal(state: { down: boolean; binds: string[]; searches: string[] }) {
  const users = new Map([['uid=alice,ou=people,dc=ad,dc=test', 'ad-right']]);
  return {
    bind(_directory: ExternalDirectory, dn: string, password: string): Promise<boolean> {
      if (state.down) return Promise.reject(new Error('ECONNREFUSED'));
      state.binds.push(dn);
      return Promise.resolve(users.get(dn) === password);
    },
    findDns(_directory: ExternalDirectory, search: { filter: string }): Promise<readonly string[]> {
      if (state.down) return Promise.reject(new Error('ECONNREFUSED'));
      state.searches.push(search.filter);
      return Promise.resolve(
        search.filter === '(uid=alice)' ? ['uid=alice,ou=people,dc=ad,dc=test'] : [],
      );
    },
  };
}

function setup(domain?: DirectoryRecord, options: { verify?: boolean } = {}) {
  const ldap: {
    down: boolean;
    binds: string[];
    domain?: DirectoryRecord;
    account?: DirectoryRecord;
  } = {
    down: false,
    binds: [],
    domain,
  };
  const mem = { down: false, data: new Map<string, string>() };
  const external = { down: false, binds: [] as string[], searches: [] as string[] };
  const directory = fakeDirectory(ldap);
  const clock = { now: () => 0 };
  const deps: LookupDeps = {
    directory,
    queries: createDirectoryQueries(directory, clock),
    cache: fakeCache(mem),
    resolver: { resolve: (host) => Promise.resolve(host === 'mbx1.test' ? '10.0.0.1' : host) },
    clock,
    passwords: options.verify === true ? fakeExternal(external) : undefined,
  };
  return { ldap, mem, deps, external };
}

const request = (overrides: Partial<MailLookupRequest> = {}): MailLookupRequest => ({
  method: 'plain',
  user: 'alice',
  password: 'right',
  protocol: 'imap',
  attempt: 1,
  clientIp: '192.0.2.1',
  proxyIp: undefined,
  ssl: false,
  admin: false,
  ...overrides,
});

describe('decideMailLookup', () => {
  it('finds the account of a login at an alias domain in the target domain', async () => {
    const { deps } = setup();
    const aliasDomain: DirectoryRecord = {
      dn: 'dc=alias,dc=test',
      attrs: {
        zimbraDomainName: ['alias.test'],
        zimbraDomainType: ['alias'],
        zimbraDomainAliasTargetId: ['domain-d-test'],
      },
    };
    const target: DirectoryRecord = { dn: 'dc=d,dc=test', attrs: { zimbraDomainName: ['d.test'] } };
    const base = deps.directory;
    const directory = {
      ...base,
      search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]> {
        if (query.filter.includes('zimbraDomainName=alias.test'))
          return Promise.resolve([aliasDomain]);
        if (query.filter.includes('zimbraId=domain-d-test')) return Promise.resolve([target]);
        return base.search(query);
      },
    };
    const clock = { now: () => 0 };
    const aliased = { ...deps, directory, queries: createDirectoryQueries(directory, clock) };
    const decision = await decideMailLookup(
      request({ user: 'alice@alias.test' }),
      settings(),
      aliased,
    );
    expect(decision).toMatchObject({
      ok: true,
      server: '10.0.0.1',
      port: 7143,
      user: 'alice@d.test',
    });
  });

  it('qualifies, resolves, caches the route and answers with an IP, checking no password', async () => {
    const { deps, mem, ldap } = setup();
    const decision = await decideMailLookup(request(), settings(), deps);
    expect(decision).toMatchObject({
      ok: true,
      server: '10.0.0.1',
      port: 7143,
      user: 'alice@d.test',
      cache: 'miss',
      passwordVerified: false,
    });
    expect(ldap.binds).toEqual([]);
    expect(mem.data.get('route:proto=imap;user=alice@d.test')).toBe('10.0.0.1:7143');
    expect(mem.data.get('alias:user=alice;ip=')).toBe('alice@d.test');
    expect(mem.data.has('zmproxy:dn=user=alice@d.test')).toBe(false);
    expect(formatMailAnswer(decision, 1, settings())).toEqual({
      'Auth-Status': 'OK',
      'Auth-Server': '10.0.0.1',
      'Auth-Port': '7143',
      'Auth-User': 'alice@d.test',
    });
  });

  it('routes a wrong password like a right one: the mailbox server refuses it', async () => {
    const { deps, ldap } = setup();
    const wrong = await decideMailLookup(request({ password: 'wrong' }), settings(), deps);
    expect(wrong).toMatchObject({ ok: true, server: '10.0.0.1', passwordVerified: false });
    const again = await decideMailLookup(request({ password: 'wrong' }), settings(), deps);
    expect(again).toMatchObject({ ok: true, cache: 'hit' });
    expect(ldap.binds).toEqual([]);
  });

  it('never puts the password in the cache or the decision', async () => {
    const { deps, mem } = setup(undefined, { verify: true });
    const secret = 'right';
    const decision = await decideMailLookup(request({ password: secret }), settings(), deps);
    expect(decision.ok).toBe(true);
    await decideMailLookup(request({ password: 'wrong-s3cret' }), settings(), deps);
    const stored = [...mem.data].flat().join('\n');
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain('wrong-s3cret');
    expect(JSON.stringify(decision)).not.toContain(secret);
  });

  it.each(['active', 'locked', 'closed', 'maintenance', 'pending', 'lockout', undefined])(
    'routes an account whose zimbraAccountStatus is %s, as the NLE (the mailbox server decides)',
    async (status) => {
      const { deps, ldap } = setup();
      ldap.account = {
        ...ALICE,
        attrs: {
          ...ALICE.attrs,
          zimbraAccountStatus: status === undefined ? [] : [status],
          zimbraMailStatus: ['disabled'],
        },
      };
      expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
        ok: true,
        server: '10.0.0.1',
      });
    },
  );

  it.each(['enabled', 'disabled'])(
    'routes an account whose zimbraMailStatus is %s (delivery status, not login)',
    async (mailStatus) => {
      const { deps, ldap } = setup(undefined, { verify: true });
      ldap.account = { ...ALICE, attrs: { ...ALICE.attrs, zimbraMailStatus: [mailStatus] } };
      expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({ ok: true });
    },
  );

  it('reads the port from the server entry, the global config value as fallback', async () => {
    const { deps } = setup();
    expect(await decideMailLookup(request({ protocol: 'pop3' }), settings(), deps)).toMatchObject({
      port: 7110,
    });
  });

  it('answers the loopback TLS listener of the mail host when nginx asks for upstream TLS', async () => {
    const { deps, mem } = setup();
    const decision = await decideMailLookup(request({ upstreamTls: true }), settings(), deps);
    expect(decision).toMatchObject({
      ok: true,
      server: upstreamTlsAddress('mbx1.test'),
      port: UPSTREAM_TLS_PORT.imap,
    });
    // Cached apart from the plain route a proxy without the chain would cache.
    expect(mem.data.get('route:proto=imapssl;user=alice@d.test')).toBe(
      `${upstreamTlsAddress('mbx1.test')}:${UPSTREAM_TLS_PORT.imap}`,
    );
    expect(mem.data.has('route:proto=imap;user=alice@d.test')).toBe(false);
    const pop3 = await decideMailLookup(
      request({ protocol: 'pop3', upstreamTls: true }),
      settings(),
      deps,
    );
    expect(pop3).toMatchObject({ port: UPSTREAM_TLS_PORT.pop3 });
  });

  it('stops sending Auth-Wait after the attempt cap', async () => {
    const { deps } = setup();
    const decision = await decideMailLookup(request({ user: 'nobody' }), settings(), deps);
    expect(decision).toMatchObject({ result: 'not_found', reason: 'user not found:nobody@d.test' });
    expect(formatMailAnswer(decision, 10, settings())['Auth-Wait']).toBe('3');
    expect(formatMailAnswer(decision, 11, settings())['Auth-Wait']).toBeUndefined();
  });

  it('answers an unknown user with the text of every failed login, and Auth-Wait', async () => {
    const { deps } = setup();
    const decision = await decideMailLookup(request({ user: 'nobody' }), settings(), deps);
    expect(formatMailAnswer(decision, 1, settings())).toEqual({
      'Auth-Status': 'LOGIN failed',
      'Auth-Wait': '3',
    });
  });

  it('goes straight to LDAP when memcached is down', async () => {
    const { deps, mem } = setup();
    mem.down = true;
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      ok: true,
      cache: 'down',
    });
  });

  it('serves a cached route while LDAP is down', async () => {
    const { deps, ldap } = setup();
    await decideMailLookup(request(), settings(), deps);
    ldap.down = true;
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      ok: true,
      cache: 'hit',
      passwordVerified: false,
    });
  });

  it('refuses a cached route to a client outside the domain zimbraDomainAllowedIPs', async () => {
    const { deps } = setup(RESTRICTED_DOMAIN);
    const inside = request({ clientIp: '192.0.2.7' });
    expect(await decideMailLookup(inside, settings(), deps)).toMatchObject({ cache: 'miss' });
    const outside = await decideMailLookup(request({ clientIp: '198.51.100.9' }), settings(), deps);
    expect(outside).toMatchObject({ ok: false, result: 'ip_not_allowed', wait: true });
    expect(await decideMailLookup(inside, settings(), deps)).toMatchObject({
      ok: true,
      cache: 'hit',
    });
  });

  it('checks a cached route against the allowed IPs cached with it while LDAP is down', async () => {
    const { deps, ldap } = setup(RESTRICTED_DOMAIN);
    await decideMailLookup(request({ clientIp: '192.0.2.7' }), settings(), deps);
    ldap.down = true;
    // Another process: its in-process memo never read the domain.
    const other = { ...deps, queries: createDirectoryQueries(deps.directory, deps.clock) };
    expect(
      await decideMailLookup(request({ clientIp: '198.51.100.9' }), settings(), other),
    ).toMatchObject({ ok: false, result: 'ip_not_allowed' });
    expect(
      await decideMailLookup(request({ clientIp: '192.0.2.7' }), settings(), other),
    ).toMatchObject({ ok: true, cache: 'hit' });
  });

  it('fails closed, keeping the route, when a cached route has no allowed-IP policy and LDAP is down', async () => {
    const { deps, ldap, mem } = setup(RESTRICTED_DOMAIN);
    await decideMailLookup(request({ clientIp: '192.0.2.7' }), settings(), deps);
    mem.data.delete('zmproxy:allowedips=user=alice@d.test');
    ldap.down = true;
    const decision = await decideMailLookup(
      request({ clientIp: '198.51.100.9' }),
      settings(),
      deps,
    );
    expect(decision).toMatchObject({ ok: false, result: 'unavailable', wait: true });
    expect(formatMailAnswer(decision, 1, settings())['Auth-Wait']).toBe('3');
    expect(mem.data.get('route:proto=imap;user=alice@d.test')).toBe('10.0.0.1:7143');
  });

  it('answers a temporary failure with Auth-Wait when both are down', async () => {
    const { deps, ldap, mem } = setup();
    ldap.down = true;
    mem.down = true;
    const decision = await decideMailLookup(request(), settings(), deps);
    expect(decision).toMatchObject({ ok: false, result: 'unavailable', wait: true, cache: 'down' });
  });

  it('rejects over the user limit with the configured message and no Auth-Wait', async () => {
    const { deps } = setup();
    const limited = settings({
      zimbraReverseProxyUserLoginLimit: ['1'],
      zimbraReverseProxyUserThrottleMsg: ['slow down'],
    });
    expect(await decideMailLookup(request(), limited, deps)).toMatchObject({ ok: true });
    const second = await decideMailLookup(request(), limited, deps);
    expect(second).toMatchObject({
      ok: false,
      result: 'throttled_user',
      message: 'slow down',
      wait: false,
    });
    expect(formatMailAnswer(second, 1, limited)).toEqual({ 'Auth-Status': 'slow down' });
  });

  it('counts every attempt against the user limit, unknown users and wrong passwords too', async () => {
    const { deps } = setup(undefined, { verify: true });
    const limited = settings({ zimbraReverseProxyUserLoginLimit: ['2'] });
    expect(await decideMailLookup(request({ password: 'wrong' }), limited, deps)).toMatchObject({
      result: 'bad_password',
    });
    expect(await decideMailLookup(request({ password: 'wrong' }), limited, deps)).toMatchObject({
      result: 'bad_password',
    });
    expect(await decideMailLookup(request(), limited, deps)).toMatchObject({
      result: 'throttled_user',
    });
    const { deps: other } = setup();
    await decideMailLookup(request({ user: 'nobody' }), limited, other);
    await decideMailLookup(request({ user: 'nobody' }), limited, other);
    expect(await decideMailLookup(request({ user: 'nobody' }), limited, other)).toMatchObject({
      result: 'throttled_user',
    });
  });

  it('rejects over the IP limit before reading the directory', async () => {
    const { deps, ldap } = setup();
    const limited = settings({ zimbraReverseProxyIPLoginLimit: ['1'] });
    await decideMailLookup(request(), limited, deps);
    ldap.binds.length = 0;
    ldap.down = true;
    expect(await decideMailLookup(request({ user: 'bob' }), limited, deps)).toMatchObject({
      result: 'throttled_ip',
      message: 'Login rejected from this IP',
    });
  });
});

describe('decideMailLookup with --verify-password', () => {
  const AD_DOMAIN = (extra: Record<string, string[]>): DirectoryRecord => ({
    dn: 'dc=d,dc=test',
    attrs: {
      zimbraDomainName: ['d.test'],
      zimbraAuthLdapURL: ['ldap://127.0.0.1:3899'],
      ...extra,
    },
  });

  it('binds as the account on the Zimbra directory for zimbraAuthMech zimbra or unset', async () => {
    const { deps, ldap, mem } = setup(undefined, { verify: true });
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      ok: true,
      passwordVerified: true,
    });
    expect(ldap.binds).toEqual([ALICE.dn]);
    expect(JSON.parse(mem.data.get('zmproxy:dn=user=alice@d.test') ?? '{}')).toEqual({
      dn: ALICE.dn,
      status: 'active',
    });
    ldap.binds.length = 0;
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      cache: 'hit',
      passwordVerified: true,
    });
    expect(ldap.binds).toEqual([ALICE.dn]);
  });

  it('fails a wrong password with LOGIN failed and Auth-Wait, and drops the cached keys', async () => {
    const { deps, mem } = setup(undefined, { verify: true });
    await decideMailLookup(request(), settings(), deps);
    const decision = await decideMailLookup(request({ password: 'wrong' }), settings(), deps);
    expect(decision).toMatchObject({ ok: false, result: 'bad_password', message: 'LOGIN failed' });
    expect(formatMailAnswer(decision, 1, settings())).toEqual({
      'Auth-Status': 'LOGIN failed',
      'Auth-Wait': '3',
    });
    expect(mem.data.has('route:proto=imap;user=alice@d.test')).toBe(false);
    expect(mem.data.has('alias:user=alice;ip=')).toBe(false);
  });

  it('fails closed while LDAP is down, even with a cached route', async () => {
    const { deps, ldap } = setup(undefined, { verify: true });
    await decideMailLookup(request(), settings(), deps);
    ldap.down = true;
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      ok: false,
      result: 'unavailable',
    });
  });

  it('treats a route cached without credentials (route-only or older) as a miss', async () => {
    const routeOnly = setup();
    await decideMailLookup(request(), settings(), routeOnly.deps);
    const verifying = {
      ...routeOnly.deps,
      passwords: setup(undefined, { verify: true }).deps.passwords,
    };
    expect(await decideMailLookup(request(), settings(), verifying)).toMatchObject({
      ok: true,
      cache: 'miss',
      passwordVerified: true,
    });
  });

  it.each(['locked', 'closed', 'maintenance', 'pending', 'lockout', undefined])(
    'refuses an account whose zimbraAccountStatus is %s, with the text of every failed login',
    async (status) => {
      const { deps, ldap } = setup(undefined, { verify: true });
      ldap.account = {
        ...ALICE,
        attrs: { ...ALICE.attrs, zimbraAccountStatus: status === undefined ? [] : [status] },
      };
      const decision = await decideMailLookup(request(), settings(), deps);
      expect(decision).toMatchObject({
        ok: false,
        result: 'account_inactive',
        message: 'LOGIN failed',
      });
      expect(ldap.binds).toEqual([]);
    },
  );

  it('binds on the external directory with the expanded zimbraAuthLdapBindDn (ldap, ad)', async () => {
    for (const mech of ['ldap', 'ad']) {
      const { deps, ldap, external } = setup(
        AD_DOMAIN({
          zimbraAuthMech: [mech],
          zimbraAuthLdapBindDn: ['uid=%u,ou=people,dc=ad,dc=test'],
        }),
        { verify: true },
      );
      expect(
        await decideMailLookup(request({ password: 'ad-right' }), settings(), deps),
      ).toMatchObject({
        ok: true,
        passwordVerified: true,
      });
      expect(external.binds).toEqual(['uid=alice,ou=people,dc=ad,dc=test']);
      expect(ldap.binds).toEqual([]);
      expect(
        await decideMailLookup(request({ password: 'right' }), settings(), deps),
      ).toMatchObject({ ok: false, result: 'bad_password' });
    }
  });

  it('searches with zimbraAuthLdapSearchFilter, then binds as the one DN found (ldap)', async () => {
    const { deps, external } = setup(
      AD_DOMAIN({ zimbraAuthMech: ['ldap'], zimbraAuthLdapSearchFilter: ['(uid=%u)'] }),
      { verify: true },
    );
    expect(
      await decideMailLookup(request({ password: 'ad-right' }), settings(), deps),
    ).toMatchObject({
      ok: true,
    });
    expect(external.searches).toEqual(['(uid=alice)']);
    expect(external.binds).toEqual(['uid=alice,ou=people,dc=ad,dc=test']);
  });

  it('prefers the account zimbraAuthLdapExternalDn', async () => {
    const { deps, ldap, external } = setup(
      AD_DOMAIN({ zimbraAuthMech: ['ad'], zimbraAuthLdapBindDn: ['%n'] }),
      { verify: true },
    );
    ldap.account = {
      ...ALICE,
      attrs: { ...ALICE.attrs, zimbraAuthLdapExternalDn: ['uid=alice,ou=people,dc=ad,dc=test'] },
    };
    expect(
      await decideMailLookup(request({ password: 'ad-right' }), settings(), deps),
    ).toMatchObject({
      ok: true,
    });
    expect(external.binds).toEqual(['uid=alice,ou=people,dc=ad,dc=test']);
  });

  it.each(['kerberos5', 'custom:sso', 'bogus'])(
    'refuses zimbraAuthMech %s, naming the mechanism and the flag in the log reason',
    async (mech) => {
      const { deps } = setup(AD_DOMAIN({ zimbraAuthMech: [mech] }), { verify: true });
      const decision = await decideMailLookup(request(), settings(), deps);
      expect(decision).toMatchObject({
        ok: false,
        result: 'cannot_verify',
        message: 'LOGIN failed',
      });
      expect(decision.ok ? '' : decision.reason).toContain(`zimbraAuthMech ${mech}`);
      expect(decision.ok ? '' : decision.reason).toContain('--verify-password');
    },
  );

  it('answers a temporary failure when the external directory is down', async () => {
    const { deps, external } = setup(
      AD_DOMAIN({ zimbraAuthMech: ['ldap'], zimbraAuthLdapBindDn: ['uid=%u,dc=ad,dc=test'] }),
      { verify: true },
    );
    external.down = true;
    expect(
      await decideMailLookup(request({ password: 'ad-right' }), settings(), deps),
    ).toMatchObject({ ok: false, result: 'unavailable', wait: true });
  });
});

describe('decideWebRoute', () => {
  it('routes a REST request of a known user and never denies an unknown one', async () => {
    const { deps } = setup();
    const base = {
      cookie: undefined,
      authorization: undefined,
      host: 'mail.d.test',
      protocol: 'http' as const,
      admin: false,
    };
    const s = settings({ zimbraMailPort: ['8080'] });
    expect(await decideWebRoute({ ...base, uri: '/home/alice/inbox' }, s, deps)).toMatchObject({
      route: '10.0.0.1:8080',
      result: 'ok',
    });
    expect(await decideWebRoute({ ...base, uri: '/home/nobody/' }, s, deps)).toMatchObject({
      route: undefined,
      result: 'not_found',
    });
    expect(await decideWebRoute({ ...base, uri: '/' }, s, deps)).toMatchObject({
      result: 'no_identity',
    });
  });
});
