// Benchmark of a full generation (npm run bench:gen): wall time and peak RSS of
// `zmproxyconfgen` in a fresh process at 100, 1 000 and 10 000 domains, against a bare `node -e 0`,
// then a second run that must rewrite no file. Targets: 10 000 domains within 5x the bare Node
// start and under 300 MB RSS.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticDirectory } from './synthetic-directory.js';

const SIZES = (process.env.BENCH_DOMAINS ?? '100,1000,10000').split(',').map(Number);
const SERVERS = 10;
const cli = new URL('../dist/cli/zmproxyconfgen.js', import.meta.url).href;

function timed(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${result.stderr}`);
  return { ms, stdout: result.stdout };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const bare = median([0, 1, 2, 3, 4].map(() => timed(['-e', '0']).ms));
console.log(`bare node -e 0: ${bare.toFixed(0)} ms`);
const rows = [];
for (const domains of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), 'zmproxy-bench-'));
  try {
    const { ldif, hosts } = syntheticDirectory({ servers: SERVERS, domains });
    writeFileSync(join(dir, 'dir.ldif'), ldif);
    writeFileSync(join(dir, 'hosts'), hosts);
    const lc = join(dir, 'localconfig.xml');
    writeFileSync(
      lc,
      '<localconfig><key name="zimbra_server_hostname"><value>proxy.bench.test</value></key></localconfig>\n',
    );
    const args = [
      '--source',
      `ldif:${join(dir, 'dir.ldif')}`,
      '--localconfig',
      lc,
      '--hosts',
      join(dir, 'hosts'),
      '--hosts-only',
      '-w',
      join(dir, 'work'),
      '--json',
    ];
    const script = `const { run } = await import(${JSON.stringify(cli)});
      let out = ''; const code = await run(${JSON.stringify(args)}, { stdout: (t) => { out += t; }, stderr: (t) => { process.stderr.write(t); } });
      if (code !== 0) { process.stderr.write(out); process.exit(code); }
      const r = JSON.parse(out);
      console.log(JSON.stringify({ files: r.created.length + r.changed.length + r.unchanged.length, written: r.created.length + r.changed.length, rss: process.resourceUsage().maxRSS }));`;
    const first = timed(['--input-type=module', '-e', script]);
    const second = timed(['--input-type=module', '-e', script]);
    const a = JSON.parse(first.stdout);
    const b = JSON.parse(second.stdout);
    rows.push({
      domains,
      files: a.files,
      'first run ms': Math.round(first.ms),
      'ratio to bare node': +(first.ms / bare).toFixed(2),
      'peak RSS MB': Math.round(a.rss / 1024),
      'second run ms': Math.round(second.ms),
      'second run rewrote': b.written,
      'ldif MB': +(ldif.length / 1e6).toFixed(1),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.table(rows);
const last = rows.at(-1);
if (last && last.domains >= 10000) {
  const ok =
    last['ratio to bare node'] <= 5 &&
    last['peak RSS MB'] < 300 &&
    last['second run rewrote'] === 0;
  console.log(
    `targets (<= 5x bare node, < 300 MB, second run rewrites nothing): ${ok ? 'met' : 'NOT met'}`,
  );
}
