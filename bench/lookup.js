// Benchmark of the lookup service, all in one run on this machine:
//   1. mail lookups/s with a new connection per request (as nginx's auth_http does): route-only
//      cache hit (memcached) and miss (--no-cache: LDAP searches every time), and a verified hit
//      (--verify-password: one LDAP bind per lookup), p50/p99, beside nginx's own `return 200` on
//      a new connection (target: route-only hit >= 0.5 of it);
//   2. the same lookups over keep-alive connections (what nginx's `zmlookup` upstream with
//      `keepalive` sends for web routes) beside a bare node:http "200 OK" server with as many
//      workers, also on keep-alive: the limit of any Node service here (target: hit >= 0.6 of it);
//   3. IMAP logins/s through nginx + lookup vs directly against dovecot (target >= 0.9), and
//      IMAPS logins/s through the stream chain of docs/mail-tls.md (SNI router, PROXY protocol,
//      TLS to dovecot's IMAPS port, certificates verified) vs the plain mail path (IMAPS to nginx,
//      clear text to dovecot) (target >= 0.7);
//   4. web requests/s through nginx with per-user routing vs nginx proxying without routing
//      (target >= 0.7).
// Starts its own test stack (scripts/stack.sh), lookup service (dist/, 2 workers) and nginx;
// stops them all at the end. Usage: npm run build && node bench/lookup.js [seconds per test] [rounds]
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainLdif } from './lib/ldif-entries.js';
import { canConnect, freePorts, writeSelfSignedCertificate } from './lib/loopback.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 4);
const ROUNDS = Number(process.argv[3] ?? 2);
const CONCURRENCY = 32;
const USERS = 50;
const log = (text) => process.stderr.write(`bench: ${text}\n`);

const { generate } = await import(join(ROOT, 'dist/engine/generate.js'));
const { BUNDLED_TEMPLATE_DIR } = await import(join(ROOT, 'dist/cli/zmproxyconfgen.js'));
const { readLdifSnapshot } = await import(join(ROOT, 'dist/sources/ldif/index.js'));
const { resolveHostnames } = await import(join(ROOT, 'dist/sources/dns/resolve-hostnames.js'));
const { parseOverrides } = await import(join(ROOT, 'dist/vars/registry.js'));
const { createTemplateStore } = await import(join(ROOT, 'dist/writer/template-store.js'));

