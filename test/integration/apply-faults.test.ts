/**
 * Fault tests of the rewrite loop against the real nginx (Debian's, run as a daemon from a temp
 * work directory on free loopback ports) and the stack's slapd: nginx -t failures, reload
 * failures, LDAP down, concurrent runs, kill -9 mid-switch, bursts of changes and traffic across
 * reloads. Reload counts and timings are printed (console.info) for the closing note.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as confgen } from '../../src/cli/zmproxyconfgen.js';
import { run as ctl } from '../../src/cli/zmproxyctl.js';
import { computeGenerationHash } from '../../src/engine/apply.js';
import { createGenerationStore } from '../../src/reload/generation-store.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { localhostServerHead } from '../helpers/mail-stack.js';
import {
  localConfigXml,
  resetDirectory,
  stackDirectoryArgs,
  stackValue,
  withLdapClient,
} from '../helpers/stack.js';
import { captureIo } from '../helpers/testdir.js';
import { freePorts } from '../helpers/ports.js';

const NGINX = '/usr/sbin/nginx';
const execFileAsync = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/zmproxyconfgen.js');
const SERVER_DN = 'cn=localhost,cn=servers,cn=zimbra';

let work = '';
let ldifFile = '';
let args: string[] = [];
let backend: Server | undefined;
let backendTls: Server | undefined;
const port: Record<string, number> = {};

function ldif(): string {
  return `dn: cn=config,cn=zimbra
objectClass: organizationalRole
objectClass: zimbraGlobalConfig
cn: config
zimbraReverseProxyLookupTarget: TRUE
zimbraIPMode: ipv4
zimbraReverseProxySendImapId: FALSE
zimbraReverseProxySendPop3Xoip: FALSE
zimbraReverseProxySSLToUpstreamEnabled: FALSE
zimbraReverseProxyResponseHeaders: X-Zmproxy-Test: initial

${localhostServerHead('11111111-2222-4333-8444-555555555555')}
zimbraMailMode: http
zimbraMailPort: ${port['backend']}
zimbraMailSSLPort: ${port['backendSsl']}
zimbraAdminPort: ${port['backendAdmin']}
zimbraExtensionBindPort: ${port['backendSsl']}
zimbraMailProxyPort: ${port['http']}
zimbraMailSSLProxyPort: ${port['https']}
zimbraAdminProxyPort: ${port['admin']}
zimbraImapProxyBindPort: ${port['imap']}
zimbraImapSSLProxyBindPort: ${port['imaps']}
zimbraPop3ProxyBindPort: ${port['pop3']}
zimbraPop3SSLProxyBindPort: ${port['pop3s']}
zimbraReverseProxyHttpEnabled: TRUE
zimbraReverseProxyMailEnabled: TRUE
`;
}

async function modify(attribute: string, value: string, dn = SERVER_DN): Promise<void> {
  await withLdapClient((client) =>
    client.modify(
      dn,
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: attribute, values: [value] }),
      }),
    ),
  );
}

/** Sets the response header the HTTPS servers send (a global config attribute). */
function setHeader(value: string): Promise<void> {
  return modify('zimbraReverseProxyResponseHeaders', value, 'cn=config,cn=zimbra');
}

async function apply(extra: string[] = []) {
  const { io, out } = captureIo();
  const started = performance.now();
  const code = await confgen(
    [...args, '--apply', '--json', '--min-reload-interval', '0', ...extra],
    io,
  );
  const ms = Math.round(performance.now() - started);
  const line = out.stdout.trim().split('\n').pop() ?? '{}';
  return { code, ms, result: JSON.parse(line) as Record<string, unknown>, stderr: out.stderr };
}

/** The generation id nginx serves, over a fresh connection (curl, 2 s at most). */
function served(): Promise<string | undefined> {
  const result = spawnSync(
    'curl',
    ['-s', '-m', '2', '-f', `http://127.0.0.1:${port['marker']}/zmproxy-generation`],
    { encoding: 'utf8' },
  );
  return Promise.resolve(result.status === 0 ? result.stdout.trim() : undefined);
}

