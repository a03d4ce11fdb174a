/**
 * A large directory on the real nginx: N domains (ZMPROXY_SCALE_DOMAINS, default 10 000: about a
 * minute on a 2-core machine, set up included; a smaller N for a quick local run), each with two virtual host
 * names and certificate files of its own, certificates chosen by map. `zmproxyctl start` serves
 * the first generation; then a domain gains a virtual host name and a certificate naming it, and
 * `zmproxyconfgen --apply` (then `--watch --interval 1`) must get it served: an HTTPS handshake
 * with that name presents the new certificate, a handful of other domains still get theirs, and
 * the generation a run reports is the one nginx answers on its marker and `current` names.
 *
 * Generating 10 000 distinct keys with openssl would take minutes alone: the domains checked by
 * name get certificates of their own, every other domain a copy of one wildcard certificate
 * (still its own files in domaincerts/, which is what nginx loads at the handshake).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  chownSync,
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as confgen } from '../../src/cli/zmproxyconfgen.js';
import { run as ctl } from '../../src/cli/zmproxyctl.js';
import { lookupGroupId } from '../../src/writer/groups.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { freePorts } from '../helpers/ports.js';
import { captureIo } from '../helpers/testdir.js';

const NGINX = '/usr/sbin/nginx';
const ROOT = new URL('../../', import.meta.url).pathname;
const DOMAINS = Number(process.env['ZMPROXY_SCALE_DOMAINS'] ?? 10_000);
/** Domains with a certificate of their own, checked by name after every change. */
const CHECKED = [1, 2, Math.floor(DOMAINS / 2), DOMAINS];
/** The domains that gain a virtual host name: by --apply, then by --watch. */
const CHANGED = [7, 8];

let work = '';
let ldifFile = '';
let hostsFile = '';
let args: string[] = [];
let backend: Server | undefined;
let watcher: ChildProcess | undefined;
const port: Record<string, number> = {};
/** Each domain's PEMs by number; undefined: the shared wildcard pair. */
const own = new Map<number, { cert: string; key: string }>();
const extraNames = new Map<number, string>();
let wildcard = { cert: '', key: '' };

function pair(dir: string, name: string): { cert: string; key: string } {
  writeSelfSignedCertificate(join(dir, `${name}.crt`), join(dir, `${name}.key`), name);
  return {
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
  };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const domainName = (d: number) => `d${d}.scale.test`;
const names = (d: number) => [
  `a-d${d}.scale.test`,
  `b-d${d}.scale.test`,
  ...(extraNames.has(d) ? [extraNames.get(d) ?? ''] : []),
];

function writeDirectory(): void {
  const records = [
    [
      'dn: cn=config,cn=zimbra',
      'objectClass: organizationalRole',
      'objectClass: zimbraGlobalConfig',
      'cn: config',
      'zimbraReverseProxyLookupTarget: TRUE',
      'zimbraIPMode: ipv4',
      'zimbraReverseProxyMailEnabled: FALSE',
      'zimbraReverseProxyAdminEnabled: FALSE',
      'zimbraReverseProxySNIEnabled: TRUE',
      'zimbraReverseProxyGenConfigPerVirtualHostname: TRUE',
      'zimbraReverseProxySSLToUpstreamEnabled: FALSE',
    ].join('\n'),
    [
      'dn: cn=localhost,cn=servers,cn=zimbra',
      'objectClass: zimbraServer',
      'cn: localhost',
      'zimbraId: 11111111-2222-4333-8444-555555555555',
      'zimbraServiceHostname: localhost',
      'zimbraServiceEnabled: mailbox',
      'zimbraServiceEnabled: service',
      'zimbraServiceEnabled: zimbra',
      'zimbraServiceEnabled: proxy',
      'zimbraServiceEnabled: memcached',
      'zimbraServerVersion: 10.1.0_GA_4633',
      'zimbraMailMode: http',
      `zimbraMailPort: ${port['backend']}`,
      `zimbraMailSSLPort: ${port['backend']}`,
      `zimbraAdminPort: ${port['backend']}`,
      `zimbraExtensionBindPort: ${port['backend']}`,
      `zimbraMailProxyPort: ${port['http']}`,
      `zimbraMailSSLProxyPort: ${port['https']}`,
      `zimbraAdminProxyPort: ${port['admin']}`,
      'zimbraReverseProxyHttpEnabled: TRUE',
    ].join('\n'),
  ];
  for (let d = 1; d <= DOMAINS; d++) {
    const { cert, key } = own.get(d) ?? wildcard;
    records.push(
      [
        `dn: dc=d${d},dc=scale,dc=test`,
        'objectClass: dcObject',
        'objectClass: zimbraDomain',
        `dc: d${d}`,
        `zimbraDomainName: ${domainName(d)}`,
        `zimbraId: 00000000-0000-4000-a000-${String(d).padStart(12, '0')}`,
        ...names(d).map((name) => `zimbraVirtualHostname: ${name}`),
        `zimbraSSLCertificate:: ${b64(cert)}`,
        `zimbraSSLPrivateKey:: ${b64(key)}`,
      ].join('\n'),
    );
  }
  writeFileSync(ldifFile, `${records.join('\n\n')}\n`);
  const hosts = ['127.0.0.1 localhost'];
  for (let d = 1; d <= DOMAINS; d++) hosts.push(`127.0.0.1 ${names(d).join(' ')}`);
  writeFileSync(hostsFile, `${hosts.join('\n')}\n`);
}

/** The certificate nginx presents for `servername`. */
function servedCertificate(servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: port['https'], servername, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (cert === undefined) reject(new Error('no certificate'));
        else resolve(cert);
      },
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
  });
}

