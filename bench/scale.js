// Benchmark of a large directory (npm run bench:scale): BENCH_DOMAINS (default 1 000 and 10 000)
// domains, each with two virtual host names and a certificate of its own.
// Per size, each a fresh zmproxyconfgen process against a bare `node -e 0`:
//   - cold render (empty work directory) and peak RSS,
//   - a no-change run, and a run after one domain gained a virtual host name,
//   - `nginx -t` of the result (certificate map, the default above the threshold) and, at the
//     smallest size, of the static shape (a server block per name, forced by localconfig),
//   - with nginx started by `zmproxyctl start` on an --apply work directory: change → confirmed
//     served (BENCH_APPLY_RUNS, default 5, runs of `zmproxyconfgen --apply` each adding a virtual
//     host name, timed until a handshake with that name gets the domain's certificate; p50) and
//     the reload (signal → marker answers the new generation, from the runs' durations; p50).
// At the smallest size, nginx is started on loopback ports with each shape and a Node TLS client
// measures full and resumed handshakes per second (names taken in turn, 5 s each, 16 in flight).
// Names resolve from a private /etc/hosts to 127.0.x.y (unshare --mount, as root); nothing leaves
// the loopback interface.
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, writeSelfSignedCertificate } from './lib/loopback.js';
import { syntheticDirectory } from './synthetic-directory.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZES = (process.env.BENCH_DOMAINS ?? '1000,10000').split(',').map(Number);
const HANDSHAKE_SECONDS = Number(process.env.BENCH_HANDSHAKE_SECONDS ?? 5);
const APPLY_RUNS = Number(process.env.BENCH_APPLY_RUNS ?? 5);
const NGINX = '/usr/sbin/nginx';
const cli = join(ROOT, 'dist/cli/zmproxyconfgen.js');

const log = (text) => process.stderr.write(`[bench:scale] ${text}\n`);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function timed(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    ...options,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, ...result };
}

function confgen(args) {
  const script = `const { run } = await import(${JSON.stringify(cli)});
    let out = ''; const code = await run(${JSON.stringify(args)}, { stdout: (t) => { out += t; }, stderr: (t) => process.stderr.write(t) });
    if (code !== 0) { process.stderr.write(out); process.exit(code); }
    process.stdout.write(JSON.stringify({ rss: process.resourceUsage().maxRSS }));`;
  if (process.env.BENCH_VERBOSE) log(JSON.stringify(args));
  const result = timed(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', process.env.BENCH_VERBOSE ? 'inherit' : 'ignore'],
    timeout: 600_000,
  });
  if (result.status !== 0)
    throw new Error(`zmproxyconfgen failed (${result.status}, ${result.signal})`);
  return { ms: result.ms, rss: JSON.parse(result.stdout).rss / 1024 };
}

/** The synthetic directory with mail and the admin console off, names on loopback addresses. */
function directory(domains) {
  const { ldif, hosts } = syntheticDirectory({ servers: 4, domains });
  const settings = {
    zimbraReverseProxyMailEnabled: 'FALSE',
    zimbraReverseProxyAdminEnabled: 'FALSE',
    zimbraReverseProxySNIEnabled: 'TRUE',
  };
  const records = ldif.split('\n\n');
  const at = records.findIndex((record) => record.includes('objectClass: zimbraGlobalConfig'));
  const kept = records[at]
    .split('\n')
    .filter((line) => !Object.keys(settings).some((name) => line.startsWith(`${name}:`)));
  records[at] = [...kept, ...Object.entries(settings).map(([k, v]) => `${k}: ${v}`)].join('\n');
  const edited = records.join('\n\n');
  let n = 0;
  const loopbackHosts = hosts
    .trim()
    .split('\n')
    .map((line) => {
      n += 1;
      return `127.0.${Math.floor(n / 250) + 1}.${(n % 250) + 1} ${line.split(/\s+/)[1]}`;
    })
    .join('\n');
  return { ldif: edited, hosts: `127.0.0.1 localhost\n${loopbackHosts}\n` };
}

