/**
 * Certificates chosen at the handshake from a map, on the real nginx: the master runs as root and
 * its workers as nobody/nogroup (Debian's nginx without a user directive), so the domain keys must
 * be readable by the workers' group. Each name gets its domain's certificate, unknown names the
 * default one, a domain with a block of its own keeps it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import { generate } from '../../src/engine/generate.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { readLdifSnapshot } from '../../src/sources/ldif/read-ldif.js';
import { lookupGroupId } from '../../src/writer/groups.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { parseOverrides } from '../../src/vars/registry.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { freePorts } from '../helpers/ports.js';

const SCENARIO = new URL('../../fixtures/scenarios/certificate-map/', import.meta.url).pathname;
const NGINX = '/usr/sbin/nginx';

/** The certificate nginx presents for `servername`. */
async function servedCertificate(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, servername, rejectUnauthorized: false },
      () => {
        const raw = socket.getPeerX509Certificate();
        socket.destroy();
        if (raw === undefined) reject(new Error('no certificate'));
        else resolve(raw.fingerprint256);
      },
    );
    socket.on('error', reject);
  });
}

const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

let work = '';
let https = 0;
let nginx: ChildProcess | undefined;
let nginxErrors = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zmproxy-certmap-'));
  const [httpsPort, http, admin, auth] = await freePorts(4);
  https = httpsPort!;
  // Web only: the mail listeners would need ports of their own.
  const ldif = readFileSync(join(SCENARIO, 'input.ldif'), 'utf8').replace(
    'zimbraReverseProxyMailEnabled: TRUE',
    'zimbraReverseProxyMailEnabled: FALSE',
  );
  writeFileSync(join(work, 'input.ldif'), ldif);
  const generation = await generate(
    {
      paths: { workdir: work, templateDir: BUNDLED_TEMPLATE_DIR },
      overrides: parseOverrides([
        `web.http.port=${http}`,
        `web.https.port=${https}`,
        `web.admin.port=${admin}`,
      ]).overrides,
    },
    {
      source: {
        description: 'certificate-map',
        load: () => readLdifSnapshot([join(work, 'input.ldif')]),
      },
      localConfig: new Map([
        ['zimbra_server_hostname', 'proxy.example.test'],
        ['zmproxy_certificate_selection', 'map'],
        ['zmproxy_auth_http_listen', `127.0.0.1:${auth}`],
      ]),
      templates: createTemplateStore(),
      resolver: {
        resolve: (names) =>
          resolveHostnames(names, {
            hosts: new Map([['proxy.example.test', ['127.0.0.60']]]),
            hostsOnly: true,
          }),
      },
      files: { exists: () => Promise.resolve(false) },
      groupId: lookupGroupId,
    },
  );
  for (const file of generation.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content, { mode: file.mode });
    chmodSync(file.path, file.mode);
    if (file.gid !== undefined) chownSync(file.path, -1, file.gid);
  }
  const gid = await lookupGroupId('nogroup');
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  chownSync(join(work, 'conf/nginx.key'), -1, gid ?? 65534);
  chmodSync(join(work, 'conf/nginx.key'), 0o640);
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html']) {
    mkdirSync(join(work, dir), { recursive: true });
  }
  // Workers (nobody) must reach the files: the test directory is 0700 by default.
  for (let dir = work; dir !== '/'; dir = dirname(dir)) {
    chmodSync(dir, statSync(dir).mode | 0o711);
    if (dir === dirname(dir)) break;
  }
  writeFileSync(join(work, 'hosts'), '127.0.0.1 localhost\n127.0.0.60 proxy.example.test\n');
  const script =
    'mount --bind "$1" /etc/hosts && exec "$2" -p "$3/" -c "$3/conf/nginx.conf" -g "daemon off;"';
  nginx = spawn(
    'unshare',
    ['--mount', 'sh', '-c', script, 'sh', join(work, 'hosts'), NGINX, work],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  nginx.stderr?.on('data', (chunk: Buffer) => (nginxErrors += chunk.toString()));
  for (let i = 0; i < 100; i++) {
    const up = await servedCertificate(https, 'x.invalid').then(
      () => true,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nginx did not start: ${nginxErrors}`);
}, 60_000);

afterAll(async () => {
  if (nginx?.pid !== undefined) {
    try {
      process.kill(-nginx.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  rmSync(work, { recursive: true, force: true });
});

describe('certificates chosen by map on the real nginx (workers as nobody)', () => {
  it('writes the domain keys 0640 in the workers group', () => {
    const key = statSync(join(work, 'conf/domaincerts/alpha.test.key'));
    expect(key.mode & 0o777).toBe(0o640);
    expect(key.gid).toBe(65534);
  });

  it("serves each mapped name its domain's certificate, unknown names the default", async () => {
    const alpha = fingerprint(join(work, 'conf/domaincerts/alpha.test.crt'));
    const beta = fingerprint(join(work, 'conf/domaincerts/beta.test.crt'));
    const fallback = fingerprint(join(work, 'conf/nginx.crt'));
    expect(alpha).not.toBe(fallback);
    expect(await servedCertificate(https, 'mail.alpha.test')).toBe(alpha);
    expect(await servedCertificate(https, 'webmail.alpha.test')).toBe(alpha);
    expect(await servedCertificate(https, 'mail.beta.test')).toBe(beta);
    expect(await servedCertificate(https, 'unknown.example.test')).toBe(fallback);
    // delta has no certificate of its own; gamma keeps a server block of its own.
    expect(await servedCertificate(https, 'mail.delta.test')).toBe(fallback);
    expect(await servedCertificate(https, 'mail.gamma.test')).toBe(
      fingerprint(join(work, 'conf/domaincerts/gamma.test.crt')),
    );
    expect(nginxErrors).not.toMatch(/Permission denied|cannot load certificate/);
  });
});