/** The generation id nginx answers on its marker. */
async function served(): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port['marker']}/zmproxy-generation`, {
      signal: AbortSignal.timeout(2000),
    });
    return response.ok ? (await response.text()).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Runs recorded in the apply state file. */
function stateRuns(): number {
  try {
    const file = join(work, 'conf/nginx/zmproxy-apply-state.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { runs?: number }).runs ?? 0;
  } catch {
    return 0;
  }
}

const currentId = () => readlinkSync(join(work, 'conf/nginx/current')).replace('generations/', '');

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function apply() {
  const { io, out } = captureIo();
  const started = performance.now();
  const code = await confgen([...args, '--apply', '--json'], io);
  const ms = Math.round(performance.now() - started);
  const line = out.stdout.trim().split('\n').pop() ?? '{}';
  return {
    code,
    ms,
    result: JSON.parse(line) as Record<string, unknown>,
    stderr: `${out.stderr}${code === 10 || code === 0 ? '' : out.stdout}`,
  };
}

/** Every checked domain still gets its own certificate, a wildcard one the shared one. */
async function expectOthersServed(): Promise<void> {
  for (const d of CHECKED) {
    const cert = await servedCertificate(`a-d${d}.scale.test`);
    expect(cert.subject).toBe(`CN=a-d${d}.scale.test`);
  }
  const shared = await servedCertificate('b-d3.scale.test');
  expect(shared.fingerprint256).toBe(new X509Certificate(wildcard.cert).fingerprint256);
}

/** A domain gains a virtual host name and a certificate naming it (its SAN: the CN here). */
function addVirtualHostName(d: number): string {
  const name = `new-d${d}.scale.test`;
  extraNames.set(d, name);
  own.set(d, pair(join(work, 'pems'), name));
  writeDirectory();
  return name;
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/cli/zmproxyconfgen.js'))) {
    throw new Error('run npm run build first: the --watch test runs bin/zmproxyconfgen.js');
  }
  const portNames = ['backend', 'http', 'https', 'admin', 'auth', 'marker'];
  const ports = await freePorts(portNames.length);
  portNames.forEach((name, index) => (port[name] = ports[index] ?? 0));
  work = mkdtempSync(join(tmpdir(), 'zmproxy-scale-'));
  // nginx's workers (nobody) chdir to working_directory and read the domain keys.
  chmodSync(work, 0o755);
  for (const dir of ['conf', 'log', 'data/tmp/nginx', 'data/nginx/html', 'pems'])
    mkdirSync(join(work, dir), { recursive: true });
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  chownSync(join(work, 'conf/nginx.key'), -1, (await lookupGroupId('nogroup')) ?? 65534);
  chmodSync(join(work, 'conf/nginx.key'), 0o640);
  wildcard = pair(join(work, 'pems'), '*.scale.test');
  for (const d of CHECKED) own.set(d, pair(join(work, 'pems'), `a-d${d}.scale.test`));
  ldifFile = join(work, 'directory.ldif');
  hostsFile = join(work, 'hosts');
  writeDirectory();
  writeFileSync(
    join(work, 'localconfig.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<localconfig>\n` +
      `  <key name="zimbra_server_hostname"><value>localhost</value></key>\n` +
      `  <key name="zmproxy_auth_http_listen"><value>127.0.0.1:${port['auth']}</value></key>\n` +
      `  <key name="zmproxy_lookup_shared_key"><value>test-key</value></key>\n` +
      `  <key name="zmproxy_certificate_selection"><value>map</value></key>\n` +
      `  <key name="zmproxy_worker_shutdown_timeout"><value>2s</value></key>\n` +
      `</localconfig>\n`,
  );
  args = [
    '--source',
    `ldif:${ldifFile}`,
    '--localconfig',
    join(work, 'localconfig.xml'),
    '--hosts',
    hostsFile,
    '--hosts-only',
    '-w',
    work,
    '-c',
    `stock.generation.listen=127.0.0.1:${port['marker']}`,
    '--nginx',
    NGINX,
    '--min-reload-interval',
    '0',
  ];
  backend = createServer((_req, res) => res.end('backend\n'));
  await new Promise<void>((resolve) => backend?.listen(port['backend'], '127.0.0.1', resolve));

  const first = await apply();
  if (first.code !== 10) throw new Error(`first --apply: exit ${first.code}: ${first.stderr}`);
  const { io, out } = captureIo();
  const started = await ctl(
    ['start', 'norewrite', '-w', work, '--nginx', NGINX, '--no-lookup'],
    io,
  );
  if (started !== 0) throw new Error(`zmproxyctl start: exit ${started}: ${out.stderr}`);
  await waitFor(async () => (await served()) === '1', 60_000);
}, 240_000);

