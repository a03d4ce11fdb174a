import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileStore } from '../../../src/writer/file-store.js';
import { testdir } from '../../helpers/testdir.js';

describe('file store: the flat tree manifest', () => {
  it('does not read back what it wrote, and reads what changed behind its back', async () => {
    const dir = testdir();
    const manifest = join(dir, '.zmproxy-manifest.json');
    const planned = [
      { path: join(dir, 'a.conf'), content: 'a\n', mode: 0o644 },
      { path: join(dir, 'sub/b.conf'), content: 'b\n', mode: 0o644 },
    ];
    const first = createFileStore();
    expect([...(await first.readPlanned!(planned, manifest)).values()]).toEqual([
      undefined,
      undefined,
    ]);
    await first.writeMany(planned);
    await first.recordPlanned!(planned, manifest);
    expect(readFileSync(join(dir, 'sub/b.conf'), 'utf8')).toBe('b\n');

    // The edited file is read again; the other one comes from the manifest.
    const second = createFileStore();
    writeFileSync(join(dir, 'a.conf'), 'edited\n');
    const current = await second.readPlanned!(planned, manifest);
    expect(current.get(join(dir, 'a.conf'))).toBe('edited\n');
    expect(current.get(join(dir, 'sub/b.conf'))).toBe('b\n');

    // A damaged manifest vouches for nothing: every file is read.
    writeFileSync(manifest, 'not json');
    const third = await createFileStore().readPlanned!(planned, manifest);
    expect(third.get(join(dir, 'a.conf'))).toBe('edited\n');
  });
});
