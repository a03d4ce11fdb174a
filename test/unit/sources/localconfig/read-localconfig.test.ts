import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLocalConfig } from '../../../../src/sources/localconfig/read-localconfig.js';
import { tempFiles } from '../temp-files.js';

describe('readLocalConfig', () => {
  it('returns an empty localconfig when no file is given', async () => {
    expect((await readLocalConfig()).size).toBe(0);
  });

  it('reads and parses the file', async () => {
    const dir = await tempFiles({
      'localconfig.xml':
        '<?xml version="1.0" encoding="UTF-8"?>\n<localconfig>\n  <key name="zimbra_home">\n    <value>/srv/zimbra</value>\n  </key>\n</localconfig>\n',
    });
    const lc = await readLocalConfig(join(dir, 'localconfig.xml'));
    expect(lc.get('zimbra_home')).toBe('/srv/zimbra');
  });

  it('reports a parse error with the path and line', async () => {
    const dir = await tempFiles({ 'lc.xml': '<localconfig>\n<bad/>\n</localconfig>' });
    const file = join(dir, 'lc.xml');
    await expect(readLocalConfig(file)).rejects.toMatchObject({
      code: 'E_LOCALCONFIG',
      message: `${file}:2: unexpected element <bad> inside <localconfig> (only <key>)`,
    });
  });

  it('reports a missing file as an input error with a hint', async () => {
    const dir = await tempFiles({});
    const file = join(dir, 'localconfig.xml');
    await expect(readLocalConfig(file)).rejects.toMatchObject({
      code: 'E_INPUT',
      message: `${file}: no such file`,
      hint: expect.stringContaining('localconfig.xml') as unknown,
    });
  });
});
