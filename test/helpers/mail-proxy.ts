/**
 * A mail proxy of real parts for end-to-end tests: the lookup service in this process (reading
 * the stack's slapd), and nginx rendered from our stock templates by `generate`, started in a
 * mount namespace of its own whose /etc/hosts maps the test's host names to loopback. The caller
 * loads the directory (resetDirectory) and owns the ports it names there.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import type { RunningLookup } from '../../src/cli/lookup.js';
import { startLookupServer } from '../../src/cli/lookup.js';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import { generate } from '../../src/engine/generate.js';
import { ProblemsError, formatProblem } from '../../src/errors.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { parseOverrides } from '../../src/vars/registry.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { writeSelfSignedCertificate } from './certificates.js';
import { stackLdapOptions } from './stack.js';

const NGINX = '/usr/sbin/nginx';

/** Starts the lookup service on a free loopback port; `hosts` answers its DNS questions. */
export async function startTestLookup(
  hosts: ReadonlyMap<string, readonly string[]>,
  sharedKey: string,
): Promise<RunningLookup> {
  const quiet = pino({ level: 'warn' }, { write: () => undefined });
  return startLookupServer(
    {
      host: '127.0.0.1',
      port: 0,
      workers: 0,
      ldap: stackLdapOptions(),
      sharedKey,
      tls: undefined,
      memcached: undefined,
      noCache: true,
      hosts: new Map([...hosts].map(([name, addresses]) => [name, [...addresses]])),
      hostsOnly: true,
      maxWaitAttempts: 10,
      logLevel: 'warn',
    },
    quiet,
  );
}

/** A running nginx of {@link startStockNginx}. */
export interface TestNginx {
  pid: number;
  work: string;
  stop(): void;
}

/**
 * Renders the stock templates for `serverName` from the LDIF file into `work` (its mail
 * auth_http going to `lookup`), adds a self-signed default certificate, and starts nginx.
 */
export async function startStockNginx(options: {
  work: string;
  ldif: string;
  serverName: string;
  lookup: RunningLookup;
  sharedKey: string;
  authHttpPort: number;
  hosts: ReadonlyMap<string, readonly string[]>;
}): Promise<TestNginx> {
  const { work, hosts } = options;
  const generation = await generate(
    {
      paths: { workdir: work, templateDir: BUNDLED_TEMPLATE_DIR },
      serverName: options.serverName,
      overrides: parseOverrides([
        `stock.lookup.:servers=server    ${options.lookup.address};`,
        'stock.lookup.scheme=http',
      ]).overrides,
    },
    {
      source: { description: options.ldif, load: () => readLdifSnapshot([options.ldif]) },
      localConfig: new Map([
        ['zimbra_server_hostname', options.serverName],
        ['zmproxy_auth_http_listen', `127.0.0.1:${options.authHttpPort}`],
        ['zmproxy_lookup_shared_key', options.sharedKey],
      ]),
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
    },
  ).catch((error: unknown) => {
    // Name every problem: the test's directory is what needs fixing.
    const problems = error instanceof ProblemsError ? error.problems.map(formatProblem) : [];
    throw new Error(`generate for ${options.serverName}: ${String(error)} ${problems.join('; ')}`);
  });
  for (const file of generation.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    chmodSync(file.path, file.mode);
  }
  writeSelfSignedCertificate(join(work, 'conf/nginx.crt'), join(work, 'conf/nginx.key'));
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html'])
    mkdirSync(join(work, dir), { recursive: true });
  const hostsFile = join(work, 'hosts');
  writeFileSync(
    hostsFile,
    `127.0.0.1 localhost\n${[...hosts].map(([name, [address]]) => `${address ?? '127.0.0.1'} ${name}`).join('\n')}\n`,
  );
  const script = 'mount --bind "$1" /etc/hosts && exec "$2" -p "$3/" -c "$3/conf/nginx.conf"';
  const started = spawnSync(
    'unshare',
    ['--mount', 'sh', '-c', script, 'sh', hostsFile, NGINX, work],
    {
      encoding: 'utf8',
    },
  );
  if (started.status !== 0) {
    throw new Error(`nginx did not start: ${started.stdout}${started.stderr}`);
  }
  let pid = 0;
  for (let i = 0; i < 50 && pid === 0; i++) {
    try {
      pid = Number(readFileSync(join(work, 'log/nginx.pid'), 'utf8').trim());
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (pid === 0) throw new Error('nginx wrote no pid file');
  return {
    pid,
    work,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
