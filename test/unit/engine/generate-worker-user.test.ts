import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_TEMPLATE_DIR } from '../../../src/cli/zmproxyconfgen.js';
import { generate } from '../../../src/engine/generate.js';
import { ProblemsError } from '../../../src/errors.js';
import { resolveHostnames } from '../../../src/sources/dns/resolve-hostnames.js';
import { readLdifSnapshot } from '../../../src/sources/ldif/index.js';
import { createTemplateStore } from '../../../src/writer/template-store.js';

const SCENARIO = new URL('../../../fixtures/scenarios/single-server/', import.meta.url).pathname;

function render(localConfig: Record<string, string>, userExists?: (name: string) => boolean) {
  const options = JSON.parse(readFileSync(join(SCENARIO, 'options.json'), 'utf8')) as {
    localconfig: Record<string, string>;
    hosts: Record<string, string[]>;
  };
  const hosts = new Map(Object.entries(options.hosts));
  return generate(
    { paths: { workdir: '/opt/zimbra', templateDir: BUNDLED_TEMPLATE_DIR } },
    {
      source: {
        description: 'single-server',
        load: (kinds, attributes) =>
          readLdifSnapshot([join(SCENARIO, 'input.ldif')], kinds, attributes),
      },
      localConfig: new Map(Object.entries({ ...options.localconfig, ...localConfig })),
      templates: createTemplateStore(),
      resolver: { resolve: (names) => resolveHostnames(names, { hosts, hostsOnly: true }) },
      files: { exists: () => Promise.resolve(false) },
      userExists:
        userExists === undefined ? undefined : (name) => Promise.resolve(userExists(name)),
    },
  );
}

const mainFile = (files: readonly { path: string; content: string }[]) =>
  files.find((file) => file.path.endsWith('/nginx.conf.main'))?.content ?? '';

describe("generate: the user nginx's workers run as", () => {
  it('writes the user directive for an existing zimbra_user', async () => {
    const generation = await render({ zimbra_user: 'zimbra' }, (name) => name === 'zimbra');
    expect(mainFile(generation.files)).toMatch(/^user {14}zimbra nogroup;$/m);
  });

  it('refuses a zimbra_user that does not exist, with the fix, and writes nothing', async () => {
    const failed = await render({ zimbra_user: 'zimbra' }, () => false).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(ProblemsError);
    const [problem] = (failed as ProblemsError).problems;
    expect(problem?.subject).toBe('zimbra_user');
    expect(problem?.hint).toContain('useradd --system zimbra');
  });

  it('does not ask without zimbra_user, or without a host to ask (a render for another host)', async () => {
    const asked: string[] = [];
    const generation = await render({}, (name) => {
      asked.push(name);
      return false;
    });
    expect(asked).toEqual([]);
    expect(mainFile(generation.files)).toMatch(/^#user /m);
    await expect(render({ zimbra_user: 'zimbra' })).resolves.toBeDefined();
  });
});
