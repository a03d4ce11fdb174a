/**
 * A generated property test over the whole attribute catalog: every attribute gets values from
 * its type's edge cases (seeded, a fixed number of cases), each goes through zmprov's planning
 * onto the example directory, then through the generator with the stock templates, then through
 * the real `nginx -t`. What must hold: zmprov refuses the value, or the generator refuses it with
 * a named problem, or nginx accepts the tree. Never a tree that fails `nginx -t` after a
 * generation that succeeded.
 *
 * nginx -t runs in a private mount and network namespace: /etc/hosts names the example's hosts,
 * and non-local binds are allowed there, so virtual IP addresses that this host does not carry
 * do not fail the test (nothing leaves the namespace; it has no interface but loopback).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
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
import { ProxyConfError, ProblemsError } from '../../src/errors.js';
import { ATTRIBUTE_CATALOG } from '../../src/model/attribute-catalog.js';
import type { AttributeSpec } from '../../src/model/attribute-spec.js';
import type { DirectoryEntry, DirectorySnapshot } from '../../src/model/snapshot.js';
import { firstValueOf } from '../../src/model/snapshot.js';
import { parseAttributeEdits, planAttributeChanges } from '../../src/prov/attribute-edits.js';
import type { AttributeChange } from '../../src/ports.js';
import { checkModuleTrust } from '../../src/reload/module-trust.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { parseLocalConfig } from '../../src/sources/localconfig/index.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { writeSelfSignedCertificate } from '../helpers/certificates.js';
import { CERT_A, KEY_A } from '../helpers/pem.js';
import { testdir } from '../helpers/testdir.js';

const NGINX = '/usr/sbin/nginx';
const EXAMPLE = new URL('../../fixtures/example/', import.meta.url).pathname;
const SEED = 20_261_205;
/** Values per attribute: about 440 cases, half of them reaching nginx -t, in about a minute. */
const CASES_PER_ATTRIBUTE = 3;

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Text values that have broken parsers and nginx before: syntax, size, addresses, PEM. */
const TEXT_EDGES: readonly string[] = [
  'a',
  ' ',
  'mail.example.com',
  'proxy1.example.com',
  '*.example.com',
  '127.0.0.1',
  '::1',
  ':::',
  '1:2:3:4:5:6:7::',
  '10.0.0.0/33',
  '10.0.0.0/8',
  '2001:db8::/32',
  'X-A: b',
  'X-A:b',
  'X-Debug: $http_cookie',
  '/x$nosuchvar',
  '/errors',
  '/x?a=b&c',
  'https://example.com/',
  'HIGH$x',
  'HIGH:!aNULL',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'prime256v1',
  'TLSv1.2',
  'LITERAL+',
  'a;b',
  'a{b}',
  '"quoted"',
  "it's",
  'back\\slash',
  '#comment',
  'two words',
  '${x}',
  'é',
  'A'.repeat(70_000),
  'a'.repeat(300),
  `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.com`,
  'f0b3a2c1-1234-4abc-9def-0123456789ab',
  CERT_A,
  KEY_A,
  '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----',
  'on',
  'off',
  '10m',
  '0',
];

function edgeValues(spec: AttributeSpec): string[] {
  const numbers = ['0', '1', '-1', '65535', '65536', '2147483648', '99999999999999999999', '1.5'];
  switch (spec.type) {
    case 'port':
      return [...numbers, '80', '443', '143', '8080', '7071', 'http'];
    case 'integer':
    case 'long': {
      const bounds = [spec.min, spec.max].flatMap((n) =>
        n === undefined ? [] : [String(n - 1), String(n), String(n + 1)],
      );
      return [...numbers, ...bounds, '10k', '1m'];
    }
    case 'duration':
      return ['0', '1', '1ms', '1s', '5m', '1h', '1d', '99999999999d', '1x', '-1', ''];
    case 'boolean':
      return ['TRUE', 'FALSE', 'true', 'yes', '1'];
    case 'enum':
      return [...(spec.values ?? []), ...(spec.values ?? []).map((v) => v.toUpperCase()), 'bogus'];
    case 'email':
      return ['admin@example.com', 'nobody', '@', ...TEXT_EDGES.slice(0, 10)];
    case 'id':
    case 'string':
    case 'astring':
      return [...TEXT_EDGES];
  }
}

