/**
 * The lookup service end to end with real parts: slapd holding accounts on two mailbox servers
 * (and no userPassword at all: the passwords live only on the mailbox servers, as for
 * external-auth domains), the stack's two dovecot instances as those servers, nginx rendered from our stock templates
 * (its auth_http and auth_request going to the lookup service), a memcached of this file's own
 * (stopped mid-test), and curl as the IMAP, POP3 and HTTP client. Which backend served a login
 * is read from the dovecot instance's log; which web backend served a request, from its answer.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLookup } from '../../src/cli/lookup.js';
import { mailLogin } from '../helpers/mail-client.js';
import type { MailLoginMethod } from '../helpers/mail-client.js';
import { resetDirectory, stackValue, withLdapClient } from '../helpers/stack.js';
import { Attribute, Change } from 'ldapts';
import { freePorts, waitForPort } from '../helpers/ports.js';
import {
  domainLdif,
  proxyPortLines,
  accountLdif,
  addDovecotUsers,
  globalConfigLdif,
  serverLdif,
  startMailProxy,
  stopPid,
  curl,
  dovecotLogins,
  startWebBackend,
} from '../helpers/mail-stack.js';

const SHARED_KEY = 'e2e-shared-key';

interface Ports {
  memcached: number;
  authHttp: number;
  imap: number;
  pop3: number;
  imaps: number;
  pop3s: number;
  http: number;
  https: number;
  web1: number;
  web2: number;
}

/** The directory: a proxy, two mailbox servers, a domain with an alias domain, three accounts. */
function directoryLdif(ports: Ports): string {
  const server = (name: string, services: string[], attrs: string[]): string =>
    serverLdif(name, name === 'proxy.test' ? '5' : name === 'mbx1.test' ? '1' : '2', [
      ...services.map((service) => `zimbraServiceEnabled: ${service}`),
      ...attrs,
    ]);
  const account = (uid: string, host: string, extra: string[] = []): string =>
    accountLdif({
      uid,
      domainDn: 'dc=example,dc=test',
      mailDomain: 'example.test',
      host,
      idDigit: '1',
      lines: extra,
    });
  return [
    globalConfigLdif('example.test', [
      'zimbraReverseProxyHttpPortAttribute: zimbraMailPort',
      'zimbraReverseProxyHttpSSLPortAttribute: zimbraMailSSLPort',
      'zimbraReverseProxyUserLoginLimit: 0',
      'zimbraReverseProxyUserThrottleMsg: Login rejected for this user',
      `zimbraMemcachedBindPort: ${ports.memcached}`,
    ]),
    server(
      'proxy.test',
      ['proxy'],
      [
        'zimbraReverseProxyLookupTarget: TRUE',
        'zimbraReverseProxyMailEnabled: TRUE',
        'zimbraReverseProxyHttpEnabled: TRUE',
        'zimbraReverseProxyMailMode: http',
        // Zimbra's default: no login before STARTTLS.
        'zimbraReverseProxyImapStartTlsMode: only',
        'zimbraReverseProxyPop3StartTlsMode: only',
        'zimbraReverseProxySSLToUpstreamEnabled: FALSE',
        ...proxyPortLines(ports),
      ],
    ),
    server(
      'mbx1.test',
      ['mailbox', 'service', 'zimbra', 'memcached'],
      [
        'zimbraReverseProxyLookupTarget: TRUE',
        'zimbraMailMode: http',
        `zimbraImapBindPort: ${stackValue('DOVECOT_IMAP_PORT_1')}`,
        `zimbraPop3BindPort: ${stackValue('DOVECOT_POP3_PORT_1')}`,
        `zimbraMailPort: ${ports.web1}`,
        'zimbraMailSSLPort: 1',
      ],
    ),
    server(
      'mbx2.test',
      ['mailbox', 'service', 'zimbra'],
      [
        'zimbraReverseProxyLookupTarget: TRUE',
        'zimbraMailMode: http',
        `zimbraImapBindPort: ${stackValue('DOVECOT_IMAP_PORT_2')}`,
        `zimbraPop3BindPort: ${stackValue('DOVECOT_POP3_PORT_2')}`,
        `zimbraMailPort: ${ports.web2}`,
        'zimbraMailSSLPort: 1',
      ],
    ),
    domainLdif('example.test', [
      'zimbraId: d0000000-0000-4000-8000-000000000001',
      'zimbraVirtualHostname: mail.example.test',
    ]),
    account('alice', 'mbx1.test', ['zimbraMailAlias: ally@example.test']),
    account('bob', 'mbx2.test'),
    account('carol', 'mbx2.test'),
  ].join('\n');
}

