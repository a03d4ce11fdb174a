/**
 * Every golden scenario, and a generated 1 000-domain directory, rendered with the stock
 * templates into a temp work directory and checked by the real `nginx -t` (Debian's nginx with
 * libnginx-mod-mail, installed by the test stack). The test makes what the configuration
 * references and a Zimbra host would have: the default certificate, the log and temp
 * directories. `nginx -t` resolves upstream host names and binds the listen addresses, so it
 * runs in a private mount namespace whose /etc/hosts names the scenario's servers; ports already
 * taken (by the test stack's nginx) do not fail `nginx -t`.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import type { Generation } from '../../src/engine/generate.js';
import { generate } from '../../src/engine/generate.js';
import { firstValueOf } from '../../src/model/snapshot.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { parseOverrides } from '../../src/vars/registry.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { testdir } from '../helpers/testdir.js';

const NGINX = '/usr/sbin/nginx';
const SCENARIOS = new URL('../../fixtures/scenarios/', import.meta.url).pathname;

interface ScenarioOptions {
  server?: string;
  localconfig?: Record<string, string>;
  hosts?: Record<string, string[]>;
  overrides?: string[];
}

let certificateDir = '';

beforeAll(() => {
  certificateDir = mkdtempSync(join(tmpdir(), 'zmproxy-nginx-certs-'));
  writeSelfSignedCertificate(join(certificateDir, 'nginx.crt'), join(certificateDir, 'nginx.key'));
});

afterAll(() => {
  if (certificateDir !== '') rmSync(certificateDir, { recursive: true, force: true });
});

/** Renders a directory with the stock templates into `workdir`, as zmproxyconfgen -w would. */
async function renderInto(
  workdir: string,
  ldifFiles: string[],
  options: ScenarioOptions,
): Promise<Generation> {
  const hosts = new Map(
    Object.entries(options.hosts ?? {}).map(([name, addresses]) => [name.toLowerCase(), addresses]),
  );
  const generation = await generate(
    {
      paths: { workdir, templateDir: BUNDLED_TEMPLATE_DIR },
      serverName: options.server,
      overrides: parseOverrides(options.overrides ?? []).overrides,
    },
    {
      source: { description: ldifFiles.join(','), load: () => readLdifSnapshot(ldifFiles) },
      localConfig: new Map(Object.entries(options.localconfig ?? {})),
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
    },
  );
  for (const file of generation.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    chmodSync(file.path, file.mode);
  }
  // What a Zimbra host has and the configuration expects: default certificate, log, temp and
  // error-page directories.
  copyFileSync(join(certificateDir, 'nginx.crt'), join(workdir, 'conf/nginx.crt'));
  copyFileSync(join(certificateDir, 'nginx.key'), join(workdir, 'conf/nginx.key'));
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html']) {
    mkdirSync(join(workdir, dir), { recursive: true });
  }
  return generation;
}

/** /etc/hosts lines for every server host name of the directory (scenario addresses first). */
function hostsFile(generation: Generation, options: ScenarioOptions): string {
  const lines = Object.entries(options.hosts ?? {}).flatMap(([name, addresses]) =>
    addresses.map((address) => `${address} ${name}`),
  );
  const known = new Set(Object.keys(options.hosts ?? {}).map((name) => name.toLowerCase()));
  for (const server of generation.snapshot.servers) {
    const host = firstValueOf(server, 'zimbraServiceHostname');
    if (host !== undefined && !known.has(host.toLowerCase())) lines.push(`192.0.2.250 ${host}`);
  }
  return ['127.0.0.1 localhost', '::1 localhost', ...lines, ''].join('\n');
}

/** Runs `nginx -t` on the work directory's nginx.conf with `hosts` as /etc/hosts. */
function nginxTest(workdir: string, hosts: string): { status: number | null; output: string } {
  const hostsPath = join(workdir, 'hosts');
  writeFileSync(hostsPath, hosts);
  const script = 'mount --bind "$1" /etc/hosts && exec "$2" -t -q -p "$3/" -c "$3/conf/nginx.conf"';
  const result = spawnSync(
    'unshare',
    ['--mount', 'sh', '-c', script, 'sh', hostsPath, NGINX, workdir],
    { encoding: 'utf8' },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const scenarios = readdirSync(SCENARIOS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('stock templates under the real nginx -t', () => {
  it('finds the nginx binary and the mail module of the test stack', () => {
    expect(existsSync(NGINX)).toBe(true);
    expect(existsSync('/usr/lib/nginx/modules/ngx_mail_module.so')).toBe(true);
  });

  it.each(scenarios)('accepts the rendered scenario %s', async (name) => {
    const dir = join(SCENARIOS, name);
    const options = JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as ScenarioOptions;
    const workdir = testdir();
    const generation = await renderInto(workdir, [join(dir, 'input.ldif')], options);
    const result = nginxTest(workdir, hostsFile(generation, options));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(['map', 'static'])(
    'accepts a generated directory of 1 000 domains with their own certificates (%s)',
    async (selection) => {
      // @ts-expect-error -- a plain JavaScript module without types, shared with the benchmarks
      const { syntheticDirectory } = (await import('../../bench/synthetic-directory.js')) as {
        syntheticDirectory: (size: { servers: number; domains: number }) => {
          ldif: string;
          hosts: string;
        };
      };
      const workdir = testdir();
      const { ldif, hosts } = syntheticDirectory({ servers: 4, domains: 1000 });
      writeFileSync(join(workdir, 'directory.ldif'), ldif);
      const hostMap: Record<string, string[]> = {};
      for (const line of hosts.trim().split('\n')) {
        const [address = '', name = ''] = line.split(/\s+/);
        hostMap[name] = [...(hostMap[name] ?? []), address];
      }
      const options: ScenarioOptions = {
        server: 'proxy.bench.test',
        // auto selects the map for 2 000 virtual host names; static is forced.
        localconfig: {
          zimbra_server_hostname: 'proxy.bench.test',
          ...(selection === 'static' ? { zmproxy_certificate_selection: 'static' } : {}),
        },
        hosts: hostMap,
      };
      const started = performance.now();
      const generation = await renderInto(workdir, [join(workdir, 'directory.ldif')], options);
      const rendered = performance.now();
      const result = nginxTest(workdir, hostsFile(generation, options));
      const tested = performance.now();
      console.info(
        `1 000 domains, ${selection}: render ${Math.round(rendered - started)} ms, nginx -t ${Math.round(tested - rendered)} ms`,
      );
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
      const file = (suffix: string) =>
        generation.files.find((f) => f.path.endsWith(suffix))?.content ?? '';
      const blocks = file('/nginx.conf.web.https').match(/server_name/g)?.length ?? 0;
      const mapped =
        file('/nginx.conf.web.certificates').match(/domaincerts\/.*\.crt;/g)?.length ?? 0;
      expect({ blocks, mapped }).toEqual(
        selection === 'map' ? { blocks: 0, mapped: 2000 } : { blocks: 2000, mapped: 0 },
      );
    },
  );
});
