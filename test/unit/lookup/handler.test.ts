import { describe, expect, it } from 'vitest';
import { createDirectoryQueries } from '../../../src/lookup/directory-queries.js';
import { decideMailLookup, decideWebRoute, formatMailAnswer } from '../../../src/lookup/handler.js';
import type { LookupDeps } from '../../../src/lookup/handler.js';
import type { MailLookupRequest } from '../../../src/lookup/parse-request.js';
import type { DirectoryQuery, DirectoryRecord, LookupCache } from '../../../src/lookup/ports.js';
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
  attrs: { zimbraMailDeliveryAddress: ['alice@d.test'], zimbraMailHost: ['mbx1.test'] },
};
const RESTRICTED_DOMAIN: DirectoryRecord = {
  dn: 'dc=d,dc=test',
  attrs: { zimbraDomainName: ['d.test'], zimbraDomainAllowedIPs: ['192.0.2.0/24'] },
};
const MBX1: DirectoryRecord = {
  dn: 'cn=mbx1.test,cn=servers,cn=zimbra',
  attrs: { zimbraPop3BindPort: ['7110'] },
};

/** A directory answering by filter text; `down` makes every call reject. */
function fakeDirectory(state: { down: boolean; binds: string[]; domain?: DirectoryRecord }) {
  return {
    search(query: DirectoryQuery): Promise<readonly DirectoryRecord[]> {
      if (state.down) return Promise.reject(new Error('ECONNREFUSED'));
      if (query.filter.includes('zimbraMailDeliveryAddress=alice@d.test'))
        return Promise.resolve([ALICE]);
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

function setup(domain?: DirectoryRecord) {
  const ldap = { down: false, binds: [] as string[], domain };
  const mem = { down: false, data: new Map<string, string>() };
  const directory = fakeDirectory(ldap);
  const clock = { now: () => 0 };
  const deps: LookupDeps = {
    directory,
    queries: createDirectoryQueries(directory, clock),
    cache: fakeCache(mem),
    resolver: { resolve: (host) => Promise.resolve(host === 'mbx1.test' ? '10.0.0.1' : host) },
    clock,
  };
  return { ldap, mem, deps };
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

  it('qualifies, resolves, checks the password, caches the route and answers with an IP', async () => {
    const { deps, mem, ldap } = setup();
    const decision = await decideMailLookup(request(), settings(), deps);
    expect(decision).toMatchObject({
      ok: true,
      server: '10.0.0.1',
      port: 7143,
      user: 'alice@d.test',
      cache: 'miss',
    });
    expect(ldap.binds).toEqual([ALICE.dn]);
    expect(mem.data.get('route:proto=imap;user=alice@d.test')).toBe('10.0.0.1:7143');
    expect(mem.data.get('alias:user=alice;ip=')).toBe('alice@d.test');
    expect(mem.data.get('zmproxy:dn=user=alice@d.test')).toBe(ALICE.dn);
    expect(formatMailAnswer(decision, 1, settings())).toEqual({
      'Auth-Status': 'OK',
      'Auth-Server': '10.0.0.1',
      'Auth-Port': '7143',
      'Auth-User': 'alice@d.test',
    });
  });

  it('reads the port from the server entry, the global config value as fallback', async () => {
    const { deps } = setup();
    expect(await decideMailLookup(request({ protocol: 'pop3' }), settings(), deps)).toMatchObject({
      port: 7110,
    });
  });

  it('serves a cached route without LDAP search, still checking the password', async () => {
    const { deps, ldap } = setup();
    await decideMailLookup(request(), settings(), deps);
    ldap.binds.length = 0;
    const second = await decideMailLookup(request(), settings(), deps);
    expect(second).toMatchObject({ ok: true, cache: 'hit', passwordVerified: true });
    expect(ldap.binds).toEqual([ALICE.dn]);
  });

  it('fails a wrong password with LOGIN failed and Auth-Wait, and drops the cached keys', async () => {
    const { deps, mem } = setup();
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

  it('stops sending Auth-Wait after the attempt cap', async () => {
    const { deps } = setup();
    const decision = await decideMailLookup(request({ user: 'nobody' }), settings(), deps);
    expect(decision).toMatchObject({ result: 'not_found', reason: 'user not found:nobody@d.test' });
    expect(formatMailAnswer(decision, 10, settings())['Auth-Wait']).toBe('3');
    expect(formatMailAnswer(decision, 11, settings())['Auth-Wait']).toBeUndefined();
  });

  it('goes straight to LDAP when memcached is down', async () => {
    const { deps, mem } = setup();
    mem.down = true;
    expect(await decideMailLookup(request(), settings(), deps)).toMatchObject({
      ok: true,
      cache: 'down',
    });
  });

  it('serves a cached route while LDAP is down, leaving the password to the mailbox server', async () => {
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
    const { deps, ldap } = setup(RESTRICTED_DOMAIN);
    const inside = request({ clientIp: '192.0.2.7' });
    expect(await decideMailLookup(inside, settings(), deps)).toMatchObject({ cache: 'miss' });
    ldap.binds.length = 0;
    const outside = await decideMailLookup(request({ clientIp: '198.51.100.9' }), settings(), deps);
    expect(outside).toMatchObject({ ok: false, result: 'ip_not_allowed', wait: true });
    expect(ldap.binds).toEqual([]);
    expect(await decideMailLookup(inside, settings(), deps)).toMatchObject({
      ok: true,
      cache: 'hit',
      passwordVerified: true,
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
    ).toMatchObject({ ok: true, cache: 'hit', passwordVerified: false });
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

  it('rejects over the IP limit before reading the directory', async () => {
    const { deps, ldap } = setup();
    const limited = settings({ zimbraReverseProxyIPLoginLimit: ['1'] });
    await decideMailLookup(request(), limited, deps);
    ldap.binds.length = 0;
    expect(await decideMailLookup(request({ user: 'bob' }), limited, deps)).toMatchObject({
      result: 'throttled_ip',
      message: 'Login rejected from this IP',
    });
    expect(ldap.binds).toEqual([]);
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