const HOSTS = new Map([
  ['proxy.test', ['127.0.0.1']],
  ['mbx1.test', ['127.0.0.1']],
  ['mbx2.test', ['127.0.0.1']],
]);

/** A zimbra auth token naming an account id (the HMAC part is not checked by routing). */
function authToken(id: string): string {
  const data = `id=${id.length}:${id};exp=13:1999999999999;`;
  return `0_0123456789abcdef_${Buffer.from(data).toString('hex')}`;
}

let work = '';
let ports: Ports;
let memcached: ChildProcess | undefined;
let lookup: RunningLookup | undefined;
let web: Server[] = [];
let nginxPid = 0;
const logLines: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-lookup-e2e-'));
  chmodSync(work, 0o755);
  const list = await freePorts(10);
  ports = {
    memcached: list[0]!,
    authHttp: list[1]!,
    imap: list[2]!,
    pop3: list[3]!,
    imaps: list[4]!,
    pop3s: list[5]!,
    http: list[6]!,
    https: list[7]!,
    web1: list[8]!,
    web2: list[9]!,
  };

  // A memcached of this file's own: the test stops it mid-way.
  memcached = spawn(
    'memcached',
    ['-u', 'memcache', '-l', '127.0.0.1', '-p', String(ports.memcached), '-U', '0', '-m', '16'],
    { stdio: 'ignore', detached: false },
  );

  await waitForPort(ports.memcached);

  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(ports));
  await resetDirectory(ldif);

  // The dovecot instances read one passwd-file; add this file's users to it.
  addDovecotUsers(['alice', 'bob', 'carol'].map((user) => [`${user}@example.test`, `${user}-pw`]));

  web = await Promise.all([
    startWebBackend('backend-1', ports.web1),
    startWebBackend('backend-2', ports.web2),
  ]);

  // nginx from our templates, its lookup upstream pointing at the service.
  const proxy = await startMailProxy({
    work,
    ldif,
    sharedKey: SHARED_KEY,
    authHttpPort: ports.authHttp,
    noCache: false,
    hosts: HOSTS,
    log: logLines,
  });
  lookup = proxy.lookup;
  nginxPid = proxy.nginxPid;
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  writeFileSync(join(work, 'lookup.log'), logLines.join(''));
  stopPid(nginxPid);
  await lookup?.stop();
  await Promise.all(web.map((server) => new Promise((resolve) => server.close(resolve))));
  memcached?.kill('SIGTERM');
  if (work !== '' && process.env['ZMPROXY_KEEP_STACK'] === undefined)
    rmSync(work, { recursive: true, force: true });
});

// STARTTLS first (the listeners are in `only` mode); -k: the proxy's certificate is self-signed.
const imap = (user: string, password: string, extra: string[] = []) =>
  curl([
    ...extra,
    '--ssl-reqd',
    '-k',
    `imap://127.0.0.1:${ports.imap}/`,
    '--user',
    `${user}:${password}`,
  ]);
const pop3 = (user: string, password: string) =>
  curl(['--ssl-reqd', '-k', `pop3://127.0.0.1:${ports.pop3}/`, '--user', `${user}:${password}`]);

/** Every value memcached holds, keys included (lru_crawler metadump, then get). */
async function memcachedContents(port: number): Promise<string> {
  const talk = (command: string, end: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (end.test(text)) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      socket.write(`${command}\r\n`);
    });
  const dump = await talk('lru_crawler metadump all', /END\r\n$/);
  const keys = [...dump.matchAll(/^key=(\S+)/gm)].map((m) => decodeURIComponent(m[1] ?? ''));
  if (keys.length === 0) return dump;
  const values = await talk(`get ${keys.join(' ')}`, /END\r\n$/);
  return `${keys.join('\n')}\n${values}`;
}

