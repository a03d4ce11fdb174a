import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../../src/errors.js';
import {
  TEMPLATE_SET_MARKER,
  ZIMBRA_INCLUDE_TEMPLATES,
  readTemplates,
} from '../../../src/writer/template-store.js';
import { testdir } from '../../helpers/testdir.js';

/** A directory holding Zimbra's 36 template names (one line each), plus `extra` files. */
function zimbraSet(extra: Record<string, string> = {}, prefix = 'nginx.conf'): string {
  const files: Record<string, string> = { [`${prefix}.template`]: 'main\n', ...extra };
  for (const name of ZIMBRA_INCLUDE_TEMPLATES) files[`${prefix}.${name}.template`] = `${name}\n`;
  return testdir(files);
}

describe('readTemplates: which templates are rendered', () => {
  it("renders Zimbra's list of 36 in Zimbra's order from a directory without the marker", async () => {
    const templates = await readTemplates(zimbraSet(), 'nginx.conf');
    expect(templates).toHaveLength(36);
    expect(templates.slice(0, 4).map((t) => t.name)).toEqual([
      'nginx.conf.template',
      'nginx.conf.main.template',
      'nginx.conf.memcache.template',
      'nginx.conf.zmlookup.template',
    ]);
    expect(templates.at(-1)?.name).toBe('nginx.conf.onlyoffice.upstream.template');
  });

  it('leaves other files of a Zimbra set alone, as ProxyConfGen does', async () => {
    const dir = zimbraSet({
      'nginx.conf.custom.template': 'x\n',
      'nginx.conf.list.template.hbs': 'y',
    });
    const names = (await readTemplates(dir, 'nginx.conf')).map((t) => t.name);
    expect(names).not.toContain('nginx.conf.custom.template');
    expect(names).not.toContain('nginx.conf.list.template.hbs');
  });

  it('refuses a Zimbra set with a template missing, naming it and the marker', async () => {
    const dir = zimbraSet();
    rmSync(join(dir, 'nginx.conf.docs.common.template'));
    const error: unknown = await readTemplates(dir, 'nginx.conf').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProxyConfError);
    const { message, hint } = error as ProxyConfError;
    expect(message).toContain(
      '1 of the 36 templates ProxyConfGen renders is missing: nginx.conf.docs.common.template',
    );
    expect(hint).toContain(TEMPLATE_SET_MARKER);
  });

  it('follows the template prefix (-P) for the list', async () => {
    const templates = await readTemplates(zimbraSet({}, 'alt.conf'), 'alt.conf');
    expect(templates[0]?.name).toBe('alt.conf.template');
    expect(templates).toHaveLength(36);
  });

  it('scans a directory with the marker: every template of the prefix, main first', async () => {
    const dir = testdir({
      [TEMPLATE_SET_MARKER]: '',
      'nginx.conf.web.template': 'w\n',
      'nginx.conf.template': 'm\n',
      'nginx.conf.list.template.hbs': '{{x}}\n',
      'other.conf.template': 'o\n',
    });
    expect((await readTemplates(dir, 'nginx.conf')).map((t) => t.name)).toEqual([
      'nginx.conf.template',
      'nginx.conf.list.template.hbs',
      'nginx.conf.web.template',
    ]);
  });

  it('marks the bundled stock set as a scanned set', async () => {
    const templates = await readTemplates(
      new URL('../../../templates', import.meta.url).pathname,
      'nginx.conf',
    );
    expect(templates.map((t) => t.name)).toContain('nginx.conf.web.route.template');
  });
});

describe('readTemplates: text', () => {
  it('refuses invalid UTF-8 with the file and line', async () => {
    const dir = testdir({ [TEMPLATE_SET_MARKER]: '', 'nginx.conf.template': '' });
    writeFileSync(
      join(dir, 'nginx.conf.template'),
      Buffer.concat([Buffer.from('line one\nline two '), Buffer.from([0xed, 0xa0, 0x80, 0x0a])]),
    );
    await expect(readTemplates(dir, 'nginx.conf')).rejects.toMatchObject({
      message: `${join(dir, 'nginx.conf.template')}:2: the template is not valid UTF-8`,
    });
  });

  it('keeps a byte order mark and multi-byte text as they are', async () => {
    const dir = testdir({ [TEMPLATE_SET_MARKER]: '', 'nginx.conf.template': '\ufeff# café ✓\n' });
    expect((await readTemplates(dir, 'nginx.conf'))[0]?.text).toBe('\ufeff# café ✓\n');
  });
});
