/**
 * A running `zmproxy lookup --workers 2` follows the directory: the stack's slapd, two memcached
 * servers of this file's own, and auth_http requests sent straight to the service. A memcached
 * server added to the directory is in use within seconds (keys spread per the ring), one removed
 * costs only the keys that moved, and a user login limit of 3 holds across both changes; a
 * changed global setting and a new domain external route are served without restart or purge.
 * Last, IMAP logins through a minimal stock nginx mail proxy land on the stack's dovecot with
 * routes kept on the ring the service follows.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedIpsKeyOf, routeUserKey, throttleUserKey } from '../../src/lookup/cache-keys.js';
import { HashRing } from '../../src/sources/memcached/index.js';
import { mailLogin } from '../helpers/mail-client.js';
import type { OwnMemcached } from '../helpers/memcached.js';
import { startOwnMemcached } from '../helpers/memcached.js';
import {
  accountLdif,
  addDovecotUsers,
  domainLdif,
  dovecotLogins,
  globalConfigLdif,
  NGINX,
  serverLdif,
} from '../helpers/mail-stack.js';
import { freePorts, waitForPort } from '../helpers/ports.js';
import { resetDirectory, stackLdapArgs, stackPort, withLdapClient } from '../helpers/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXTERNAL_IMAP_PORT = 10143;

const pad = (n: number): string => String(n).padStart(2, '0');
const users = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `u${pad(from + i)}@example.test`);
/** Route lookups only (each logs in once per pass: far below the user limit). */
const ROUTED = users(11, 40);
/** Logins counted against the user limit of 3 across the changes. */
const LIMITED = users(1, 10);
const LIMITED_LATE = users(41, 50);
/** IMAP logins through nginx. */
const IMAP_USERS = users(54, 56);

let work = '';
let memcachedA = '';
let memcachedB = '';
let lookupPort = 0;
let nginxImapPort = 0;
let mbxImapPort = 0;
let memcached: OwnMemcached | undefined;
let lookup: ChildProcess | undefined;
let log = '';

function directoryLdif(portA: number): string {
  mbxImapPort = stackPort('DOVECOT_IMAP_PORT_1');
  const account = (mail: string): string =>
    accountLdif({
      uid: mail.split('@')[0] ?? mail,
      domainDn: 'dc=example,dc=test',
      mailDomain: 'example.test',
      host: 'mbx1.test',
      idDigit: '1',
    });
  return [
    globalConfigLdif('example.test', [
      'zimbraReverseProxyUserLoginLimit: 3',
      'zimbraReverseProxyUserLoginLimitTime: 3600',
      'zimbraReverseProxyUserThrottleMsg: Login rejected for this user',
      'zimbraReverseProxyIPLoginLimit: 0',
    ]),
    serverLdif('proxy.test', '5', [
      'zimbraServiceEnabled: proxy',
      'zimbraServiceEnabled: memcached',
      `zimbraMemcachedBindPort: ${portA}`,
    ]),
    serverLdif('mbx1.test', '1', [
      'zimbraServiceEnabled: mailbox',
      `zimbraImapBindPort: ${mbxImapPort}`,
    ]),
    domainLdif('example.test', ['zimbraId: d0000000-0000-4000-8000-000000000001']),
    domainLdif('ext.test', ['zimbraId: d0000000-0000-4000-8000-000000000002']),
    'dn: ou=people,dc=example,dc=test\nobjectClass: organizationalUnit\nou: people\n',
    ...[...ROUTED, ...LIMITED, ...LIMITED_LATE, ...users(51, 53), ...IMAP_USERS].map(account),
  ].join('\n');
}

type EntryChange = readonly [operation: 'add' | 'delete' | 'replace', type: string, value: string];

/** Applies `changes` to the entry `dn` in the stack's slapd, the way an admin's zmprov would. */
function modifyEntry(dn: string, ...changes: EntryChange[]): Promise<void> {
  return withLdapClient((client) =>
    client.modify(
      dn,
      changes.map(
        ([operation, type, value]) =>
          new Change({ operation, modification: new Attribute({ type, values: [value] }) }),
      ),
    ),
  );
}

/** Sets the global zimbraReverseProxyIPLoginLimit; resolves with how long the service took to use it. */
async function setIpLoginLimit(limit: number): Promise<number> {
  const lines = log.length;
  await modifyEntry('cn=config,cn=zimbra', [
    'replace',
    'zimbraReverseProxyIPLoginLimit',
    String(limit),
  ]);
  return until(
    () => Promise.resolve(log.slice(lines)),
    (text) => text.includes('settings throttle.ip'),
    `the IP limit ${limit} in use`,
  );
}

