/**
 * A fleet of three proxies on one host, set up as README.md "Many proxies" tells an admin (no
 * `-c` anywhere): each its own work directory, its own address (localconfig
 * zmproxy_bind_address 127.0.0.11/12/13), its ports from its server entry, real nginx and
 * lookup service through zmproxyctl, and `zmproxyconfgen --watch --interval 1`, all against the
 * stack's one slapd. A directory change must be served by all three within 3 s, a localconfig
 * edit on one proxy picked up, LDAP down for 30 s caught up within one interval after it is
 * back, and `zmproxy fleet status` must show all three on one config hash before and after.
 * (Memcached servers joining and leaving while logins run are the lookup service's own test.)
 *
 * Host names resolve through a hosts file bind-mounted over /etc/hosts in a mount namespace of
 * each command's own, as in first-deployment.test.ts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverLdif } from '../helpers/mail-stack.js';
import { freePorts } from '../helpers/ports.js';
import { resetDirectory, stackValue } from '../helpers/stack.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PROXIES = [1, 2, 3] as const;
const addressOf = (i: number): string => `127.0.0.1${i}`;
const nameOf = (i: number): string => `proxy${i}.fleet.test`;

let work = '';
let httpPort = 0;
/** proxy3's own zimbraMailProxyPort, overriding the global config's. */
let http3Port = 0;
let env: NodeJS.ProcessEnv = {};
const watchers: ChildProcess[] = [];
const watchLogs: string[][] = [[], [], []];
const home = (i: number): string => join(work, `proxy${i}`);

function directoryLdif(workerConnections: number): string {
  return [
    [
      'dn: cn=config,cn=zimbra',
      'objectClass: organizationalRole',
      'objectClass: zimbraGlobalConfig',
      'cn: config',
      'zimbraDefaultDomainName: fleet.test',
      `zimbraMailProxyPort: ${httpPort}`,
      'zimbraReverseProxyMailMode: http',
      `zimbraReverseProxyWorkerConnections: ${workerConnections}`,
      `zimbraMemcachedBindPort: ${stackValue('MEMCACHED_PORT')}`,
      '',
    ].join('\n'),
    ...PROXIES.map((i) =>
      serverLdif(nameOf(i), String(i), [
        'zimbraServiceInstalled: proxy',
        'zimbraServiceEnabled: proxy',
        'zimbraReverseProxyHttpEnabled: TRUE',
        'zimbraReverseProxyMailEnabled: FALSE',
        ...(i === 3 ? [`zimbraMailProxyPort: ${http3Port}`] : []),
      ]),
    ),
    serverLdif('mbx1.fleet.test', '9', [
      'zimbraServiceInstalled: mailbox',
      'zimbraServiceEnabled: mailbox',
      'zimbraServiceEnabled: service',
      'zimbraServiceEnabled: memcached',
      'zimbraReverseProxyLookupTarget: TRUE',
      'zimbraMailMode: http',
      'zimbraMailPort: 8080',
      'zimbraMailSSLPort: 8443',
      'zimbraAdminPort: 7071',
    ]),
    [
      'dn: dc=fleet,dc=test',
      'objectClass: dcObject',
      'objectClass: organization',
      'objectClass: zimbraDomain',
      'dc: fleet',
      'o: fleet',
      'zimbraDomainName: fleet.test',
      'zimbraId: d0000000-0000-4000-8000-000000000009',
      '',
    ].join('\n'),
  ].join('\n');
}