/** Runs `command` in a private mount namespace where /etc/hosts is `hosts`; nginx started there stays in it. */
function inHosts(hosts, command, args, options = {}) {
  return timed(
    'unshare',
    [
      '--mount',
      'sh',
      '-c',
      'mount --bind "$1" /etc/hosts && shift && exec "$@"',
      'sh',
      hosts,
      command,
      ...args,
    ],
    { ...options },
  );
}

/** The certificate's fingerprint nginx presents for `servername` (undefined: no handshake). */
function servedFingerprint(port, servername) {
  return new Promise((resolve) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        resolve(cert?.fingerprint256);
      },
    );
    socket.on('error', () => resolve(undefined));
  });
}

/** An empty work directory as zmproxyctl expects it: default certificate, log and data directories. */
function prepareWork(work) {
  mkdirSync(join(work, 'conf'), { recursive: true });
  writeSelfSignedCertificate(
    join(work, 'conf/nginx.crt'),
    join(work, 'conf/nginx.key'),
    'default.bench.test',
    { rsa: true },
  );
  // With the certificate map the workers load the default key too (docs/certificates.md).
  chownSync(join(work, 'conf/nginx.key'), -1, 65534);
  chmodSync(join(work, 'conf/nginx.key'), 0o640);
  for (const sub of ['log', 'data/tmp/nginx', 'data/nginx/html'])
    mkdirSync(join(work, sub), { recursive: true });
}

/**
 * change → confirmed served, `runs` times: each run adds a virtual host name to domain d2 and
 * runs `zmproxyconfgen --apply` (which returns once nginx's marker answers the new generation);
 * the clock stops when a handshake with the new name gets the domain's certificate, not the
 * default one. nginx runs in the private hosts namespace (the mailbox names resolve there).
 */