/** One auth_http request as nginx's mail module sends it. */
function authHttp(
  user: string,
  clientIp = '127.0.0.9',
): Promise<{ status: string; server?: string; port?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: lookupPort,
        path: '/service/extension/nginx-lookup',
        agent: false,
        headers: {
          'Auth-Method': 'plain',
          'Auth-User': user,
          'Auth-Pass': 'secret',
          'Auth-Protocol': 'imap',
          'Auth-Login-Attempt': '1',
          'Client-IP': clientIp,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: String(res.headers['auth-status']),
            server: res.headers['auth-server'] as string | undefined,
            port: res.headers['auth-port'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const REJECTED = 'Login rejected for this user';

/** `user: Auth-Status`, so that a failed expectation names the user. */
async function statusOf(user: string): Promise<string> {
  return `${user}: ${(await authHttp(user)).status}`;
}

function metricsText(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: lookupPort, path: '/metrics', agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The value of one metric line (`name{labels}`), 0 when absent. */
async function metric(line: string): Promise<number> {
  const text = await metricsText();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

const misses = (): Promise<number> =>
  metric('zmproxy_lookup_cache_total{kind="mail",outcome="miss"}');

/** The keys one memcached holds (lru_crawler metadump). */
function keysOn(server: string): Promise<Set<string>> {
  const port = Number(server.split(':')[1]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (/END\r\n$/.test(text)) {
        socket.destroy();
        resolve(
          new Set([...text.matchAll(/^key=(\S+)/gm)].map((m) => decodeURIComponent(m[1] ?? ''))),
        );
      }
    });
    socket.on('error', reject);
    socket.write('lru_crawler metadump all\r\n');
  });
}

async function until<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  ms = 10_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (ok(await probe())) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const routeKey = (user: string): string => routeUserKey('imap', user);
/** A cached route is served only with its allowed-IP policy beside it: either key moving misses. */
const routeKeys = (user: string): string[] => [routeKey(user), allowedIpsKeyOf(routeKey(user))];
const movedBetween = (before: HashRing, after: HashRing, user: string): boolean =>
  routeKeys(user).some((key) => before.pick(key) !== after.pick(key));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-follow-'));
  const [listen = 0, imap = 0] = await freePorts(2);
  nginxImapPort = imap;
  memcached = await startOwnMemcached(2, 16);
  [memcachedA = '', memcachedB = ''] = memcached.servers;
  lookupPort = listen;
  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(Number(memcachedA.split(':')[1])));
  await resetDirectory(ldif);
  const hosts = join(work, 'hosts');
  writeFileSync(hosts, '127.0.0.1 proxy.test mbx1.test mc2.test ext-imap.test\n');
  lookup = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/zmproxy.js'),
      'lookup',
      '--workers',
      '2',
      '--listen',
      `127.0.0.1:${listen}`,
      '--follow-interval',
      '1',
      '--hosts',
      hosts,
      '--hosts-only',
      ...stackLdapArgs(work),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  lookup.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  lookup.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await until(
    () => Promise.resolve(log),
    (text) => text.includes('lookup service ready'),
    'start',
  );
  await until(
    () => metric('zmproxy_lookup_memcached_servers'),
    (n) => n === 1,
    'the first ring',
  );
});