/**
 * The X-Zmproxy-Test header nginx sends on HTTPS (rendered into
 * includes/nginx.conf.web.https.default). curl runs asynchronously: the mailbox server nginx
 * proxies to lives in this process.
 */
async function servedHeader(): Promise<string> {
  const { stdout } = await execFileAsync('curl', [
    '-sk',
    '-m',
    '3',
    '-o',
    '/dev/null',
    '-D',
    '-',
    `https://127.0.0.1:${port['https']}/`,
  ]).catch(() => ({ stdout: '' }));
  return /^x-zmproxy-test:\s*(.*?)\r?$/im.exec(stdout)?.[1] ?? '';
}

function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function currentId(): string {
  return readlinkSync(join(work, 'conf/nginx/current')).replace('generations/', '');
}

function generationHeader(id: string): string {
  const text = readFileSync(
    join(work, `conf/nginx/generations/${id}/includes/nginx.conf.web.https.default`),
    'utf8',
  );
  return /add_header\s+X-Zmproxy-Test\s+"?([^";]*)"?/i.exec(text)?.[1] ?? '';
}

async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ensureBuilt(): void {
  // The concurrent, kill -9 and daemon tests run the CLI as real processes (bin/ → dist/).
  if (!existsSync(join(ROOT, 'dist/engine/apply.js'))) {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
}

beforeAll(async () => {
  ensureBuilt();
  const names = [
    'backend',
    'backendSsl',
    'backendAdmin',
    'http',
    'https',
    'admin',
    'imap',
    'imaps',
    'pop3',
    'pop3s',
    'auth',
    'marker',
    'busy',
  ];
  const ports = await freePorts(names.length);
  names.forEach((name, index) => (port[name] = ports[index] ?? 0));
  work = mkdtempSync(join(tmpdir(), 'zmproxy-apply-'));
  // nginx's workers (nobody) chdir to working_directory: mkdtemp's 0700 would kill them.
  chmodSync(work, 0o755);
  for (const dir of ['conf', 'log', 'data/tmp/nginx', 'data/nginx/html'])
    mkdirSync(join(work, dir), { recursive: true });
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  ldifFile = join(work, 'directory.ldif');
  writeFileSync(ldifFile, ldif());
  writeFileSync(join(work, 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(
    join(work, 'localconfig.xml'),
    localConfigXml([
      ['zimbra_server_hostname', 'localhost'],
      ['zmproxy_auth_http_listen', `127.0.0.1:${port['auth']}`],
      ['zmproxy_lookup_shared_key', 'test-key'],
      // The mailbox server's own HTTPS port plays Zimbra's lookup extension.
      ['zmproxy_lookup_servers', 'nle'],
      ['zmproxy_worker_shutdown_timeout', '2s'],
    ]),
  );
  args = [
    ...stackDirectoryArgs(work),
    '-c',
    `stock.generation.listen=127.0.0.1:${port['marker']}`,
    '--nginx',
    NGINX,
  ];
  // The mailbox server: answers every request (the route lookup too: 200 without a route).
  backend = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('backend\n');
  });
  await new Promise<void>((resolve) => backend?.listen(port['backend'], '127.0.0.1', resolve));
  // Its HTTPS side, also the lookup handler (zimbraExtensionBindPort; https for 8.7 and later).
  backendTls = createHttpsServer(
    {
      cert: readFileSync(join(work, 'conf/nginx.crt')),
      key: readFileSync(join(work, 'conf/nginx.key')),
    },
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('backend\n');
    },
  );
  await new Promise<void>((resolve) =>
    backendTls?.listen(port['backendSsl'], '127.0.0.1', resolve),
  );
  await resetDirectory(ldifFile);

  // The first generation is published while nginx is stopped; zmproxyctl then starts nginx on it.
  const first = await apply();
  if (first.code !== 10) throw new Error(`first --apply: exit ${first.code}: ${first.stderr}`);
  const { io, out } = captureIo();
  const started = await ctl(
    ['start', 'norewrite', '-w', work, '--nginx', NGINX, '--no-lookup'],
    io,
  );
  if (started !== 0) throw new Error(`zmproxyctl start: exit ${started}: ${out.stderr}`);
  await waitFor(async () => (await served()) === '1');
});

