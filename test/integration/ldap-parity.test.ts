/**
 * The parity test: every bundled fixture, loaded into the real slapd and read back through the
 * LDAP source, gives the same snapshot as the LDIF source reading the file, and the generator
 * turns both into byte-identical files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblem, ProblemsError } from '../../src/errors.js';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import type { Generation } from '../../src/engine/generate.js';
import { generate } from '../../src/engine/generate.js';
import type { LocalConfig } from '../../src/model/localconfig-defaults.js';
import type { DirectoryEntry, DirectorySnapshot } from '../../src/model/snapshot.js';
import type { DirectorySource, DirectoryStore } from '../../src/ports.js';
import { readHostsFile, resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { createLdapDirectory } from '../../src/sources/ldap/index.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { readLocalConfig } from '../../src/sources/localconfig/index.js';
import { parseOverrides } from '../../src/vars/registry.js';
import { createTemplateStore } from '../../src/writer/template-store.js';
import { resetDirectory, stackLdapOptions } from '../helpers/stack.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

interface Fixture {
  name: string;
  ldif: string;
  serverName?: string | undefined;
  localConfig: () => Promise<LocalConfig>;
  hosts: () => Promise<Map<string, string[]>>;
  overrides: string[];
}

interface ScenarioOptions {
  server?: string;
  localconfig?: Record<string, string>;
  hosts?: Record<string, string[]>;
  overrides?: string[];
}

const example: Fixture = {
  name: 'example',
  ldif: join(FIXTURES, 'example/directory.ldif'),
  localConfig: () => readLocalConfig(join(FIXTURES, 'example/localconfig.xml')),
  hosts: () => readHostsFile(join(FIXTURES, 'example/hosts')),
  overrides: [],
};

const scenarios: Fixture[] = readdirSync(join(FIXTURES, 'scenarios'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()
  .map((name) => {
    const dir = join(FIXTURES, 'scenarios', name);
    const options = JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as ScenarioOptions;
    return {
      name: `scenarios/${name}`,
      ldif: join(dir, 'input.ldif'),
      serverName: options.server,
      localConfig: () => Promise.resolve(new Map(Object.entries(options.localconfig ?? {}))),
      hosts: () =>
        Promise.resolve(
          new Map(
            Object.entries(options.hosts ?? {}).map(([host, addresses]) => [
              host.toLowerCase(),
              addresses,
            ]),
          ),
        ),
      overrides: options.overrides ?? [],
    };
  });

/** The snapshot without LDIF origins (LDAP entries have none). */
function comparable(snapshot: DirectorySnapshot): Record<string, unknown> {
  const strip = (entry: DirectoryEntry) => ({ dn: entry.dn, kind: entry.kind, attrs: entry.attrs });
  return {
    globalConfig: strip(snapshot.globalConfig),
    servers: snapshot.servers.map(strip),
    domains: snapshot.domains.map(strip),
    accounts: snapshot.accounts.map(strip),
    aliases: snapshot.aliases.map(strip),
    cos: snapshot.cos.map(strip),
  };
}

async function render(fixture: Fixture, source: DirectorySource): Promise<Generation> {
  const hosts = await fixture.hosts();
  return generate(
    {
      paths: { workdir: '/opt/zimbra', templateDir: BUNDLED_TEMPLATE_DIR },
      serverName: fixture.serverName,
      overrides: parseOverrides(fixture.overrides).overrides,
    },
    {
      source,
      localConfig: await fixture.localConfig(),
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
    },
  ).catch((error: unknown) => {
    // Name every problem, not just their number.
    if (error instanceof ProblemsError) {
      throw new Error(`${error.message}:\n${error.problems.map(formatProblem).join('\n')}`, {
        cause: error,
      });
    }
    throw error;
  });
}

const stores: DirectoryStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

describe.each([example, ...scenarios])('fixture $name through slapd', (fixture) => {
  it('reads back the snapshot the LDIF source reads', async () => {
    await resetDirectory(fixture.ldif);
    const store = createLdapDirectory(stackLdapOptions());
    stores.push(store);
    const fromLdap = await store.load();
    const fromLdif = await readLdifSnapshot([fixture.ldif]);
    expect(comparable(fromLdap)).toEqual(comparable(fromLdif));
    expect(fromLdap.servers.length + fromLdap.domains.length).toBeGreaterThan(0);
  });

  it('generates byte-identical files from LDAP and from LDIF', async () => {
    await resetDirectory(fixture.ldif);
    const store = createLdapDirectory(stackLdapOptions({ pageSize: 2 }));
    stores.push(store);
    const fromLdap = await render(fixture, store);
    const fromLdif = await render(fixture, {
      description: fixture.ldif,
      load: () => readLdifSnapshot([fixture.ldif]),
    });
    expect(fromLdap.files.map((file) => file.path)).toEqual(
      fromLdif.files.map((file) => file.path),
    );
    expect(fromLdap.files.length).toBeGreaterThan(0);
    for (const [index, file] of fromLdap.files.entries()) {
      expect({ path: file.path, content: file.content }).toEqual({
        path: file.path,
        content: fromLdif.files[index]?.content,
      });
    }
    expect(fromLdap.warnings).toEqual(fromLdif.warnings);
  });
});
