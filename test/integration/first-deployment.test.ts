/**
 * The README's first deployment, end to end: docs/first-deployment.sh runs unchanged on a fresh
 * work directory against the test stack's slapd (the "reachable Zimbra LDAP", holding a proxy,
 * two mailbox servers and their accounts) with zmproxy's commands on PATH. Then IMAP (STARTTLS
 * and IMAPS), POP3 and HTTPS logins must land on each user's own mailbox server (the stack's two
 * dovecots; two web backends of this file), and the doctor must name a stopped lookup service
 * with a fix that, run literally, brings logins back.
 *
 * The directory's host names resolve through a hosts file bind-mounted over /etc/hosts in a
 * mount namespace of each command's own: nginx and the lookup service, started inside, keep it.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetDirectory, stackValue } from '../helpers/stack.js';
import { freePorts } from '../helpers/ports.js';
import {
  domainLdif,
  proxyPortLines,
  accountLdif,
  addDovecotUsers,
  curl,
  dovecotLogins,
  globalConfigLdif,
  serverLdif,
  startWebBackend,
} from '../helpers/mail-stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'docs/first-deployment.sh');
/** The ports zmproxy uses by default on every proxy host (docs/deployment.md). */
const FIXED_PORTS = [7077, 7078, 7079];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface Ports {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  http: number;
  https: number;
  web1: number;
  web2: number;
}

function directoryLdif(ports: Ports): string {
  const server = serverLdif;
  const account = (uid: string, host: string): string =>
    accountLdif({
      uid,
      domainDn: 'dc=example,dc=test',
      mailDomain: 'example.test',
      host,
      idDigit: '2',
      lines: [`userPassword: ${uid}-fd-pw`],
    });
  return [
    globalConfigLdif('example.test', [
      'zimbraReverseProxyHttpPortAttribute: zimbraMailPort',
      'zimbraReverseProxyHttpSSLPortAttribute: zimbraMailSSLPort',
      `zimbraMemcachedBindPort: ${stackValue('MEMCACHED_PORT')}`,
      'zimbraReverseProxySendImapId: FALSE',
      'zimbraReverseProxySendPop3Xoip: FALSE',
    ]),
    server('proxy.test', '5', [
      'zimbraServiceInstalled: proxy',
      'zimbraServiceEnabled: proxy',
      'zimbraServiceEnabled: memcached',
      'zimbraReverseProxyMailEnabled: TRUE',
      'zimbraReverseProxyHttpEnabled: TRUE',
      'zimbraReverseProxyMailMode: https',
      'zimbraReverseProxyImapStartTlsMode: on',
      'zimbraReverseProxyPop3StartTlsMode: on',
      'zimbraReverseProxySSLToUpstreamEnabled: FALSE',
      'zimbraReverseProxySendImapId: FALSE',
      'zimbraReverseProxySendPop3Xoip: FALSE',
      ...proxyPortLines(ports),
    ]),
    ...(['mbx1.test', 'mbx2.test'] as const).map((name, index) =>
      server(name, String(index + 1), [
        'zimbraServiceInstalled: mailbox',
        'zimbraServiceEnabled: mailbox',
        'zimbraServiceEnabled: service',
        'zimbraReverseProxyLookupTarget: TRUE',
        'zimbraMailMode: http',
        `zimbraImapBindPort: ${stackValue(`DOVECOT_IMAP_PORT_${index + 1}`)}`,
        `zimbraPop3BindPort: ${stackValue(`DOVECOT_POP3_PORT_${index + 1}`)}`,
        `zimbraMailPort: ${index === 0 ? ports.web1 : ports.web2}`,
        'zimbraMailSSLPort: 1',
        'zimbraAdminPort: 1',
      ]),
    ),
    domainLdif('example.test', ['zimbraId: d0000000-0000-4000-8000-000000000002']),
    account('amy', 'mbx1.test'),
    account('ben', 'mbx2.test'),
  ].join('\n');
}

let work = '';
let home = '';
let ports: Ports;
let web: Server[] = [];
let env: NodeJS.ProcessEnv = {};

