/**
 * Golden scenarios: each fixtures/scenarios/<name>/ (input.ldif + options.json) goes through the
 * LDIF source and the whole pipeline twice: once with our stock templates, once with a template
 * set built from the variable registry that prints every variable (so the golden files show every
 * variable group's value for the scenario). Regenerate with `npm run golden:update` and review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATE_DIR } from '../../src/cli/zmproxyconfgen.js';
import type { Generation } from '../../src/engine/generate.js';
import { generate } from '../../src/engine/generate.js';
import type { TemplateStore } from '../../src/ports.js';
import type { TemplateSource } from '../../src/render/types.js';
import { resolveHostnames } from '../../src/sources/dns/resolve-hostnames.js';
import { readLdifSnapshot } from '../../src/sources/ldif/index.js';
import { parseOverrides, VARIABLE_DEFINITIONS } from '../../src/vars/registry.js';
import { createTemplateStore } from '../../src/writer/template-store.js';

const SCENARIOS = new URL('../../fixtures/scenarios/', import.meta.url).pathname;
const WORKDIR = '/opt/zimbra';

interface ScenarioOptions {
  description: string;
  server?: string;
  localconfig?: Record<string, string>;
  hosts?: Record<string, string[]>;
  overrides?: string[];
}

/** Templates that print every variable, grouped by area, plus both explosion kinds. */
function variableDumpTemplates(): TemplateStore {
  const areas = [...new Set(VARIABLE_DEFINITIONS.map((v) => v.area))];
  const templates: TemplateSource[] = [
    { name: 'nginx.conf.template', path: 'vars/nginx.conf.template', text: '# every variable, by area\n' },
    ...areas.map((area) => ({
      name: `nginx.conf.vars-${area}.template`,
      path: `vars/nginx.conf.vars-${area}.template`,
      text: VARIABLE_DEFINITIONS.filter((v) => v.area === area)
        .map((v) => `${v.name} = [\${${v.name}}]`)
        .join('\n'),
    })),
    {
      name: 'nginx.conf.vars-explode-domain.template',
      path: 'vars/nginx.conf.vars-explode-domain.template',
      text: [
        '!{explode domain(vhn)}',
        ...['vhn', 'vip', 'ssl.crt', 'ssl.key', 'ssl.clientcertmode', 'ssl.clientcertca', 'web.sso.certauth.enabled', 'web.add.headers.vhost'].map(
          (name) => `${name} = [\${${name}}]`,
        ),
      ].join('\n'),
    },
    {
      name: 'nginx.conf.vars-explode-server.template',
      path: 'vars/nginx.conf.vars-explode-server.template',
      text: '!{explode server(mailbox)}\nserver_id = [${server_id}]\nserver_hostname = [${server_hostname}]',
    },
  ];
  return { readTemplates: () => Promise.resolve(templates) };
}

async function render(dir: string, options: ScenarioOptions, templates: TemplateStore): Promise<Generation> {
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([name, addresses]) => [name.toLowerCase(), addresses]));
  return generate(
    {
      paths: { workdir: WORKDIR, templateDir: BUNDLED_TEMPLATE_DIR },
      serverName: options.server,
      overrides: parseOverrides(options.overrides ?? []).overrides,
    },
    {
      source: { description: dir, load: (kinds, attributes) => readLdifSnapshot([join(dir, 'input.ldif')], kinds, attributes) },
      localConfig: new Map(Object.entries(options.localconfig ?? {})),
      templates,
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
    },
  );
}

function goldenName(path: string): string {
  return path.startsWith(`${WORKDIR}/`) ? path.slice(WORKDIR.length + 1) : path.replace(/^\//, '');
}

const scenarios = readdirSync(SCENARIOS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe.each(scenarios)('scenario %s', (name) => {
  const dir = join(SCENARIOS, name);
  const options = JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as ScenarioOptions;

  it('renders the stock templates as reviewed', async () => {
    const generation = await render(dir, options, createTemplateStore());
    for (const file of generation.files) {
      await expect(file.content).toMatchFileSnapshot(`./${name}/stock/${goldenName(file.path)}`);
    }
    const warnings = generation.warnings.map((w) => `warning: ${w.message}\n  hint: ${w.hint ?? ''}\n`).join('');
    await expect(warnings).toMatchFileSnapshot(`./${name}/warnings.txt`);
  });

  it('computes every variable as reviewed', async () => {
    const generation = await render(dir, options, variableDumpTemplates());
    for (const file of generation.files.filter((f) => f.path.includes('nginx.conf'))) {
      await expect(file.content).toMatchFileSnapshot(`./${name}/vars/${goldenName(file.path).split('/').pop()!}`);
    }
  });
});