afterAll(async () => {
  if (watcher?.pid !== undefined && watcher.exitCode === null) watcher.kill('SIGKILL');
  if (work !== '') {
    await ctl(['stop', '-w', work, '--nginx', NGINX, '--no-lookup'], captureIo().io);
  }
  await new Promise((resolve) =>
    backend === undefined ? resolve(undefined) : backend.close(resolve),
  );
  // ZMPROXY_SCALE_KEEP=1 keeps the work directory for a look at what nginx served.
  if (work !== '' && process.env['ZMPROXY_SCALE_KEEP'] !== '1') {
    rmSync(work, { recursive: true, force: true });
  }
}, 60_000);

describe.sequential(`${DOMAINS} domains with certificates on the real nginx`, () => {
  it('serves every domain its certificate after zmproxyctl start', async () => {
    expect(await served()).toBe(currentId());
    await expectOthersServed();
  });

  it('--apply: a new virtual host name is served with its certificate', async () => {
    const name = addVirtualHostName(CHANGED[0] ?? 7);
    const run = await apply();
    // The stderr in the failure message when it did not publish.
    expect({ code: run.code, stderr: run.code === 10 ? '' : run.stderr }).toEqual({
      code: 10,
      stderr: '',
    });
    expect(run.result['outcome']).toBe('reloaded');
    // What the run reports is what nginx serves and what `current` names.
    expect(await served()).toBe(run.result['generation']);
    expect(currentId()).toBe(run.result['generation']);
    const cert = await servedCertificate(name);
    expect(cert.subject).toBe(`CN=${name}`);
    expect(cert.checkHost(name)).toBe(name);
    await expectOthersServed();
    console.info(
      `scale-apply (${DOMAINS} domains): change → confirmed served in ${run.ms} ms ${JSON.stringify(run.result['durations'])}`,
    );
    const again = await apply();
    expect(again.result['outcome']).toBe('unchanged');
    expect(await served()).toBe(again.result['generation']);
    console.info(`scale-apply (${DOMAINS} domains): no-change run in ${again.ms} ms`);
  }, 120_000);

  it('--watch --interval 1: a new virtual host name is served with its certificate', async () => {
    const before = currentId();
    let output = '';
    watcher = spawn(
      process.execPath,
      [join(ROOT, 'bin/zmproxyconfgen.js'), ...args, '--watch', '--interval', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    watcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    watcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // The daemon's first pass (a run more in the state file) finds nothing to do.
      const runs = stateRuns();
      await waitFor(() => Promise.resolve(stateRuns() > runs), 60_000);
      expect(currentId()).toBe(before);
      const name = addVirtualHostName(CHANGED[1] ?? 8);
      const changedAt = Date.now();
      await waitFor(
        () =>
          servedCertificate(name).then(
            (cert) => cert.subject === `CN=${name}`,
            () => false,
          ),
        90_000,
      );
      console.info(
        `scale-apply (${DOMAINS} domains): --watch change → served in ${Date.now() - changedAt} ms`,
      );
      // The generation nginx answers is the one `current` names, once the daemon settled.
      await waitFor(async () => (await served()) === currentId(), 30_000);
      expect(currentId()).not.toBe(before);
      await expectOthersServed();
    } catch (error) {
      throw new Error(`${(error as Error).message}; the daemon said:\n${output.slice(-3000)}`, {
        cause: error,
      });
    } finally {
      if (watcher.exitCode === null && watcher.signalCode === null) {
        const exited = new Promise((resolve) => watcher?.once('exit', resolve));
        watcher.kill('SIGTERM');
        await exited;
      }
    }
    expect(output).not.toMatch(/rolled back|rollback-failed/);
  }, 180_000);
});