async function changeToServed({ dir, ldif, hosts, args, https, marker, runs }) {
  const work = join(dir, 'apply');
  prepareWork(work);
  const ldifPath = join(dir, 'apply.ldif');
  writeFileSync(ldifPath, ldif);
  const applyArgs = [
    ...args.map((arg) => (arg.startsWith('ldif:') ? `ldif:${ldifPath}` : arg)),
    '-c',
    `stock.generation.listen=127.0.0.1:${marker}`,
    '--nginx',
    NGINX,
    '--min-reload-interval',
    '0',
  ].map((arg, index, all) => (all[index - 1] === '-w' ? work : arg));
  const confgenBin = join(ROOT, 'bin/zmproxyconfgen.js');
  const ctlBin = join(ROOT, 'bin/zmproxyctl.js');
  const apply = () => {
    const result = inHosts(
      hosts,
      process.execPath,
      [confgenBin, ...applyArgs, '--apply', '--json'],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const line = result.stdout.trim().split('\n').pop() ?? '{}';
    return {
      ms: result.ms,
      status: result.status,
      result: JSON.parse(line),
      stderr: result.stderr,
    };
  };
  const first = apply();
  if (first.status !== 10)
    throw new Error(`first --apply: ${first.status}: ${first.stderr.slice(-2000)}`);
  const start = inHosts(
    hosts,
    process.execPath,
    [ctlBin, 'start', 'norewrite', '-w', work, '--nginx', NGINX, '--no-lookup'],
    { encoding: 'utf8' },
  );
  if (start.status !== 0) throw new Error(`zmproxyctl start: ${start.stderr}`);
  const fallback = new X509Certificate(readFileSync(join(work, 'conf/nginx.crt'))).fingerprint256;
  const served = [];
  const reloads = [];
  try {
    let text = ldif;
    for (let run = 1; run <= runs; run++) {
      const name = `served${run}.d2.bench.test`;
      text = text.replace(
        /^(zimbraDomainName: d2\.bench\.test)$/m,
        `$1\nzimbraVirtualHostname: ${name}`,
      );
      writeFileSync(ldifPath, text);
      const started = process.hrtime.bigint();
      const result = apply();
      if (result.status !== 10)
        throw new Error(`--apply: ${result.status} ${JSON.stringify(result.result)}`);
      for (let i = 0; ; i++) {
        const got = await servedFingerprint(https, name);
        if (got !== undefined && got !== fallback) break;
        if (i > 600) throw new Error(`${name} not served`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      served.push(Number(process.hrtime.bigint() - started) / 1e6);
      reloads.push((result.result.durations?.reload ?? 0) * 1000);
      if (process.env.BENCH_VERBOSE)
        log(
          `apply run ${run}: ${Math.round(served.at(-1))} ms ${JSON.stringify(result.result.durations)}`,
        );
    }
  } finally {
    inHosts(hosts, process.execPath, [ctlBin, 'stop', '-w', work, '--nginx', NGINX, '--no-lookup']);
  }
  return { served: median(served), reload: median(reloads) };
}

function runNginxTest(work) {
  const script = 'mount --bind "$1" /etc/hosts && exec "$2" -t -q -p "$3/" -c "$3/conf/nginx.conf"';
  const result = timed('unshare', [
    '--mount',
    'sh',
    '-c',
    script,
    'sh',
    join(work, 'hosts'),
    NGINX,
    work,
  ]);
  if (result.status !== 0) throw new Error(`nginx -t failed: ${result.stderr}`);
  return result.ms;
}

async function startNginx(work, port) {
  const script =
    'mount --bind "$1" /etc/hosts && exec "$2" -p "$3/" -c "$3/conf/nginx.conf" -g "daemon off;"';
  const child = spawn(
    'unshare',
    ['--mount', 'sh', '-c', script, 'sh', join(work, 'hosts'), NGINX, work],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  for (let i = 0; i < 600; i++) {
    const up = await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return child;
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nginx did not answer on ${port}: ${stderr}`);
}

function stopNginx(child) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/** Handshakes per second over `seconds`, 16 in flight, taking the names in turn. */
async function handshakes(port, names, resumed) {
  const sessions = new Map();
  if (resumed) {
    // One session ticket per name first (TLS 1.3 tickets arrive after the handshake).
    for (const name of names.slice(0, 64)) {
      await new Promise((resolve) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          servername: name,
          rejectUnauthorized: false,
        });
        // Tickets arrive after the handshake; without one in 1 s, no resumption for this name.
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 1000);
        socket.once('session', (session) => {
          clearTimeout(timer);
          sessions.set(name, session);
          socket.destroy();
          resolve();
        });
        socket.on('error', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  const pool = resumed ? [...sessions.keys()] : names;
  if (pool.length === 0) return { perSecond: 0, reused: 0 };
  let done = 0;
  let reused = 0;
  let next = 0;
  const deadline = Date.now() + HANDSHAKE_SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const name = pool[next++ % pool.length];
      await new Promise((resolve) => {
        const socket = connect({
          host: '127.0.0.1',
          port,
          servername: name,
          rejectUnauthorized: false,
          session: resumed ? sessions.get(name) : undefined,
        });
        socket.once('secureConnect', () => {
          done += 1;
          if (socket.isSessionReused()) reused += 1;
          socket.destroy();
          resolve();
        });
        socket.on('error', resolve);
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { perSecond: Math.round(done / HANDSHAKE_SECONDS), reused };
}

const bare = median(Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0']).ms));
log(`bare node -e 0: ${Math.round(bare)} ms`);
const rows = [];
const tls = [];
for (const [index, domains] of SIZES.entries()) {
  const dir = mkdtempSync(join(tmpdir(), 'zmproxy-bench-scale-'));
  // nginx's workers (nobody) must reach the work directory.
  chmodSync(dir, 0o755);
  try {
    log(`${domains} domains`);
    const { ldif, hosts } = directory(domains);
    const [http, https, auth, marker] = await freePorts(4);
    writeFileSync(join(dir, 'dir.ldif'), ldif);
    const work = join(dir, 'work');
    prepareWork(work);
    writeFileSync(join(work, 'hosts'), hosts);
    const localconfig = (selection) =>
      `<localconfig><key name="zimbra_server_hostname"><value>proxy.bench.test</value></key>` +
      `<key name="zmproxy_auth_http_listen"><value>127.0.0.1:${auth}</value></key>` +
      `<key name="zmproxy_certificate_selection"><value>${selection}</value></key></localconfig>\n`;
    const args = (selection) => {
      writeFileSync(join(dir, `lc-${selection}.xml`), localconfig(selection));
      return [
        '--source',
        `ldif:${join(dir, 'dir.ldif')}`,
        '--localconfig',
        join(dir, `lc-${selection}.xml`),
        '--hosts',
        join(work, 'hosts'),
        '--hosts-only',
        '-w',
        work,
        '-c',
        `web.http.port=${http}`,
        '-c',
        `web.https.port=${https}`,
      ];
    };

    log('cold render');
    const cold = confgen(args('auto'));
    log('no-change run');
    const unchanged = confgen(args('auto'));
    writeFileSync(
      join(dir, 'dir.ldif'),
      ldif.replace(
        /^(zimbraDomainName: d1\.bench\.test)$/m,
        '$1\nzimbraVirtualHostname: new.d1.bench.test',
      ),
    );
    const changed = confgen(args('auto'));
    const nginxTestMap = runNginxTest(work);
    const row = {
      domains,
      'cold ms': Math.round(cold.ms),
      'cold / bare': +(cold.ms / bare).toFixed(1),
      'peak RSS MB': Math.round(Math.max(cold.rss, unchanged.rss, changed.rss)),
      'no-change ms': Math.round(unchanged.ms),
      'no-change / bare': +(unchanged.ms / bare).toFixed(1),
      'one-domain change ms': Math.round(changed.ms),
      'nginx -t (map) ms': Math.round(nginxTestMap),
    };
    if (APPLY_RUNS > 0) {
      log(`change → confirmed served, ${APPLY_RUNS} runs`);
      const applied = await changeToServed({
        dir,
        ldif,
        hosts: join(work, 'hosts'),
        args: args('auto'),
        https,
        marker,
        runs: APPLY_RUNS,
      });
      row['reload ms (p50)'] = Math.round(applied.reload);
      row['change → served ms (p50)'] = Math.round(applied.served);
    }
    // Handshakes (and the static shape's nginx -t) at the smallest size only; BENCH_HANDSHAKES=0 skips.
    if (index === 0 && process.env.BENCH_HANDSHAKES !== '0') {
      const names = readFileSync(join(dir, 'dir.ldif'), 'utf8')
        .match(/^zimbraVirtualHostname: .*$/gm)
        .map((line) => line.slice('zimbraVirtualHostname: '.length));
      for (const selection of ['map', 'static']) {
        if (selection === 'static') confgen(args('static'));
        if (selection === 'static') row['nginx -t (static) ms'] = Math.round(runNginxTest(work));
        const nginx = await startNginx(work, https);
        try {
          const full = await handshakes(https, names, false);
          const resumed = await handshakes(https, names, true);
          tls.push({
            domains,
            certificates: selection,
            'full handshakes/s': full.perSecond,
            'resumed handshakes/s': resumed.perSecond,
            'resumed share': +(
              resumed.reused / Math.max(1, resumed.perSecond * HANDSHAKE_SECONDS)
            ).toFixed(2),
          });
        } finally {
          stopNginx(nginx);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
    rows.push(row);
    log(JSON.stringify(row));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`bare node -e 0: ${Math.round(bare)} ms (median of 5)`);
console.table(rows);
console.table(tls);
