// Benchmark: what a directory's accounts cost the configuration jobs (npm run bench:accounts).
// Loads the same synthetic directory (2 mailbox servers, a proxy, 20 domains) into the test
// stack's slapd twice, once without accounts and once with ACCOUNTS accounts (default 100 000),
// and times over LDAP, each as a fresh process (median of RUNS):
//   - a full render (zmproxyconfgen -n: read the directory, compute, render, compare; no write)
//   - zmprov gcf zimbraMailMode
// Target: with the accounts, each within 10 % of the account-less directory (the jobs ask the
// server only for the object classes they read, so the accounts never cross the wire).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticDirectory } from './synthetic-directory.js';
import { directoryRunArgs } from './lib/cli-args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_RATIO = 1.1;

const log = (text) => process.stderr.write(`[bench:accounts] ${text}\n`);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function timed(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

function cliScript(module, args) {
  return `const { run } = await import(${JSON.stringify(join(ROOT, 'dist/cli', module))});
    let out = ''; const code = await run(${JSON.stringify(args)}, { stdout: (t) => { out += t; }, stderr: (t) => process.stderr.write(t) });
    if (code !== 0) { process.stderr.write(out); process.exit(code); }
    process.stdout.write(JSON.stringify({ out, rss: process.resourceUsage().maxRSS }));`;
}

function accountsLdif(count, domains) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const domain = `d${(i % domains) + 1}`;
    const name = `user${i}`;
    lines.push(
      [
        `dn: uid=${name},ou=people,dc=${domain},dc=bench,dc=test`,
        'objectClass: inetOrgPerson',
        'objectClass: zimbraAccount',
        `uid: ${name}`,
        `cn: ${name}`,
        `sn: ${name}`,
        `mail: ${name}@${domain}.bench.test`,
        `zimbraMailDeliveryAddress: ${name}@${domain}.bench.test`,
        `zimbraId: 10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        `zimbraMailHost: mbox${(i % 2) + 1}.bench.test`,
      ].join('\n'),
    );
  }
  return `${lines.join('\n\n')}\n`;
}

const work = mkdtempSync(join(tmpdir(), 'zmproxy-bench-accounts-'));
chmodSync(work, 0o755);
let stackDir;
try {
  log('starting the test stack');
  const started = spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'start'], {
    env: { ...process.env, STACK_DIR: join(work, 'stack') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (started.status !== 0) throw new Error('stack.sh start failed');
  const env = Object.fromEntries(
    started.stdout
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  stackDir = env.STACK_DIR;

  const DOMAINS = 20;
  const { ldif, hosts } = syntheticDirectory({ servers: 2, domains: DOMAINS });
  writeFileSync(join(work, 'hosts'), hosts);
  writeFileSync(join(work, 'password'), `${env.LDAP_BIND_PASSWORD}\n`);
  writeFileSync(
    join(work, 'localconfig.xml'),
    '<localconfig><key name="zimbra_server_hostname"><value>proxy.bench.test</value></key></localconfig>\n',
  );
  // Parents of the account entries (slapadd -s does not insist, a real directory has them).
  const parents = Array.from(
    { length: DOMAINS },
    (_, d) =>
      `dn: ou=people,dc=d${d + 1},dc=bench,dc=test\nobjectClass: organizationalUnit\nou: people\n`,
  ).join('\n');
  const ldap = [
    '--source',
    env.LDAP_URL,
    '--bind-dn',
    env.LDAP_BIND_DN,
    '--bind-password-file',
    join(work, 'password'),
  ];
  const render = cliScript('zmproxyconfgen.js', [
    ...directoryRunArgs({
      ldap,
      localconfig: join(work, 'localconfig.xml'),
      hosts: join(work, 'hosts'),
      workdir: join(work, 'w'),
    }),
    '-n',
  ]);
  const gcf = cliScript('zmprov.js', [...ldap, 'gcf', 'zimbraMailMode']);

  const measure = (label) => {
    const renders = Array.from({ length: RUNS }, () =>
      timed(['--input-type=module', '-e', render]),
    );
    const gcfs = Array.from({ length: RUNS }, () => timed(['--input-type=module', '-e', gcf]));
    const rss = Math.max(...renders.map((r) => JSON.parse(r.stdout).rss)) / 1024;
    const row = {
      directory: label,
      'render ms': Math.round(median(renders.map((r) => r.ms))),
      'render peak RSS MB': Math.round(rss),
      'zmprov gcf ms': Math.round(median(gcfs.map((r) => r.ms))),
    };
    log(JSON.stringify(row));
    return row;
  };

  const load = (text) => {
    const file = join(work, 'directory.ldif');
    writeFileSync(file, text);
    const reset = spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'reset', file], {
      env: { ...process.env, STACK_DIR: stackDir },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (reset.status !== 0) throw new Error('stack.sh reset failed');
  };

  log('directory without accounts');
  load(ldif);
  const without = measure('no accounts');
  log(`directory with ${ACCOUNTS} accounts (loading with slapadd)`);
  const loadStart = Date.now();
  load(`${ldif}\n${parents}\n${accountsLdif(ACCOUNTS, DOMAINS)}`);
  log(`loaded in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);
  const withAccounts = measure(`${ACCOUNTS} accounts`);
  const bare = median(Array.from({ length: RUNS }, () => timed(['-e', '0']).ms));

  console.table([without, withAccounts]);
  const renderRatio = withAccounts['render ms'] / without['render ms'];
  const gcfRatio = withAccounts['zmprov gcf ms'] / without['zmprov gcf ms'];
  console.log(`bare node -e 0: ${Math.round(bare)} ms (median of ${RUNS})`);
  console.log(
    `render with/without accounts: ${renderRatio.toFixed(2)}; zmprov gcf: ${gcfRatio.toFixed(2)} (target ≤ ${TARGET_RATIO})`,
  );
  if (renderRatio > TARGET_RATIO || gcfRatio > TARGET_RATIO) process.exitCode = 1;
} finally {
  if (stackDir !== undefined) {
    spawnSync('bash', [join(ROOT, 'scripts/stack.sh'), 'stop'], {
      env: { ...process.env, STACK_DIR: stackDir },
      stdio: 'ignore',
    });
  }
  rmSync(work, { recursive: true, force: true });
}