interface Case {
  spec: AttributeSpec;
  value: string;
  where: 'server' | 'globalConfig' | 'domain';
}

function cases(): Case[] {
  const next = random(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const all: Case[] = [];
  for (const spec of ATTRIBUTE_CATALOG) {
    const scopes = (['server', 'globalConfig', 'domain'] as const).filter((scope) =>
      spec.optionalIn.includes(scope),
    );
    if (scopes.length === 0) continue;
    const values = edgeValues(spec);
    for (let i = 0; i < CASES_PER_ATTRIBUTE; i++) {
      all.push({ spec, value: pick(values), where: pick(scopes) });
    }
  }
  return all;
}

function targetOf(snapshot: DirectorySnapshot, where: Case['where']): DirectoryEntry {
  if (where === 'globalConfig') return snapshot.globalConfig;
  const list = where === 'server' ? snapshot.servers : snapshot.domains;
  const found = list.find((entry) =>
    where === 'server'
      ? firstValueOf(entry, 'cn') === 'proxy1.example.com'
      : firstValueOf(entry, 'zimbraDomainName') === 'example.com',
  );
  if (found === undefined) throw new Error(`the example has no ${where} to edit`);
  return found;
}

/** The snapshot with `changes` applied to `target` (LDAP modify semantics). */
function withChanges(
  snapshot: DirectorySnapshot,
  target: DirectoryEntry,
  changes: readonly AttributeChange[],
): DirectorySnapshot {
  const attrs: Record<string, readonly string[]> = { ...target.attrs };
  for (const change of changes) {
    const current = attrs[change.attribute] ?? [];
    if (change.operation === 'replace') attrs[change.attribute] = [...change.values];
    else if (change.operation === 'add') attrs[change.attribute] = [...current, ...change.values];
    else attrs[change.attribute] = current.filter((v) => !change.values.includes(v));
    if (attrs[change.attribute]?.length === 0) delete attrs[change.attribute];
  }
  const edited = { ...target, attrs };
  const swap = (entry: DirectoryEntry) => (entry === target ? edited : entry);
  return {
    ...snapshot,
    globalConfig: swap(snapshot.globalConfig),
    servers: snapshot.servers.map(swap),
    domains: snapshot.domains.map(swap),
  };
}

let base: DirectorySnapshot;
let localConfig: ReadonlyMap<string, string>;
let hosts: Map<string, string[]>;
let certificateDir: string | undefined;

beforeAll(async () => {
  base = await readLdifSnapshot([join(EXAMPLE, 'directory.ldif')]);
  localConfig = parseLocalConfig(
    readFileSync(join(EXAMPLE, 'localconfig.xml'), 'utf8'),
    'localconfig.xml',
  );
  hosts = new Map();
  for (const line of readFileSync(join(EXAMPLE, 'hosts'), 'utf8').split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (address === undefined || address === '') continue;
    for (const name of names) hosts.set(name.toLowerCase(), [address]);
  }
  certificateDir = mkdtempSync(join(tmpdir(), 'zmproxy-property-certs-'));
  writeSelfSignedCertificate(join(certificateDir, 'nginx.crt'), join(certificateDir, 'nginx.key'));
});

afterAll(() => {
  if (certificateDir !== undefined) rmSync(certificateDir, { recursive: true, force: true });
});

async function render(snapshot: DirectorySnapshot, workdir: string): Promise<Generation> {
  return generate(
    { paths: { workdir, templateDir: BUNDLED_TEMPLATE_DIR } },
    {
      source: { description: 'example', load: () => Promise.resolve(snapshot) },
      localConfig,
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
      moduleTrust: checkModuleTrust,
    },
  );
}

function writeTree(generation: Generation, workdir: string): void {
  rmSync(join(workdir, 'conf'), { recursive: true, force: true });
  for (const file of generation.files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    chmodSync(file.path, file.mode);
  }
  copyFileSync(join(certificateDir!, 'nginx.crt'), join(workdir, 'conf/nginx.crt'));
  copyFileSync(join(certificateDir!, 'nginx.key'), join(workdir, 'conf/nginx.key'));
  for (const dir of ['log', 'data/tmp/nginx', 'data/nginx/html']) {
    mkdirSync(join(workdir, dir), { recursive: true });
  }
}

/** nginx -t in a private mount and network namespace (see the file comment). */
function nginxTest(generation: Generation, workdir: string): { ok: boolean; output: string } {
  const names = new Set<string>(['localhost']);
  const lines = ['127.0.0.1 localhost', '::1 localhost'];
  for (const [name, addresses] of hosts) for (const a of addresses) lines.push(`${a} ${name}`);
  for (const server of generation.snapshot.servers) {
    const host = firstValueOf(server, 'zimbraServiceHostname');
    if (host !== undefined && !hosts.has(host.toLowerCase()) && !names.has(host)) {
      names.add(host);
      lines.push(`127.0.0.1 ${host}`);
    }
  }
  const hostsPath = join(workdir, 'hosts');
  writeFileSync(hostsPath, `${lines.join('\n')}\n`);
  const script =
    'sysctl -qw net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1; ip link set lo up; ' +
    'mount --bind "$1" /etc/hosts && exec "$2" -t -q -e stderr -p "$3/" -c "$3/conf/nginx.conf"';
  const result = spawnSync(
    'unshare',
    ['--mount', '--net', 'sh', '-c', script, 'sh', hostsPath, NGINX, workdir],
    { encoding: 'utf8' },
  );
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

describe('every catalog attribute: zmprov, generator, nginx -t', () => {
  it('the example itself passes nginx -t', async () => {
    const workdir = testdir();
    const generation = await render(base, workdir);
    writeTree(generation, workdir);
    expect(nginxTest(generation, workdir)).toEqual({ ok: true, output: '' });
  });

  it('never writes a tree that nginx -t refuses', { timeout: 300_000 }, async () => {
    const workdir = testdir();
    const failures: string[] = [];
    const seen = new Set<string>();
    const tally = { zmprov: 0, generator: 0, nginx: 0 };
    for (const { spec, value, where } of cases()) {
      const key = `${spec.name}\0${where}\0${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const label = `${spec.name}=${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} on ${where}`;
      const target = targetOf(base, where);
      const planned = planAttributeChanges(target, parseAttributeEdits([spec.name, value], 'm'), {
        allowSafeguardedReplace: true,
      });
      if (!planned.ok) {
        tally.zmprov += 1;
        continue;
      }
      let generation: Generation;
      try {
        generation = await render(withChanges(base, target, planned.changes), workdir);
      } catch (error) {
        if (error instanceof ProblemsError && error.problems.length > 0) {
          tally.generator += 1;
          continue;
        }
        if (error instanceof ProxyConfError && error.code !== 'E_INTERNAL') {
          tally.generator += 1;
          continue;
        }
        failures.push(`${label}: the generator failed without a named problem: ${String(error)}`);
        continue;
      }
      writeTree(generation, workdir);
      const result = nginxTest(generation, workdir);
      tally.nginx += 1;
      if (!result.ok) failures.push(`${label}: nginx -t refused: ${result.output.split('\n')[0]}`);
    }
    console.info(
      `attribute property: ${seen.size} cases; zmprov refused ${tally.zmprov}, generator refused ${tally.generator}, nginx -t ran ${tally.nginx}`,
    );
    expect(failures).toEqual([]);
  });
});