describe('mail logins through nginx and the lookup service', () => {
  it('lands an IMAP login on the mailbox server of the user', async () => {
    const before = [dovecotLogins(1, 'alice@example.test'), dovecotLogins(2, 'alice@example.test')];
    const result = await imap('alice@example.test', 'alice-pw');
    expect(result.output).toContain('INBOX');
    expect(result.status).toBe(0);
    expect(dovecotLogins(1, 'alice@example.test')).toBe(before[0]! + 1);
    expect(dovecotLogins(2, 'alice@example.test')).toBe(before[1]);
  });

  it('lands a POP3 login on the other mailbox server for a user living there', async () => {
    const before = dovecotLogins(2, 'bob@example.test');
    const result = await pop3('bob@example.test', 'bob-pw');
    expect(result.status).toBe(0);
    expect(dovecotLogins(2, 'bob@example.test')).toBe(before + 1);
  });

  it('qualifies an unqualified login with the default domain', async () => {
    const before = dovecotLogins(2, 'bob@example.test');
    expect((await imap('bob', 'bob-pw')).status).toBe(0);
    expect(dovecotLogins(2, 'bob@example.test')).toBe(before + 1);
  });

  it('logs an account alias in as the account, on its server', async () => {
    const before = dovecotLogins(1, 'alice@example.test');
    expect((await imap('ally@example.test', 'alice-pw')).status).toBe(0);
    expect(dovecotLogins(1, 'alice@example.test')).toBe(before + 1);
  });

  it('refuses a wrong password: the mailbox server says no, and no login happens', async () => {
    const before = dovecotLogins(1, 'alice@example.test');
    const result = await imap('alice@example.test', 'wrong-Pa55', ['-v']);
    expect(result.status).toBe(67);
    expect(dovecotLogins(1, 'alice@example.test')).toBe(before);
  });

  describe.each<[MailLoginMethod, 'imap' | 'pop3']>([
    ['imap-login', 'imap'],
    ['imap-plain', 'imap'],
    ['pop3-user', 'pop3'],
    ['pop3-plain', 'pop3'],
  ])('%s after STARTTLS', (method, protocol) => {
    const port = () => (protocol === 'imap' ? ports.imap : ports.pop3);

    it('logs a user whose password only the mailbox server knows in, on its server', async () => {
      const before = [dovecotLogins(1, 'bob@example.test'), dovecotLogins(2, 'bob@example.test')];
      const result = await mailLogin(port(), method, 'bob@example.test', 'bob-pw');
      expect(result).toMatchObject({ ok: true });
      expect(dovecotLogins(2, 'bob@example.test')).toBe(before[1]! + 1);
      expect(dovecotLogins(1, 'bob@example.test')).toBe(before[0]);
    });

    it('never logs a wrong password in, cached route or not', async () => {
      const before = dovecotLogins(2, 'bob@example.test');
      for (let i = 0; i < 2; i++) {
        const result = await mailLogin(port(), method, 'bob@example.test', `wrong-${method}`);
        expect(result).toMatchObject({ ok: false });
      }
      expect(dovecotLogins(2, 'bob@example.test')).toBe(before);
    });

    it('refuses a login before STARTTLS without asking anyone', async () => {
      const result = await mailLogin(port(), method, 'bob@example.test', 'bob-pw', {
        starttls: false,
      });
      expect(result).toMatchObject({ ok: false });
    });
  });

  it('keeps every password out of the log, the metrics and memcached', async () => {
    const secrets = [
      'alice-pw',
      'bob-pw',
      'carol-pw',
      'wrong-Pa55',
      'wrong-imap-login',
      'wrong-pop3-plain',
    ];
    const metrics = await new Promise<string>((resolve, reject) => {
      const [host, port] = lookup!.address.split(':');
      const socket = connect(Number(port), host);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('GET /metrics HTTP/1.0\r\n\r\n');
    });
    expect(metrics).toContain('zmproxy_lookup');
    const cache = await memcachedContents(ports.memcached);
    expect(cache).toContain('route:proto=');
    const nginxLogs = ['log/nginx.log', 'log/nginx.access.log']
      .map((file) => {
        try {
          return readFileSync(join(work, file), 'utf8');
        } catch {
          return '';
        }
      })
      .join('');
    for (const secret of secrets) {
      expect(logLines.join('')).not.toContain(secret);
      expect(metrics).not.toContain(secret);
      expect(cache).not.toContain(secret);
      expect(nginxLogs).not.toContain(secret);
    }
  });

  it('refuses an unknown user with the same message', async () => {
    const result = await pop3('nobody@example.test', 'x');
    expect(result.status).toBe(67);
  });

  it('rejects logins over the user limit with the configured message', async () => {
    await withLdapClient((client) =>
      client.modify('cn=config,cn=zimbra', [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'zimbraReverseProxyUserLoginLimit', values: ['2'] }),
        }),
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'zimbraReverseProxyUserThrottleMsg',
            values: ['Too many logins, carol'],
          }),
        }),
      ]),
    );
    await lookup!.refresh();
    try {
      expect((await imap('carol@example.test', 'carol-pw')).status).toBe(0);
      expect((await pop3('carol@example.test', 'carol-pw')).status).toBe(0);
      const third = await imap('carol@example.test', 'carol-pw', ['-v']);
      expect(third.status).not.toBe(0);
      expect(third.output).toContain('Too many logins, carol');
      // Another user is not affected.
      expect((await imap('bob@example.test', 'bob-pw')).status).toBe(0);
    } finally {
      await withLdapClient((client) =>
        client.modify('cn=config,cn=zimbra', [
          new Change({
            operation: 'replace',
            modification: new Attribute({
              type: 'zimbraReverseProxyUserLoginLimit',
              values: ['0'],
            }),
          }),
        ]),
      );
      await lookup!.refresh();
    }
  });

  it('keeps logging users in when memcached stops', async () => {
    expect((await imap('alice@example.test', 'alice-pw')).status).toBe(0);
    memcached?.kill('SIGTERM');
    await new Promise((resolve) => memcached?.once('exit', resolve));
    const before = dovecotLogins(2, 'bob@example.test');
    expect((await imap('bob@example.test', 'bob-pw')).status).toBe(0);
    expect((await pop3('bob@example.test', 'bob-pw')).status).toBe(0);
    expect(dovecotLogins(2, 'bob@example.test')).toBe(before + 2);
    expect(logLines.some((line) => line.includes('"cache":"down"'))).toBe(true);
  });
});