afterAll(async () => {
  if (work !== '') {
    await ctl(['stop', '-w', work, '--nginx', NGINX, '--no-lookup'], captureIo().io);
    const pidFile = join(work, 'log/nginx.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim() || 0) : 0;
    if (pid > 1) spawnSync('kill', ['-9', String(pid)]);
  }
  await new Promise((resolve) =>
    backend === undefined ? resolve(undefined) : backend.close(resolve),
  );
  // The directory goes back to what this file loaded, whatever a failed test left.
  await resetDirectory(ldifFile).catch(() => undefined);
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe.sequential('zmproxyconfgen --apply with the real nginx', () => {
  it('publishes a change, reloads, and serves it; a second run changes nothing', async () => {
    await setHeader('X-Zmproxy-Test: second');
    const changed = await apply();
    expect(changed.code).toBe(10);
    expect(await served()).toBe(changed.result['generation']);
    expect(await servedHeader()).toBe('second');
    const again = await apply();
    expect(again.code).toBe(0);
    expect(again.result['outcome']).toBe('unchanged');
    console.info(
      `apply: change → reloaded in ${changed.ms} ms (${JSON.stringify(changed.result['durations'])}); no change in ${again.ms} ms`,
    );
  });

  it('refuses two listeners on one port before staging anything', async () => {
    const before = currentId();
    await modify('zimbraPop3ProxyBindPort', String(port['imap']));
    try {
      const result = await apply();
      expect(result.code).toBe(1);
      expect(result.result['outcome']).toBe('error');
      expect(JSON.stringify(result.result['details'])).toMatch(/zimbraPop3ProxyBindPort/);
      expect(currentId()).toBe(before);
      expect(existsSync(join(work, `conf/nginx/generations/${Number(before) + 1}`))).toBe(false);
    } finally {
      await modify('zimbraPop3ProxyBindPort', String(port['pop3']));
    }
  });

  it('keeps the old generation serving when nginx -t fails (a -c value nginx refuses)', async () => {
    const before = currentId();
    // -c overrides a variable's text as it is: a timeout nginx cannot parse reaches nginx -t.
    const result = await apply(['-c', 'web.upstream.connect.timeout=soon']);
    expect(result.code).toBe(11);
    expect(result.result['outcome']).toBe('validation-failed');
    expect(JSON.stringify(result.result['details'])).toMatch(/proxy_connect_timeout/);
    expect(currentId()).toBe(before);
    expect(await served()).toBe(before);
    // The refused generation stays for inspection, named in the message.
    const failed = `conf/nginx/generations/${Number(before) + 1}`;
    expect(existsSync(join(work, failed))).toBe(true);
    expect(String(result.result['message'])).toContain(
      `kept for inspection in ${join(work, failed)}`,
    );
    expect((await apply()).code).toBe(0);
  });

  it('rolls back when nginx cannot apply the new generation (a port taken by another process)', async () => {
    const before = currentId();
    const blocker = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(port['busy'], '0.0.0.0', resolve));
    try {
      await modify('zimbraMailProxyPort', String(port['busy']));
      const result = await apply();
      expect(result.code).toBe(13);
      expect(result.result['outcome']).toBe('rolled-back');
      expect(currentId()).toBe(before);
      expect(await served()).toBe(before);
      console.info(`apply: reload failure detected and rolled back in ${result.ms} ms`);
    } finally {
      blocker.close();
      await modify('zimbraMailProxyPort', String(port['http']));
    }
    expect((await apply()).code).toBe(0);
  });

  it('exits 15 and touches no file when LDAP is stopped', async () => {
    const snapshot = () =>
      spawnSync(
        'sh',
        [
          '-c',
          `cd "${work}/conf/nginx" && find current generations -printf '%p %i %T@ %l\\n' | sort`,
        ],
        {
          encoding: 'utf8',
        },
      ).stdout;
    const before = snapshot();
    const slapdPid = Number(
      readFileSync(join(stackValue('STACK_DIR'), 'slapd/slapd.pid'), 'utf8').trim(),
    );
    process.kill(slapdPid, 'SIGTERM');
    await waitFor(() => {
      try {
        process.kill(slapdPid, 0);
        return false;
      } catch {
        return true;
      }
    });
    try {
      const result = await apply();
      expect(result.code).toBe(15);
      expect(result.result['outcome']).toBe('directory-unavailable');
      expect(snapshot()).toBe(before);
      expect(await served()).toBe(currentId());
    } finally {
      await resetDirectory(ldifFile);
    }
    await setHeader('X-Zmproxy-Test: second');
    expect((await apply()).code).toBe(0);
  });

  it('lets two concurrent runs never overlap: one exits "locked", a waiting one proceeds after', async () => {
    // A reload just now, so that the first run below must wait out the interval, holding the lock.
    await setHeader('X-Zmproxy-Test: pre-concurrent');
    expect((await apply()).code).toBe(10);
    await setHeader('X-Zmproxy-Test: concurrent');
    const spawnRun = (extra: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args, '--apply', '--json', ...extra]);
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout }));
      });
    // The first holds the lock while it waits out the reload interval (the last reload was recent).
    const first = spawnRun(['--min-reload-interval', '3']);
    await waitFor(() => existsSync(join(work, 'conf/nginx/zmproxy-apply.lock')));
    const [locked, waiting] = await Promise.all([
      spawnRun(['--lock-wait', '0']),
      spawnRun(['--lock-wait', '30', '--min-reload-interval', '0']),
    ]);
    const held = await first;
    expect(held.code).toBe(10);
    expect(locked.code).toBe(16);
    expect(locked.stdout).toMatch(/"outcome":"locked"/);
    expect(waiting.code).toBe(0);
    expect(await servedHeader()).toBe('concurrent');
  });

  // Each round is a full run plus a recovery run (1–3 s each on a loaded 2-core machine).
  const ROUNDS = 10;
  it('after kill -9 at any point of a run, nginx loads one complete generation, never a mix', async () => {
    const store = createGenerationStore({
      liveDir: join(work, 'conf/nginx/current'),
      generationsDir: join(work, 'conf/nginx/generations'),
    });
    const killedAt: number[] = [];
    const recoveries: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await setHeader(`X-Zmproxy-Test: round-${round}`);
      const child: ChildProcess = spawn(
        process.execPath,
        [BIN, ...args, '--apply', '--min-reload-interval', '0'],
        {
          stdio: 'ignore',
        },
      );
      // Listen for the end at once: a run that finishes before the kill has already closed.
      const closed = new Promise((resolve) => child.once('close', resolve));
      const delay = 150 + ((round * 37) % 300);
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      await closed;
      killedAt.push(delay);

      // What `current` names is complete: its files hash to what its meta recorded.
      const id = currentId();
      const meta = await store.readMeta(id);
      // Read every file itself: the manifest's hashes are what the check must not trust.
      const files = [...(await store.readFiles(id))].map(([path, file]) => ({
        path,
        mode: file.mode,
        content: readFileSync(join(work, 'conf/nginx/generations', id, path), 'utf8'),
      }));
      expect(meta?.hash).toBe(computeGenerationHash(files));
      // nginx serves one generation: the marker (nginx.conf's include) and the header (an
      // include two levels down) come from the same generation. A kill just after the SIGHUP
      // leaves old and new workers side by side for a moment: read marker, header, marker, and
      // judge only a reading whose two markers agree.
      await new Promise((resolve) => setTimeout(resolve, 300));
      let consistent = false;
      for (let attempt = 0; attempt < 10 && !consistent; attempt++) {
        const before = await served();
        const header = await servedHeader();
        const after = await served();
        if (before === undefined || before !== after) continue;
        expect(header).toBe(generationHeader(before));
        consistent = true;
      }
      expect(consistent).toBe(true);
      // The next run (breaking the stale lock) brings nginx to the current generation.
      const next = await apply();
      expect([0, 10]).toContain(next.code);
      const message = String(next.result['message']);
      recoveries.push(
        message.includes('interrupted run')
          ? 'switched-not-reloaded'
          : next.code === 0
            ? 'already-complete'
            : 'not-switched',
      );
      expect(await served()).toBe(currentId());
      expect(await servedHeader()).toBe(`round-${round}`);
    }
    // A kill between the switch and the SIGHUP (a window of microseconds) leaves what a
    // --no-reload run leaves: the next run must notice and reload.
    await setHeader('X-Zmproxy-Test: switched-only');
    expect((await apply(['--no-reload'])).code).toBe(10);
    expect(await served()).not.toBe(currentId());
    const recovered = await apply();
    expect(recovered.code).toBe(17);
    expect(String(recovered.result['message'])).toMatch(
      /nginx served generation \d+ while \d+ is current/,
    );
    expect(await served()).toBe(currentId());
    expect(await servedHeader()).toBe('switched-only');
    console.info(
      `kill -9 after ${killedAt.join(', ')} ms: every round consistent; state found by the next run: ${JSON.stringify(tally(recoveries))}`,
    );
  }, 240_000);

  it('coalesces 50 changes in 10 s into no more reloads than the interval allows (--watch)', async () => {
    const metrics = join(work, 'metrics.prom');
    const daemon = spawn(process.execPath, [
      BIN,
      ...args,
      '--watch',
      '--interval',
      '0.2',
      '--min-reload-interval',
      '2',
      '--metrics-file',
      metrics,
    ]);
    const lines: Record<string, unknown>[] = [];
    let buffer = '';
    daemon.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts)
        if (part !== '') lines.push(JSON.parse(part) as Record<string, unknown>);
    });
    try {
      await waitFor(() => lines.some((line) => line['pass'] === 1), 20_000);
      const started = Date.now();
      for (let i = 0; i < 50; i++) {
        await setHeader(`X-Zmproxy-Test: burst-${i}`);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, started + (i + 1) * 200 - Date.now())),
        );
      }
      const burstMs = Date.now() - started;
      // The last change is published, never dropped.
      await waitFor(async () => (await servedHeader()) === 'burst-49', 15_000);
      const reloads = lines.filter((line) => line['outcome'] === 'reloaded');
      const budget = Math.ceil((burstMs + 2000) / 2000) + 1;
      console.info(
        `watch: 50 changes in ${burstMs} ms → ${reloads.length} reloads (budget ${budget}), ${lines.filter((l) => l['outcome'] === 'deferred').length} deferred passes; reload durations ${reloads.map((l) => JSON.stringify((l['durations'] as Record<string, number>)['reload'])).join(', ')} s`,
      );
      expect(reloads.length).toBeGreaterThan(0);
      expect(reloads.length).toBeLessThanOrEqual(budget);
      await waitFor(() => existsSync(metrics));
      expect(readFileSync(metrics, 'utf8')).toMatch(/zmproxy_apply_reloads_total \d+/);
      // SIGHUP forces a pass; SIGTERM ends the daemon cleanly.
      const passes = lines.length;
      daemon.kill('SIGHUP');
      await waitFor(() => lines.length > passes && lines.at(-1)?.['reason'] === 'forced');
    } finally {
      daemon.kill('SIGTERM');
    }
    const code = await new Promise((resolve) => daemon.once('close', resolve));
    expect(code).toBe(0);
    expect(lines.at(-1)?.['event']).toBe('stop');
    // 50 paced directory edits take 10 s by design; on a loaded 2-core host each pass is slower.
  }, 180_000);

  it('serves every request of a curl loop across reloads', async () => {
    const out = join(work, 'curl.log');
    const loop = spawn('sh', [
      '-c',
      `while :; do curl -s -o /dev/null -m 5 -w '%{http_code}\\n' http://127.0.0.1:${port['http']}/service/home/ >> "${out}"; done`,
    ]);
    try {
      await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 20);
      for (let i = 0; i < 5; i++) {
        await setHeader(`X-Zmproxy-Test: traffic-${i}`);
        expect((await apply()).code).toBe(10);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      loop.kill('SIGKILL');
    }
    const codes = readFileSync(out, 'utf8').trim().split('\n');
    console.info(
      `curl loop: ${codes.length} requests across 5 reloads, ${codes.filter((c) => c !== '200').length} failed`,
    );
    expect(codes.length).toBeGreaterThan(50);
    expect(codes.filter((code) => code !== '200')).toEqual([]);
  });
});