async function waitFor(check, what) {
  for (let i = 0; i < 200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs `one()` CONCURRENCY-wide for SECONDS; returns rate and p50/p99 in ms. */
async function load(one) {
  const latencies = [];
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      try {
        await one();
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rate: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

/** One GET, on a new connection unless an agent keeps them; resolves with the answer. */
function get(port, path, headers = {}, agent = false) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { Connection: 'close', ...headers }, agent },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode < 500 ? resolve(res) : reject(new Error(String(res.statusCode))),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** One IMAP LOGIN + LOGOUT on a new connection (IMAPS with `servername` as SNI when given). */
function imapLogin(port, user, password, servername) {
  return new Promise((resolve, reject) => {
    const socket =
      servername === undefined
        ? connect(port, '127.0.0.1')
        : tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    let buffer = '';
    let step = 0;
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffer += chunk;
      if (step === 0 && buffer.includes('\r\n')) {
        step = 1;
        buffer = '';
        socket.write(`a1 LOGIN "${user}" "${password}"\r\n`);
      } else if (step === 1 && /^a1 (OK|NO|BAD)/m.test(buffer)) {
        if (!/^a1 OK/m.test(buffer)) {
          socket.destroy();
          reject(new Error(buffer));
          return;
        }
        step = 2;
        socket.end('a2 LOGOUT\r\n');
        resolve();
      }
    });
    socket.on('error', reject);
    // nginx closes after `* BAD internal server error` (a failed upstream): fail at once.
    socket.on('close', () => step < 2 && reject(new Error(`closed: ${buffer}`)));
    socket.setTimeout(10_000, () => (socket.destroy(), reject(new Error('timeout'))));
  });
}

// ---------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'zmproxy-bench-lookup-'));
chmodSync(work, 0o755);
const cleanups = [];
const cleanup = async () => {
  for (const step of cleanups.reverse()) await Promise.resolve(step()).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
};

try {
  log('starting the test stack');
  const stackOut = spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'start'], {
    env: { ...process.env, STACK_DIR: join(work, 'stack') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (stackOut.status !== 0) throw new Error('stack.sh start failed');
  const env = Object.fromEntries(
    stackOut.stdout
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  cleanups.push(() =>
    spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'stop'], {
      env: { ...process.env, STACK_DIR: env.STACK_DIR },
      stdio: 'ignore',
    }),
  );

  const [
    lookupPort,
    missPort,
    verifyPort,
    barePort,
    authHttp,
    imap,
    pop3,
    imaps,
    pop3s,
    http,
    https,
    web1,
    web2,
    plain,
    ret,
    tlsAuthHttp,
    tlsImap,
    tlsPop3,
    tlsImaps,
    tlsPop3s,
  ] = await freePorts(20);
  // The domain's own certificate, served by the chain's SNI router to mail.example.test.
  const domainCrt = join(work, 'domain.crt');
  const domainKey = join(work, 'domain.key');
  writeSelfSignedCertificate(domainCrt, domainKey, 'mail.example.test');
  const base64 = (file) => readFileSync(file).toString('base64');

  // Directory: proxy + two mailbox servers, USERS accounts alternating between them.
  const server = (name, services, attrs) =>
    [
      `dn: cn=${name},cn=servers,cn=zimbra`,
      'objectClass: zimbraServer',
      `cn: ${name}`,
      `zimbraServiceHostname: ${name}`,
      ...services.map((s) => `zimbraServiceEnabled: ${s}`),
      ...attrs,
      '',
    ].join('\n');
  const accounts = Array.from({ length: USERS }, (_, i) =>
    [
      `dn: uid=user${i},ou=people,dc=example,dc=test`,
      'objectClass: inetOrgPerson',
      'objectClass: zimbraAccount',
      `uid: user${i}`,
      `cn: user${i}`,
      `sn: user${i}`,
      // The directory's password serves --verify-password only; route-only never reads it.
      `userPassword: pw${i}`,
      'zimbraAccountStatus: active',
      `zimbraId: ${String(i).padStart(8, '0')}-0000-4000-8000-000000000001`,
      `zimbraMailDeliveryAddress: user${i}@example.test`,
      `zimbraMailHost: dovecot${(i % 2) + 1}.stack.test`,
      '',
    ].join('\n'),
  );
  const ldif = [
    [
      'dn: cn=config,cn=zimbra',
      'objectClass: organizationalRole',
      'objectClass: zimbraGlobalConfig',
      'cn: config',
      'zimbraDefaultDomainName: example.test',
      'zimbraReverseProxyMailHostQuery: (|(zimbraMailDeliveryAddress=${USER})(zimbraMailAlias=${USER})(zimbraId=${USER}))',
      'zimbraReverseProxyMailHostAttribute: zimbraMailHost',
      'zimbraReverseProxyPortQuery: (&(zimbraServiceHostname=${MAILHOST})(objectClass=zimbraServer))',
      'zimbraReverseProxyImapPortAttribute: zimbraImapBindPort',
      'zimbraReverseProxyPop3PortAttribute: zimbraPop3BindPort',
      'zimbraReverseProxyHttpPortAttribute: zimbraMailPort',
      'zimbraReverseProxyImapSSLPortAttribute: zimbraImapSSLBindPort',
      'zimbraReverseProxyPop3SSLPortAttribute: zimbraPop3SSLBindPort',
      `zimbraMemcachedBindPort: ${env.MEMCACHED_PORT}`,
      '',
    ].join('\n'),
    server(
      'proxy.test',
      ['proxy'],
      [
        'zimbraReverseProxyMailEnabled: TRUE',
        'zimbraReverseProxyHttpEnabled: TRUE',
        'zimbraReverseProxyMailMode: http',
        'zimbraReverseProxySSLToUpstreamEnabled: FALSE',
        'zimbraReverseProxyImapStartTlsMode: on',
        'zimbraReverseProxyPop3StartTlsMode: on',
        `zimbraImapProxyBindPort: ${imap}`,
        `zimbraPop3ProxyBindPort: ${pop3}`,
        `zimbraImapSSLProxyBindPort: ${imaps}`,
        `zimbraPop3SSLProxyBindPort: ${pop3s}`,
        `zimbraMailProxyPort: ${http}`,
        `zimbraMailSSLProxyPort: ${https}`,
      ],
    ),
    // Zimbra 10's defaults: TLS to the mailbox servers, certificates by server name.
    server(
      'proxytls.test',
      ['proxy'],
      [
        'zimbraReverseProxyMailEnabled: TRUE',
        'zimbraReverseProxyHttpEnabled: FALSE',
        'zimbraReverseProxySSLToUpstreamEnabled: TRUE',
        'zimbraReverseProxySNIEnabled: TRUE',
        'zimbraReverseProxyGenConfigPerVirtualHostname: TRUE',
        'zimbraReverseProxyImapStartTlsMode: on',
        'zimbraReverseProxyPop3StartTlsMode: on',
        `zimbraImapProxyBindPort: ${tlsImap}`,
        `zimbraPop3ProxyBindPort: ${tlsPop3}`,
        `zimbraImapSSLProxyBindPort: ${tlsImaps}`,
        `zimbraPop3SSLProxyBindPort: ${tlsPop3s}`,
      ],
    ),
    ...[1, 2].map((i) =>
      server(
        `dovecot${i}.stack.test`,
        ['mailbox', 'service', 'zimbra', ...(i === 1 ? ['memcached'] : [])],
        [
          'zimbraReverseProxyLookupTarget: TRUE',
          'zimbraMailMode: http',
          `zimbraImapBindPort: ${env[`DOVECOT_IMAP_PORT_${i}`]}`,
          `zimbraPop3BindPort: ${env[`DOVECOT_POP3_PORT_${i}`]}`,
          `zimbraImapSSLBindPort: ${env[`DOVECOT_IMAPS_PORT_${i}`]}`,
          `zimbraPop3SSLBindPort: ${env[`DOVECOT_POP3S_PORT_${i}`]}`,
          `zimbraMailPort: ${i === 1 ? web1 : web2}`,
        ],
      ),
    ),
    domainLdif('example.test', [
      'zimbraVirtualHostname: mail.example.test',
      `zimbraSSLCertificate:: ${base64(domainCrt)}`,
      `zimbraSSLPrivateKey:: ${base64(domainKey)}`,
    ]),
    ...accounts,
  ].join('\n');
  const ldifFile = join(work, 'directory.ldif');
  writeFileSync(ldifFile, ldif);
  spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'reset', ldifFile], {
    env: { ...process.env, STACK_DIR: env.STACK_DIR },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  appendFileSync(
    env.DOVECOT_USERS_FILE,
    Array.from({ length: USERS }, (_, i) => `user${i}@example.test:{PLAIN}pw${i}\n`).join(''),
  );
  const hostsFile = join(work, 'hosts');
  writeFileSync(
    hostsFile,
    '127.0.0.1 localhost\n127.0.0.1 proxy.test proxytls.test dovecot1.stack.test dovecot2.stack.test\n',
  );
  writeFileSync(join(work, 'ldap-password'), `${env.LDAP_BIND_PASSWORD}\n`);

  // Web backends (this process) and the lookup services (2 workers each, child processes).
  const backends = [web1, web2].map((port, i) => {
    const s = createServer((req, res) => res.end(`backend-${i + 1}\n`));
    s.keepAliveTimeout = 65_000;
    s.listen(port, '127.0.0.1');
    return s;
  });
  cleanups.push(() => backends.forEach((s) => s.close()));
  const startLookup = (port, extra) => {
    const args = [
      '--input-type=module',
      '-e',
      `const { run } = await import(${JSON.stringify(join(ROOT, 'dist/cli/lookup.js'))});
       process.exitCode = await run(process.argv.slice(1), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });`,
      '--',
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
      '--source',
      env.LDAP_URL,
      '--bind-dn',
      env.LDAP_BIND_DN,
      '--bind-password-file',
      join(work, 'ldap-password'),
      '--hosts',
      hostsFile,
      '--hosts-only',
      '--log-level',
      'warn',
      ...extra,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    cleanups.push(
      () =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    );
    return child;
  };
  startLookup(lookupPort, []);
  startLookup(missPort, ['--no-cache']);
  startLookup(verifyPort, ['--verify-password']);
  // The bare node:http server: as many workers as the lookup service, answering 200 at once.
  const bareScript = join(work, 'bare-server.mjs');
  writeFileSync(
    bareScript,
    `import cluster from 'node:cluster';
import { createServer } from 'node:http';
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
  process.on('SIGTERM', () => process.exit(0));
} else {
  const server = createServer((request, response) => response.end('OK'));
  server.keepAliveTimeout = 65000;
  server.listen(${barePort}, '127.0.0.1');
}
`,
  );
  const bare = spawn(process.execPath, [bareScript], { stdio: ['ignore', 'ignore', 'inherit'] });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (bare.exitCode !== null || bare.signalCode !== null) return resolve();
        bare.once('exit', resolve);
        bare.kill('SIGTERM');
      }),
  );
  await waitFor(
    () => get(verifyPort, '/healthz').then((r) => r.statusCode === 200),
    'lookup (verify)',
  );
  await waitFor(() => get(barePort, '/').then((r) => r.statusCode === 200), 'bare node:http');
  await waitFor(() => get(lookupPort, '/healthz').then((r) => r.statusCode === 200), 'lookup');
  await waitFor(
    () => get(missPort, '/healthz').then((r) => r.statusCode === 200),
    'lookup (no cache)',
  );

  // nginx from our templates (one per proxy), plus a hand-written nginx for the baselines.
  const caBundle = join(work, 'mailbox-ca.pem');
  writeFileSync(
    caBundle,
    readFileSync(env.DOVECOT_TLS_CERT_1, 'utf8') + readFileSync(env.DOVECOT_TLS_CERT_2, 'utf8'),
  );
  const generateFor = async (serverName, workdir, auth, extraLocalConfig) => {
    const generation = await generate(
      {
        paths: { workdir, templateDir: BUNDLED_TEMPLATE_DIR },
        serverName,
        overrides: parseOverrides([`stock.lookup.:servers=server    127.0.0.1:${lookupPort};`])
          .overrides,
      },
      {
        source: { description: ldifFile, load: () => readLdifSnapshot([ldifFile]) },
        localConfig: new Map([
          ['zimbra_server_hostname', serverName],
          ['zmproxy_auth_http_listen', `127.0.0.1:${auth}`],
          ...extraLocalConfig,
        ]),
        templates: createTemplateStore(),
        resolver: {
          resolve: (names) =>
            resolveHostnames(names, {
              hosts: new Map(
                ['proxy.test', 'proxytls.test', 'dovecot1.stack.test', 'dovecot2.stack.test'].map(
                  (n) => [n, ['127.0.0.1']],
                ),
              ),
              hostsOnly: true,
            }),
        },
        files: { exists: () => Promise.resolve(false) },
      },
    );
    for (const file of generation.files) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.content);
    }
  };
  await generateFor('proxy.test', join(work, 'nginx'), authHttp, []);
  await generateFor('proxytls.test', join(work, 'nginx-tls'), tlsAuthHttp, [
    ['zmproxy_mail_upstream_ca_file', caBundle],
  ]);
  const prefix = join(work, 'nginx');
  writeSelfSignedCertificate(join(prefix, 'conf/nginx.crt'), join(prefix, 'conf/nginx.key'));
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html', 'base/logs', 'base/tmp']) {
    mkdirSync(join(prefix, dir), { recursive: true });
  }
  const tlsPrefix = join(work, 'nginx-tls');
  for (const file of ['nginx.key', 'nginx.crt']) {
    writeFileSync(join(tlsPrefix, 'conf', file), readFileSync(join(prefix, 'conf', file)));
  }
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html']) {
    mkdirSync(join(tlsPrefix, dir), { recursive: true });
  }
  writeFileSync(
    join(prefix, 'base/nginx.conf'),
    `worker_processes 1;
pid nginx.pid;
error_log logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    upstream plain { server 127.0.0.1:${web1}; keepalive 32; }
    server { listen 127.0.0.1:${ret}; location / { return 200; } }
    server {
        listen 127.0.0.1:${plain};
        location / {
            proxy_pass http://plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`,
  );
  // The generated config runs 4 workers (zimbraReverseProxyWorkerProcesses); match it to one
  // worker like the baseline nginx, so that both compare the same CPU share.
  for (const mainInc of [prefix, tlsPrefix].map((p) =>
    join(p, 'conf/nginx/includes/nginx.conf.main'),
  )) {
    writeFileSync(
      mainInc,
      readFileSync(mainInc, 'utf8').replace(/worker_processes\s+\d+;/, 'worker_processes  1;'),
    );
  }
  const script = 'mount --bind "$1" /etc/hosts && exec /usr/sbin/nginx -p "$2/" -c "$3"';
  for (const [p, conf] of [
    [prefix, join(prefix, 'conf/nginx.conf')],
    [join(prefix, 'base'), join(prefix, 'base/nginx.conf')],
    [tlsPrefix, join(tlsPrefix, 'conf/nginx.conf')],
  ]) {
    const r = spawnSync('unshare', ['--mount', 'sh', '-c', script, 'sh', hostsFile, p, conf], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`nginx: ${r.stderr}`);
  }
  cleanups.push(() => {
    for (const pid of [
      join(prefix, 'log/nginx.pid'),
      join(prefix, 'base/nginx.pid'),
      join(tlsPrefix, 'log/nginx.pid'),
    ]) {
      try {
        process.kill(Number(readFileSync(pid, 'utf8')), 'SIGTERM');
      } catch {
        // not running
      }
    }
  });
  await waitFor(() => canConnect(imap), 'nginx imap');
  await waitFor(() => canConnect(ret), 'nginx baseline');
  await waitFor(() => canConnect(tlsImaps), 'nginx imaps (stream chain)');

  const mailHeaders = (i) => ({
    'Auth-Method': 'plain',
    'Auth-User': `user${i % USERS}@example.test`,
    'Auth-Pass': `pw${i % USERS}`,
    'Auth-Protocol': 'imap',
    'Auth-Login-Attempt': '1',
    'Client-IP': '127.0.0.1',
  });
  let n = 0;
  // Warm the route caches for every user (route-only and verified keys).
  for (let i = 0; i < USERS; i++) {
    for (const port of [lookupPort, verifyPort]) {
      const answer = await get(port, '/service/extension/nginx-lookup', mailHeaders(i));
      if (answer.headers['auth-status'] !== 'OK')
        throw new Error(`lookup on ${port}: ${answer.headers['auth-status']}`);
    }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const kept = (port, path, headers = {}) =>
    get(port, path, { ...headers, Connection: 'keep-alive' }, agent);
  const LOOKUP = '/service/extension/nginx-lookup';

  // Each test runs ROUNDS times, the whole list round after round, and keeps its best run: on a
  // shared machine a load spike then hits one run of each test, not one side of a ratio.
  const tests = {
    nginxReturn: () => get(ret, '/'),
    routeHit: () => get(lookupPort, LOOKUP, mailHeaders(n++)),
    routeMiss: () => get(missPort, LOOKUP, mailHeaders(n++)),
    verifiedHit: () => get(verifyPort, LOOKUP, mailHeaders(n++)),
    bareKeepAlive: () => kept(barePort, '/'),
    routeHitKeepAlive: () => kept(lookupPort, LOOKUP, mailHeaders(n++)),
    routeMissKeepAlive: () => kept(missPort, LOOKUP, mailHeaders(n++)),
    verifiedHitKeepAlive: () => kept(verifyPort, LOOKUP, mailHeaders(n++)),
    imapDirect: () => {
      const i = n++ % USERS;
      return imapLogin(
        Number(env[`DOVECOT_IMAP_PORT_${(i % 2) + 1}`]),
        `user${i}@example.test`,
        `pw${i}`,
      );
    },
    imapProxied: () => {
      const i = n++ % USERS;
      return imapLogin(imap, `user${i}@example.test`, `pw${i}`);
    },
    imapsPlainPath: () => {
      const i = n++ % USERS;
      return imapLogin(imaps, `user${i}@example.test`, `pw${i}`, 'mail.example.test');
    },
    imapsChain: () => {
      const i = n++ % USERS;
      return imapLogin(tlsImaps, `user${i}@example.test`, `pw${i}`, 'mail.example.test');
    },
    webPlain: () => get(plain, '/home/user0/inbox', { Connection: 'keep-alive' }),
    webRouted: () => get(http, `/home/user${n++ % USERS}/inbox`, { Connection: 'keep-alive' }),
  };
  log(`measuring, ${ROUNDS} rounds of ${SECONDS} s per test, ${CONCURRENCY} concurrent clients`);
  const results = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, one] of Object.entries(tests)) {
      const result = await load(one);
      if (results[name] === undefined || result.rate > results[name].rate) results[name] = result;
    }
  }
  agent.destroy();

  const row = (name, r) =>
    `${name.padEnd(34)} ${r.rate.toFixed(0).padStart(7)}/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  errors ${r.errors}`;
  const ratio = (a, b) => (a.rate / b.rate).toFixed(2);
  const lines = [
    row('nginx return 200 (new conn)', results.nginxReturn),
    row('route-only, cache hit (new conn)', results.routeHit),
    row('route-only, cache miss (new conn)', results.routeMiss),
    row('verified, cache hit (new conn)', results.verifiedHit),
    row('bare node:http 200 (keep-alive)', results.bareKeepAlive),
    row('route-only, cache hit (keep-alive)', results.routeHitKeepAlive),
    row('route-only, cache miss (keep-alive)', results.routeMissKeepAlive),
    row('verified, cache hit (keep-alive)', results.verifiedHitKeepAlive),
    row('IMAP login direct to dovecot', results.imapDirect),
    row('IMAP login via nginx + lookup', results.imapProxied),
    row('IMAPS via nginx, clear to dovecot', results.imapsPlainPath),
    row('IMAPS via SNI + TLS chain', results.imapsChain),
    row('web via nginx, no routing', results.webPlain),
    row('web via nginx, routed', results.webRouted),
    '',
    `route-only hit / nginx return 200 (new conn):    ${ratio(results.routeHit, results.nginxReturn)} (target >= 0.5)`,
    `route-only miss / nginx return 200 (new conn):   ${ratio(results.routeMiss, results.nginxReturn)}`,
    `verified hit / nginx return 200 (new conn):      ${ratio(results.verifiedHit, results.nginxReturn)}`,
    `route-only hit / bare node:http (keep-alive):    ${ratio(results.routeHitKeepAlive, results.bareKeepAlive)} (target >= 0.6)`,
    `route-only miss / bare node:http (keep-alive):   ${ratio(results.routeMissKeepAlive, results.bareKeepAlive)}`,
    `verified hit / bare node:http (keep-alive):      ${ratio(results.verifiedHitKeepAlive, results.bareKeepAlive)}`,
    `IMAP via nginx + lookup / direct:                ${ratio(results.imapProxied, results.imapDirect)} (target >= 0.9)`,
    `IMAPS stream chain / plain mail path:            ${ratio(results.imapsChain, results.imapsPlainPath)} (target >= 0.7)`,
    `web routed / not routed:                         ${ratio(results.webRouted, results.webPlain)} (target >= 0.7)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await cleanup();
}