describe('web requests through nginx and the lookup service', () => {
  const get = (path: string, extra: string[] = []) =>
    curl([...extra, '-H', 'Host: mail.example.test', `http://127.0.0.1:${ports.http}${path}`]);

  it("sends a REST request to the user's backend", async () => {
    expect((await get('/home/bob/inbox')).output).toContain('backend-2 /home/bob/inbox');
    expect((await get('/home/alice/inbox')).output).toContain('backend-1 /home/alice/inbox');
  });

  it("sends a request with an auth token cookie to the account's backend", async () => {
    const alice = `ZM_AUTH_TOKEN=${authToken('alice000-0000-4000-8000-000000000001')}`;
    const bob = `ZM_AUTH_TOKEN=${authToken('bob00000-0000-4000-8000-000000000001')}`;
    for (let i = 0; i < 3; i++) {
      expect((await get('/service/soap/', ['-b', alice])).output).toContain('backend-1');
      expect((await get('/service/soap/', ['-b', bob])).output).toContain('backend-2');
    }
  });

  it.each([
    ['/HOME/bob/inbox', '/js/app.js', 'poison1.example.test'],
    [
      `/login?zauthtoken=${authToken('bob00000-0000-4000-8000-000000000001')}`,
      '/login?x=1',
      'poison2.example.test',
    ],
  ])('does not let %s teach the route cache a route for %s', async (first, then, host) => {
    const viaHost = (path: string) =>
      curl(['-H', `Host: ${host}`, `http://127.0.0.1:${ports.http}${path}`]);
    expect((await viaHost(first)).output).toContain('backend-2');
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      seen.add(/backend-[12]/.exec((await viaHost(then)).output)?.[0] ?? 'none');
    }
    // No identity: nginx's round robin, not bob's server for every request.
    expect([...seen].sort()).toEqual(['backend-1', 'backend-2']);
  });

  it('refuses a client outside the domain zimbraDomainAllowedIPs with 403, through nginx', async () => {
    const allowed = (values: string[]) =>
      withLdapClient((client) =>
        client.modify('dc=example,dc=test', [
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'zimbraDomainAllowedIPs', values }),
          }),
        ]),
      );
    await allowed(['127.0.0.99']);
    await lookup!.forget();
    try {
      const refused = await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'Host: mail.example.test',
        `http://127.0.0.1:${ports.http}/home/bob/allowed-ips-check`,
      ]);
      expect(refused.output).toBe('403');
    } finally {
      await allowed([]);
      await lookup!.forget();
    }
    expect((await get('/home/bob/allowed-ips-check-2')).output).toContain('backend-2');
  });

  it('answers a request without identity from one of the backends', async () => {
    expect((await get('/service/soap/')).output).toMatch(/backend-[12] \/service\/soap\//);
  });
});