afterAll(async () => {
  let nginxPid = 0;
  try {
    nginxPid = Number(readFileSync(join(work, 'nginx.pid'), 'utf8').trim());
  } catch {
    // nginx never started
  }
  if (nginxPid > 0) process.kill(nginxPid, 'SIGTERM');
  if (lookup !== undefined && lookup.exitCode === null) {
    const exited = new Promise((resolve) => lookup?.once('exit', resolve));
    lookup.kill('SIGTERM');
    await exited;
  }
  memcached?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('zmproxy lookup follows the directory', () => {
  it('routes through the one memcached server the directory names', async () => {
    for (const user of ROUTED) {
      const answer = await authHttp(user);
      expect(answer).toMatchObject({ status: 'OK', server: '127.0.0.1', port: `${mbxImapPort}` });
    }
    for (const user of [...LIMITED, ...LIMITED, ...LIMITED_LATE, ...LIMITED_LATE]) {
      expect((await authHttp(user)).status).toBe('OK');
    }
    const onA = await keysOn(memcachedA);
    for (const user of ROUTED) expect(onA).toContain(routeKey(user));
    expect(await keysOn(memcachedB)).toEqual(new Set());
    const info = (await metricsText())
      .split('\n')
      .find((l) => l.startsWith('zmproxy_lookup_info{'));
    expect(info).toMatch(/^zmproxy_lookup_info\{server="[^"]+",revision="[^"]+"\} 1$/);
  });

  it('uses a memcached server added to the directory within seconds, spreading keys per the ring', async () => {
    const revisionBefore = (await metricsText()).match(/revision="([^"]+)"/)?.[1];
    await withLdapClient((client) =>
      client.add('cn=mc2.test,cn=servers,cn=zimbra', {
        objectClass: 'zimbraServer',
        cn: 'mc2.test',
        zimbraId: '60000000-0000-4000-8000-00000000000f',
        zimbraServiceHostname: 'mc2.test',
        zimbraServiceEnabled: 'memcached',
        zimbraMemcachedBindPort: memcachedB.split(':')[1] ?? '',
      }),
    );
    const ms = await until(
      () => metric('zmproxy_lookup_memcached_servers'),
      (n) => n === 2,
      'the second memcached server in use',
    );
    expect(ms).toBeLessThan(5000);
    expect(log).toContain(`memcached added ${memcachedB}`);
    expect(await metric('zmproxy_lookup_ring_rebuilds_total')).toBeGreaterThanOrEqual(1);
    expect((await metricsText()).match(/revision="([^"]+)"/)?.[1]).not.toBe(revisionBefore);

    const before = new HashRing([memcachedA]);
    const after = new HashRing([memcachedA, memcachedB]);
    const moved = ROUTED.filter((u) => movedBetween(before, after, u));
    const routeMoved = ROUTED.filter((u) => before.pick(routeKey(u)) !== after.pick(routeKey(u)));
    expect(routeMoved.length).toBeGreaterThan(0);
    const missesBefore = await misses();
    for (const user of ROUTED) expect((await authHttp(user)).status).toBe('OK');
    // Only the keys that moved missed, and each key now sits where the ring puts it.
    expect((await misses()) - missesBefore).toBe(moved.length);
    const onB = await keysOn(memcachedB);
    const onA = await keysOn(memcachedA);
    for (const user of ROUTED) {
      const owner = after.pick(routeKey(user));
      expect(owner === memcachedB ? onB : onA).toContain(routeKey(user));
    }
    expect([...onB].filter((key) => key.startsWith('route:')).sort()).toEqual(
      routeMoved.map(routeKey).sort(),
    );

    // The user limit of 3 holds for counters that moved as for those that did not.
    const movedCounters = LIMITED.filter(
      (u) => before.pick(throttleUserKey(u)) !== after.pick(throttleUserKey(u)),
    );
    expect(movedCounters.length).toBeGreaterThan(0);
    for (const user of LIMITED) expect(await statusOf(user)).toBe(`${user}: OK`);
    for (const user of LIMITED) expect(await statusOf(user)).toBe(`${user}: ${REJECTED}`);
  });

  it('stops using a memcached server removed from the directory, missing only the moved keys', async () => {
    await modifyEntry('cn=proxy.test,cn=servers,cn=zimbra', [
      'delete',
      'zimbraServiceEnabled',
      'memcached',
    ]);
    const ms = await until(
      () => metric('zmproxy_lookup_memcached_servers'),
      (n) => n === 1,
      'the ring without the first server',
    );
    expect(ms).toBeLessThan(5000);
    expect(log).toContain(`memcached removed ${memcachedA}`);

    const before = new HashRing([memcachedA, memcachedB]);
    const moved = ROUTED.filter((u) => movedBetween(before, new HashRing([memcachedB]), u));
    const missesBefore = await misses();
    for (const user of ROUTED) expect((await authHttp(user)).status).toBe('OK');
    expect((await misses()) - missesBefore).toBe(moved.length);
    const onB = await keysOn(memcachedB);
    for (const user of ROUTED) expect(onB).toContain(routeKey(user));

    // Users at 4 stay refused; users at 2 get exactly one more login.
    for (const user of LIMITED) expect(await statusOf(user)).toBe(`${user}: ${REJECTED}`);
    for (const user of LIMITED_LATE) expect(await statusOf(user)).toBe(`${user}: OK`);
    for (const user of LIMITED_LATE) expect(await statusOf(user)).toBe(`${user}: ${REJECTED}`);
  });

  it('applies a changed global setting within the probe interval, without restart', async () => {
    expect(await setIpLoginLimit(2)).toBeLessThan(5000);
    const client = '127.0.0.77';
    const [first, second, third] = users(51, 53);
    expect((await authHttp(first ?? '', client)).status).toBe('OK');
    expect((await authHttp(second ?? '', client)).status).toBe('OK');
    expect((await authHttp(third ?? '', client)).status).not.toBe('OK');
    // Another client address is not affected.
    expect((await authHttp(third ?? '', '127.0.0.78')).status).toBe('OK');
  });

  it('serves a new domain external route without restart or purge', async () => {
    // A new unknown user per try too: each counts against the user limit of 3.
    let n = 0;
    const nobody = (): string => `nobody${++n}@ext.test`;
    expect((await authHttp(nobody())).status).not.toBe('OK');
    await modifyEntry(
      'dc=ext,dc=test',
      ['add', 'zimbraReverseProxyUseExternalRouteIfAccountNotExist', 'TRUE'],
      ['add', 'zimbraExternalImapHostname', 'ext-imap.test'],
      ['add', 'zimbraExternalImapPort', String(EXTERNAL_IMAP_PORT)],
    );
    // A new client address per try: the IP limit of 2 from the test before still holds. Four
    // in a row: every worker serves it (one that never read the domain would at once).
    let client = 100;
    const ms = await until(
      async () => {
        const answers = [];
        for (let i = 0; i < 4; i++) answers.push(await authHttp(nobody(), `127.0.0.${client++}`));
        return answers;
      },
      (answers) => answers.every((answer) => answer.status === 'OK'),
      'the external route',
    );
    expect(ms).toBeLessThan(5000);
    expect(await authHttp(nobody(), '127.0.0.99')).toMatchObject({
      status: 'OK',
      server: '127.0.0.1',
      port: String(EXTERNAL_IMAP_PORT),
    });
  });

  it('proxies IMAP logins through nginx to the mailbox server, routes on the followed ring', async () => {
    // nginx sends every login from 127.0.0.1: the IP limit of 2 set above goes again.
    await setIpLoginLimit(0);
    // The dovecot users, and a stock nginx mail proxy asking the lookup service.
    addDovecotUsers(IMAP_USERS.map((user) => [user, `${user}-pw`] as const));
    writeFileSync(
      join(work, 'nginx.conf'),
      [
        'load_module /usr/lib/nginx/modules/ngx_mail_module.so;',
        `pid ${join(work, 'nginx.pid')};`,
        `error_log ${join(work, 'nginx-error.log')} info;`,
        'events {}',
        'mail {',
        `  auth_http 127.0.0.1:${lookupPort}/service/extension/nginx-lookup;`,
        '  proxy_pass_error_message on;',
        `  server { listen 127.0.0.1:${nginxImapPort}; protocol imap; imap_auth plain login; }`,
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(join(work, 'nginx.pid'), '');
    const started = spawn(NGINX, ['-p', `${work}/`, '-c', join(work, 'nginx.conf')], {
      stdio: 'inherit',
    });
    await new Promise((resolve) => started.once('exit', resolve));
    await waitForPort(nginxImapPort);

    const logins = (user: string): number => dovecotLogins(1, user);
    for (const user of IMAP_USERS) {
      const before = logins(user);
      const result = await mailLogin(nginxImapPort, 'imap-login', user, `${user}-pw`, {
        starttls: false,
      });
      expect(result.ok ? 'ok' : result.transcript).toBe('ok');
      expect(logins(user)).toBe(before + 1);
    }
    // memcached B is the only server left: the routes of these logins are there.
    const onB = await keysOn(memcachedB);
    for (const user of IMAP_USERS) expect(onB).toContain(routeKey(user));
    expect(await keysOn(memcachedA)).not.toContain(routeKey(IMAP_USERS[0] ?? ''));
    // The user limit of 3 holds on this path too.
    const [user = ''] = IMAP_USERS;
    const tries = [];
    for (let i = 0; i < 3; i++)
      tries.push(
        (await mailLogin(nginxImapPort, 'imap-login', user, `${user}-pw`, { starttls: false })).ok,
      );
    expect(tries).toEqual([true, true, false]);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) =>
      lookup?.once('exit', (code) => resolve(code)),
    );
    lookup?.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