/** Runs a shell command line on "the proxy host": PATH, the hosts file. */
function onHost(
  command: string,
  timeoutMs = 120_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawnOnHost(command);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function spawnOnHost(command: string): ChildProcess {
  const script = 'mount --bind "$1" /etc/hosts && shift && exec sh -c "$1"';
  return spawn('unshare', ['--mount', 'sh', '-c', script, 'sh', join(work, 'hosts'), command], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface Served {
  generation: string;
  server: string;
  revision: string;
  configHash: string;
}

/** What proxy i's marker says it serves (undefined: no answer). */
function served(i: number): Promise<Served | undefined> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: addressOf(i),
        port: 7078,
        path: '/zmproxy-generation.json',
        agent: false,
        timeout: 1000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? (JSON.parse(body) as Served) : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const servedAll = (): Promise<(Served | undefined)[]> => Promise.all(PROXIES.map(served));

/** Polls `check` every 50 ms; the ms it took, or throws after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const fleetStatus = (extra = ''): Promise<{ code: number | null; output: string }> =>
  onHost(`zmproxy fleet status -w ${home(1)} ${extra}`);

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli/fleet.js')))
    throw new Error('dist/ is missing: npm run build first (npm test does)');
  work = mkdtempSync(join(tmpdir(), 'zmproxy-fleet-'));
  chmodSync(work, 0o755);
  const ports = await freePorts(2);
  httpPort = ports[0]!;
  http3Port = ports[1]!;
  const ldif = join(work, 'directory.ldif');
  writeFileSync(ldif, directoryLdif(4096));
  await resetDirectory(ldif);
  writeFileSync(
    join(work, 'hosts'),
    [
      '127.0.0.1 localhost mbx1.fleet.test',
      ...PROXIES.map((i) => `${addressOf(i)} ${nameOf(i)}`),
      '',
    ].join('\n'),
  );
  writeFileSync(join(work, 'ldap-password'), `${stackValue('LDAP_BIND_PASSWORD')}\n`);
  const bin = join(work, 'bin');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  await onHost(
    `mkdir -p ${bin} && ${Object.entries(pkg.bin)
      .map(([name, file]) => `ln -s ${join(ROOT, file)} ${join(bin, name)}`)
      .join(' && ')}`,
  );
  env = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
  // README "Many proxies": per proxy, a work directory, its server name, its address. No -c.
  for (const i of PROXIES) {
    const setUp = await onHost(
      [
        `zmproxyctl setup -w ${home(i)} --server ${nameOf(i)} --ldap-url ${stackValue('LDAP_URL')}` +
          ` --bind-dn ${stackValue('LDAP_BIND_DN')} --bind-password-file ${join(work, 'ldap-password')}`,
        `zmlocalconfig -w ${home(i)} -e zmproxy_bind_address=${addressOf(i)}`,
        `zmproxyctl start -w ${home(i)}`,
      ].join(' && '),
    );
    if (setUp.code !== 0 || !setUp.output.includes('Starting proxy...done.'))
      throw new Error(`setting up proxy ${i} failed:\n${setUp.output}`);
  }
  for (const i of PROXIES) {
    const watcher = spawnOnHost(
      `exec zmproxyconfgen -w ${home(i)} --watch --interval 1 --metrics-file ${home(i)}/zmproxy.prom`,
    );
    watcher.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      watchLogs[i - 1]!.push(...chunk.split('\n').filter((line) => line !== ''));
    });
    watcher.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      watchLogs[i - 1]!.push(...chunk.split('\n').filter((line) => line !== ''));
    });
    watchers.push(watcher);
  }
  await within(30_000, async () =>
    (await servedAll()).every((answer) => answer?.configHash !== undefined),
  );
}, 300_000);

afterAll(async () => {
  for (const watcher of watchers) watcher.kill('SIGTERM');
  if (work !== '') {
    for (const i of PROXIES) await onHost(`zmproxyctl stop -w ${home(i)}`, 60_000);
    writeFileSync(
      join(tmpdir(), 'zmproxy-fleet-watch.log'),
      watchLogs.map((lines, i) => `# proxy${i + 1}\n${lines.join('\n')}\n`).join(''),
    );
    if (process.env['ZMPROXY_KEEP_STACK'] === undefined)
      rmSync(work, { recursive: true, force: true });
  }
});

describe('a fleet of three proxies on one directory', () => {
  it('puts each proxy on its own address with the ports of its server entry, no -c', async () => {
    for (const i of PROXIES) {
      const conf = readFileSync(
        join(home(i), 'conf/nginx/current/includes/nginx.conf.web.http.default'),
        'utf8',
      );
      expect(conf).toContain(`listen       ${addressOf(i)}:${i === 3 ? http3Port : httpPort}`);
      expect(conf).not.toMatch(/^\s*listen\s+\[::\]/m);
    }
    const status = await fleetStatus();
    console.info(`zmproxy fleet status (before):\n${status.output}`);
    expect(status.output).toMatch(/^SERVER\s+GENERATION\s+REVISION\s+CONFIG HASH/m);
    for (const i of PROXIES) expect(status.output).toContain(nameOf(i));
    expect(status.output).toMatch(/all 3 proxies serve config hash [0-9a-f]{12}/);
    expect(status.code).toBe(0);
    const answers = await servedAll();
    expect(new Set(answers.map((answer) => answer?.configHash)).size).toBe(1);
    expect(answers.map((answer) => answer?.server)).toEqual(PROXIES.map(nameOf));
    expect(answers[0]!.revision).toMatch(/^(csn|hash):/);
    // The same identity in zmproxyctl status --json and in the metrics labels.
    const ctl = await onHost(`zmproxyctl status --json -w ${home(2)}`);
    expect(ctl.code).toBe(0);
    expect(JSON.parse(ctl.output)).toMatchObject({
      running: true,
      server: nameOf(2),
      generation: answers[1]!.generation,
      revision: answers[1]!.revision,
      configHash: answers[1]!.configHash,
    });
    expect(readFileSync(join(home(2), 'zmproxy.prom'), 'utf8')).toContain(
      `zmproxy_fleet_info{server="${nameOf(2)}",generation="${answers[1]!.generation}",revision="${answers[1]!.revision}",config_hash="${answers[1]!.configHash}"} 1`,
    );
  });

  it('serves a directory change on all three within 3 s', async () => {
    // The proxies published at start: let --min-reload-interval (5 s) pass first.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const before = (await served(1))!.configHash;
    const change = await onHost(
      `zmprov -w ${home(1)} mcf zimbraReverseProxyWorkerConnections 4000`,
    );
    expect(change.code).toBe(0);
    const ms = await within(10_000, async () => {
      const answers = await servedAll();
      return answers.every((answer) => answer !== undefined && answer.configHash !== before);
    });
    console.info(`fleet: a directory change served by all three proxies in ${ms} ms`);
    expect(ms).toBeLessThan(3000);
    for (const i of PROXIES) {
      expect(
        readFileSync(join(home(i), 'conf/nginx/current/includes/nginx.conf.main'), 'utf8'),
      ).toMatch(/worker_connections\s+4000;/);
    }
    expect(new Set((await servedAll()).map((answer) => answer?.configHash)).size).toBe(1);
  });

  it('picks up a localconfig edit on one proxy within 3 s, leaving the others alone', async () => {
    // The last reload was the directory change: let --min-reload-interval (5 s) pass first,
    // so that the time measured is the pickup, not the admin's reload spacing.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const before = await servedAll();
    const edit = await onHost(`zmlocalconfig -w ${home(2)} -e zmproxy_worker_shutdown_timeout=7m`);
    expect(edit.code).toBe(0);
    const ms = await within(10_000, async () => {
      const now = await served(2);
      return now !== undefined && now.generation !== before[1]!.generation;
    });
    console.info(`fleet: a localconfig edit served by its proxy in ${ms} ms`);
    expect(ms).toBeLessThan(3000);
    expect(
      readFileSync(join(home(2), 'conf/nginx/current/includes/nginx.conf.main'), 'utf8'),
    ).toMatch(/worker_shutdown_timeout\s+7m;/);
    const after = await servedAll();
    // localconfig is per proxy: the directory config hash stays, the others keep their generation.
    expect(after[1]!.configHash).toBe(before[1]!.configHash);
    expect(after[0]!.generation).toBe(before[0]!.generation);
    expect(after[2]!.generation).toBe(before[2]!.generation);
  });

  it('catches up within one interval after LDAP was down for 30 s', async () => {
    const before = (await served(1))!.configHash;
    const slapdPid = Number(
      readFileSync(join(stackValue('STACK_DIR'), 'slapd/slapd.pid'), 'utf8').trim(),
    );
    const linesBefore = watchLogs.map((lines) => lines.length);
    process.kill(slapdPid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    // While it was down: failing passes, further and further apart (the backoff grew).
    const failing = watchLogs[0]!
      .slice(linesBefore[0])
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['outcome'] === 'directory-unavailable');
    expect(failing.length).toBeGreaterThanOrEqual(3);
    const gaps = failing
      .slice(1)
      .map((line, k) => Date.parse(String(line['time'])) - Date.parse(String(failing[k]!['time'])));
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(4000);
    expect(readFileSync(join(home(1), 'zmproxy.prom'), 'utf8')).toMatch(
      /^zmproxy_apply_render_failures_total\{reason="E_LDAP_CONNECT"\} [1-9]/m,
    );
    // LDAP comes back with a changed directory (restored from a backup, as an admin would).
    const ldif = join(work, 'directory-restored.ldif');
    writeFileSync(ldif, directoryLdif(5000));
    await resetDirectory(ldif);
    const ms = await within(20_000, async () => {
      const answers = await servedAll();
      return answers.every((answer) => answer !== undefined && answer.configHash !== before);
    });
    console.info(`fleet: LDAP back after 30 s down, all three caught up in ${ms} ms`);
    // One interval (1 s) to notice, then render, nginx -t, reload and confirm.
    expect(ms).toBeLessThan(3000);
    const status = await fleetStatus();
    console.info(`zmproxy fleet status (after):\n${status.output}`);
    expect(status.output).toMatch(/all 3 proxies serve config hash [0-9a-f]{12}/);
    expect(status.code).toBe(0);
    const json = JSON.parse((await fleetStatus('--json')).output) as {
      agree: boolean;
      rows: { server: string; lastSuccessAt: number; lastError?: string }[];
    };
    expect(json.agree).toBe(true);
    for (const row of json.rows) {
      expect(row.lastError).toBeUndefined();
      expect(row.lastSuccessAt).toBeGreaterThan(Date.now() - 10_000);
    }
  });

  it('--canary-wait: a proxy publishes a new revision only after the canary served it', async () => {
    // From here on cron-style one-shot runs on proxies 1 and 2: their daemons stop.
    for (const watcher of watchers.slice(0, 2)) {
      const exited = new Promise((resolve) => watcher.once('exit', resolve));
      watcher.kill('SIGTERM');
      await exited;
    }
    for (const i of [1, 2]) {
      const edit = await onHost(
        `zmlocalconfig -w ${home(i)} -e zmproxy_canary_server=${nameOf(1)}`,
      );
      expect(edit.code).toBe(0);
    }
    const apply = (i: number) => onHost(`zmproxyconfgen -w ${home(i)} --apply --canary-wait 4`);
    const before = await servedAll();
    expect(
      (await onHost(`zmprov -w ${home(1)} mcf zimbraReverseProxyWorkerConnections 6000`)).code,
    ).toBe(0);

    const early = await apply(2);
    console.info(`--canary-wait before the canary published:\n${early.output}`);
    expect(early.code).toBe(18);
    expect(early.output).toContain(`waiting for canary ${nameOf(1)}: it serves config hash`);
    expect((await served(2))!.generation).toBe(before[1]!.generation);

    const canary = await apply(1);
    expect(canary.code).toBe(10);
    const fresh = await apply(2);
    expect(fresh.code).toBe(18);
    expect(fresh.output).toMatch(/it serves this revision since \d+ s, publishing after 4 s/);
    expect((await served(2))!.generation).toBe(before[1]!.generation);

    await new Promise((resolve) => setTimeout(resolve, 4000));
    const late = await apply(2);
    expect(late.code).toBe(10);
    const answers = await servedAll();
    expect(answers[1]!.configHash).toBe(answers[0]!.configHash);
    expect(answers[1]!.configHash).not.toBe(before[1]!.configHash);

    // A change to proxy 2's own entry leaves the canary's files as they are ('unchanged'): the
    // canary serves the new revision all the same, so proxy 2 is held for the wait, not for ever.
    const own = await onHost(
      `zmprov -w ${home(1)} ms ${nameOf(2)} zimbraReverseProxyWorkerConnections 2048`,
    );
    expect(own.code).toBe(0);
    expect((await apply(1)).code).toBe(0);
    // A long wait holds it (whatever the load of this machine), a short one lets it through.
    const held = await onHost(`zmproxyconfgen -w ${home(2)} --apply --canary-wait 120`);
    expect(held.code).toBe(18);
    expect(held.output).toMatch(/it serves this revision since \d+ s, publishing after 120 s/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const released = await onHost(`zmproxyconfgen -w ${home(2)} --apply --canary-wait 1`);
    expect(released.code).toBe(10);
    // Proxy 3's daemon renders the revision into unchanged files too: the fleet agrees.
    let agreed = await fleetStatus();
    for (let tries = 0; agreed.code !== 0 && tries < 10; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      agreed = await fleetStatus();
    }
    expect(agreed.output).toContain('all 3 proxies serve config hash');
    expect(agreed.code).toBe(0);
  });

  it('says which proxy is unreachable, with a non-zero exit', async () => {
    await onHost(`zmproxyctl stop -w ${home(3)}`, 60_000);
    const status = await fleetStatus();
    expect(status.output).toMatch(new RegExp(`${nameOf(3).replace(/\./g, '\\.')}\\s+unreachable`));
    expect(status.output).toContain('the fleet disagrees');
    expect(status.code).toBe(3);
  });
});
