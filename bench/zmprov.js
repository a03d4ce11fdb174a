// Benchmark of `zmprov gcf` (npm run build first): wall time of a fresh Node process that loads
// dist/cli/zmprov.js and prints one attribute of the bundled example LDIF, against a bare
// `node -e 0`. Target: under 150 ms (Zimbra's JVM zmprov takes 2-4 s).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const TARGET_MS = 150;
const cli = new URL('../dist/cli/zmprov.js', import.meta.url).href;
const ldif = fileURLToPath(new URL('../fixtures/example/directory.ldif', import.meta.url));

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

const script = `const { run } = await import(${JSON.stringify(cli)});
process.exitCode = await run(['--source', ${JSON.stringify(`ldif:${ldif}`)}, 'gcf', 'zimbraMailMode'],
  { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });`;

const first = timed(['--input-type=module', '-e', script]);
if (first.stdout !== 'zimbraMailMode: https\n')
  throw new Error(`unexpected output: ${first.stdout}`);
const bare = median(Array.from({ length: RUNS }, () => timed(['-e', '0']).ms));
const gcf = median(
  Array.from({ length: RUNS }, () => timed(['--input-type=module', '-e', script]).ms),
);
console.log(`bare node -e 0:        ${bare.toFixed(0)} ms (median of ${RUNS})`);
console.log(
  `zmprov gcf (example):  ${gcf.toFixed(0)} ms (median of ${RUNS}), target < ${TARGET_MS} ms`,
);
if (gcf >= TARGET_MS) {
  console.log('over target');
  process.exitCode = 1;
}