/** Runs a shell command line as an admin on the proxy host would: PATH, hosts file, settings. */
function onProxyHost(
  command: string,
  timeoutMs = 180_000,
): Promise<{ code: number | null; output: string }> {
  const script = 'mount --bind "$1" /etc/hosts && shift && exec sh -c "$1"';
  return new Promise((resolve) => {
    const child = spawn(
      'unshare',
      ['--mount', 'sh', '-c', script, 'sh', join(work, 'hosts'), command],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const imap = (user: string, extra: string[] = []) =>
  curl([
    ...extra,
    `imap://127.0.0.1:${ports.imap}/`,
    '--user',
    `${user}@example.test:${user}-fd-pw`,
  ]);

let deployment: { code: number | null; output: string } = { code: null, output: '' };

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli/zmproxyctl.js')))
    throw new Error('dist/ is missing: npm run build first (npm test does)');
  for (const port of FIXED_PORTS) {
    if (!(await portFree(port)))
      throw new Error(
        `127.0.0.1:${port} is taken: the first deployment uses zmproxy's default ports`,
      );
  }
  work = mkdtempSync(join(tmpdir(), 'zmproxy-first-deployment-'));
  chmodSync(work, 0o755);
  home = join(work, 'zimbra');
  const list = await freePorts(8);
  ports = {
    imap: list[0]!,
    imaps: list[1]!,
    pop3: list[2]!,
    pop3s: list[3]!,
    http: list[4]!,
    https: list[5]!,
    web1: list[6]!,
    web2: list[7]!,
  };
  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(ports));
  await resetDirectory(ldif);
  addDovecotUsers(['amy', 'ben'].map((user) => [`${user}@example.test`, `${user}-fd-pw`]));
  web = await Promise.all([
    startWebBackend('backend-1', ports.web1),
    startWebBackend('backend-2', ports.web2),
  ]);

  // zmproxy's commands on PATH, as npm install -g puts them there.
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  for (const [name, file] of Object.entries(pkg.bin))
    symlinkSync(join(ROOT, file), join(bin, name));
  writeFileSync(
    join(work, 'hosts'),
    '127.0.0.1 localhost\n127.0.0.1 proxy.test mbx1.test mbx2.test\n',
  );
  writeFileSync(join(work, 'ldap-password'), `${stackValue('LDAP_BIND_PASSWORD')}\n`);
  env = {
    ...process.env,
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    ZIMBRA_HOME: home,
    PROXY_HOSTNAME: 'proxy.test',
    LDAP_URL: stackValue('LDAP_URL'),
    LDAP_BIND_DN: stackValue('LDAP_BIND_DN'),
    LDAP_PASSWORD_FILE: join(work, 'ldap-password'),
  };
  deployment = await onProxyHost(`sh ${SCRIPT}`);
  writeFileSync(join(tmpdir(), 'zmproxy-first-deployment.out'), deployment.output);
}, 300_000);

afterAll(async () => {
  if (home !== '') await onProxyHost(`zmproxyctl stop -w ${home}`, 60_000);
  await Promise.all(web.map((server) => new Promise((resolve) => server.close(resolve))));
  if (work !== '' && process.env['ZMPROXY_KEEP_STACK'] === undefined)
    rmSync(work, { recursive: true, force: true });
});

/** The certificate nginx presents on the IMAPS port: its notAfter, as openssl prints it. */
async function servedNotAfter(): Promise<string> {
  const shown = await new Promise<string>((resolve) => {
    const child = spawn('sh', [
      '-c',
      `openssl s_client -connect 127.0.0.1:${ports.imaps} </dev/null 2>/dev/null | openssl x509 -noout -enddate`,
    ]);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('close', () => resolve(output.trim()));
  });
  return shown;
}

/** A self-signed pair for proxy.test in `dir` (chain.pem, key.pem); expired when asked. */
function writePair(dir: string, expired: boolean): void {
  mkdirSync(dir, { recursive: true });
  const run = (args: string) =>
    spawnSync('sh', ['-c', `cd ${dir} && openssl ${args}`], { stdio: 'pipe' });
  run(
    'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 -subj /CN=proxy.test -addext subjectAltName=DNS:proxy.test -keyout key.pem -out chain.pem',
  );
  if (expired) run('x509 -in chain.pem -signkey key.pem -days -1 -out chain.pem');
}

describe('the first deployment (docs/first-deployment.sh)', () => {
  it('runs every command of the script, the doctor finding nothing that fails', () => {
    expect(deployment.output).toContain('is set up; next: zmproxyctl start');
    expect(deployment.output).toContain('Starting proxy...done.');
    expect(deployment.output).toMatch(/\d+ ok, \d+ warnings?, 0 failures/);
    expect(deployment.code).toBe(0);
  });

  it("lands IMAP logins, plain with STARTTLS and IMAPS, on each user's mailbox server", async () => {
    const before = [dovecotLogins(1, 'amy@example.test'), dovecotLogins(2, 'ben@example.test')];
    const starttls = await imap('amy', ['--ssl-reqd', '-k']);
    expect(starttls.output).toContain('INBOX');
    expect(starttls.status).toBe(0);
    const imaps = await curl([
      '-k',
      `imaps://127.0.0.1:${ports.imaps}/`,
      '--user',
      'ben@example.test:ben-fd-pw',
    ]);
    expect(imaps.status).toBe(0);
    expect(dovecotLogins(1, 'amy@example.test')).toBe(before[0]! + 1);
    expect(dovecotLogins(2, 'ben@example.test')).toBe(before[1]! + 1);
    expect(dovecotLogins(2, 'amy@example.test')).toBe(0);
  });

  it("lands a POP3 login on the user's mailbox server", async () => {
    const before = dovecotLogins(2, 'ben@example.test');
    const pop3 = await curl([
      '--ssl-reqd',
      '-k',
      `pop3://127.0.0.1:${ports.pop3}/`,
      '--user',
      'ben@example.test:ben-fd-pw',
    ]);
    expect(pop3.status).toBe(0);
    expect(dovecotLogins(2, 'ben@example.test')).toBe(before + 1);
  });

  it("sends an HTTPS request of a logged-in user to the user's mailbox server", async () => {
    const get = (user: string) =>
      curl([
        '-k',
        '--user',
        `${user}@example.test:${user}-fd-pw`,
        `https://127.0.0.1:${ports.https}/home/${user}/inbox`,
      ]);
    expect((await get('amy')).output).toContain('backend-1 /home/amy/inbox');
    expect((await get('ben')).output).toContain('backend-2 /home/ben/inbox');
  });

  it('compares with the served generation, and refuses to write a second tree', async () => {
    const check = await onProxyHost(`zmproxyconfgen -w ${home} --check`);
    expect(check.output).toMatch(/all \d+ files are up to date/);
    expect(check.code).toBe(0);
    const plain = await onProxyHost(`zmproxyconfgen -w ${home}`);
    expect(plain.code).toBe(2);
    expect(plain.output).toContain(`hint: zmproxyconfgen --apply -w ${home} publishes`);
    expect(existsSync(join(home, 'conf/nginx.conf'))).toBe(false);
  });

  it('names a stopped lookup service in the doctor, whose fix brings logins back', async () => {
    expect((await onProxyHost(`zmproxyctl stop-lookup -w ${home}`)).code).toBe(0);
    expect((await imap('amy')).status).not.toBe(0);
    const doctor = await onProxyHost(`zmproxy doctor -w ${home} --json`);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.output) as {
      findings: { check: string; severity: string; subject: string; fix: string | null }[];
    };
    const failed = report.findings.filter((f) => f.severity === 'fail');
    expect(failed.map((f) => f.subject)).toContain('lookup service http://127.0.0.1:7077');
    const fix = failed.find((f) => f.check === 'lookup-service')?.fix ?? '';
    expect(fix).toBe(`zmproxyctl start-lookup -w ${home}`);
    expect((await onProxyHost(fix)).code).toBe(0);
    expect((await imap('amy')).status).toBe(0);
    expect((await onProxyHost(`zmproxy doctor -w ${home}`)).code).toBe(0);
  });

  it('names an expired certificate nginx serves in the doctor, whose fix serves a renewed one', async () => {
    // An admin installs an expired pair over the default one and reloads.
    const old = join(work, 'expired');
    writePair(old, true);
    const install = `install -m 600 ${old}/key.pem ${home}/conf/nginx.key && install -m 644 ${old}/chain.pem ${home}/conf/nginx.crt && zmproxyctl reload -w ${home}`;
    expect((await onProxyHost(install)).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const expiredOn = await servedNotAfter();
    const doctor = await onProxyHost(`zmproxy doctor -w ${home} --json`);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.output) as {
      findings: { check: string; severity: string; evidence: string; fix: string | null }[];
    };
    const failure = report.findings.find(
      (f) => f.check === 'certificates' && f.severity === 'fail',
    );
    expect(failure?.evidence).toMatch(/CN=proxy\.test expired on/);
    expect(failure?.fix).toBe(
      `install -m 600 key.pem ${home}/conf/nginx.key && install -m 644 chain.pem ${home}/conf/nginx.crt && zmproxyctl reload -w ${home}`,
    );
    // The renewed pair, as chain.pem and key.pem in the admin's directory: the fix, literally.
    const renewed = join(work, 'renewed');
    writePair(renewed, false);
    expect((await onProxyHost(`cd ${renewed} && ${failure?.fix ?? 'false'}`)).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await servedNotAfter()).not.toBe(expiredOn);
    expect((await onProxyHost(`zmproxy doctor -w ${home}`)).code).toBe(0);
    expect((await imap('amy', ['--ssl-reqd', '-k'])).status).toBe(0);
  });

  it('names a stopped mailbox server in the doctor', async () => {
    const backend = web[1];
    await new Promise((resolve) => backend?.close(resolve));
    try {
      const doctor = await onProxyHost(`zmproxy doctor -w ${home}`);
      expect(doctor.code).toBe(1);
      expect(doctor.output).toMatch(/FAIL\s+server mbx2\.test: .*HTTP upstream\) ECONNREFUSED/s);
    } finally {
      web[1] = await startWebBackend('backend-2', ports.web2);
    }
    expect((await onProxyHost(`zmproxy doctor -w ${home}`)).code).toBe(0);
  });

  it('logs in through a remote lookup service over verified TLS (zmproxy_lookup_servers)', async () => {
    // The remote service: its own certificate, named zmlookup, on another port of this host.
    const tls = join(work, 'lookup-tls');
    mkdirSync(tls);
    spawnSync('sh', [
      '-c',
      `cd ${tls} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=zmlookup -addext subjectAltName=DNS:zmlookup -keyout key.pem -out cert.pem`,
    ]);
    const [port] = await freePorts(1);
    const script =
      'mount --bind "$1" /etc/hosts && shift && exec zmproxy lookup --workers 0 -w "$@"';
    const remote = spawn(
      'unshare',
      [
        '--mount',
        'sh',
        '-c',
        script,
        'sh',
        join(work, 'hosts'),
        home,
        '--listen',
        `127.0.0.1:${port}`,
        '--tls-cert',
        join(tls, 'cert.pem'),
        '--tls-key',
        join(tls, 'key.pem'),
      ],
      { env, stdio: 'ignore' },
    );
    const local = `zmlocalconfig -w ${home}`;
    try {
      const switched = await onProxyHost(
        `${local} -e zmproxy_lookup_servers=127.0.0.1:${port} zmproxy_lookup_scheme=https zmproxy_lookup_ca_file=${tls}/cert.pem && zmproxyctl stop-lookup -w ${home} && zmproxyconfgen --apply -w ${home} || [ $? -eq 10 ]`,
      );
      expect(switched.code).toBe(0);
      const served = readFileSync(
        join(home, 'conf/nginx/current/includes/nginx.conf.zmlookup'),
        'utf8',
      );
      expect(served).toContain(`server    127.0.0.1:${port}`);
      expect(served).toMatch(/proxy_ssl_verify\s+on;/);
      const before = dovecotLogins(1, 'amy@example.test');
      let login = await imap('amy');
      for (let i = 0; i < 20 && login.status !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        login = await imap('amy');
      }
      expect(login.status).toBe(0);
      expect(dovecotLogins(1, 'amy@example.test')).toBe(before + 1);
      const doctor = await onProxyHost(`zmproxy doctor -w ${home}`);
      expect(doctor.output).toContain(`ok    lookup service https://127.0.0.1:${port}`);
      expect(doctor.code).toBe(0);
    } finally {
      remote.kill('SIGTERM');
      await onProxyHost(
        `${local} -u zmproxy_lookup_servers zmproxy_lookup_scheme zmproxy_lookup_ca_file && zmproxyctl start-lookup -w ${home} && zmproxyconfgen --apply -w ${home} || [ $? -eq 10 ]`,
      );
    }
  });
});
