import { readFileSync, statSync, chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLdifStore } from '../../../../src/sources/ldif-store/index.js';
import { readLdifSnapshot } from '../../../../src/sources/ldif/read-ldif.js';
import { testdir } from '../../../helpers/testdir.js';

const EXAMPLE = readFileSync(
  new URL('../../../../fixtures/example/directory.ldif', import.meta.url),
  'utf8',
);
const MBOX1 = 'cn=mbox1.example.com,cn=servers,cn=zimbra';

describe('createLdifStore', () => {
  it('loads the same snapshot as the LDIF source', async () => {
    const file = join(testdir({ 'dir.ldif': EXAMPLE }), 'dir.ldif');
    expect(await createLdifStore(file).load()).toEqual(await readLdifSnapshot([file]));
  });

  it('writes a modification back, keeping the file mode and leaving no temp file', async () => {
    const dir = testdir({ 'dir.ldif': EXAMPLE });
    const file = join(dir, 'dir.ldif');
    chmodSync(file, 0o640);
    const store = createLdifStore(file);
    await store.modify([
      {
        dn: MBOX1,
        changes: [{ operation: 'replace', attribute: 'zimbraMailMode', values: ['both'] }],
      },
    ]);
    const snapshot = await store.load();
    expect(snapshot.servers[0]?.attrs['zimbraMailMode']).toEqual(['both']);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['dir.ldif']);
    expect(readFileSync(file, 'utf8')).toBe(
      EXAMPLE.replace(
        'zimbraServerVersionMinor: 1\nzimbraMailMode: https\n\ndn: cn=mbox2',
        'zimbraServerVersionMinor: 1\nzimbraMailMode: both\n\ndn: cn=mbox2',
      ),
    );
    await store.close();
  });

  it('leaves the file byte-identical when a DN is unknown', async () => {
    const file = join(testdir({ 'dir.ldif': EXAMPLE }), 'dir.ldif');
    const before = statSync(file);
    await expect(
      createLdifStore(file).modify([
        {
          dn: MBOX1,
          changes: [{ operation: 'replace', attribute: 'zimbraMailMode', values: ['both'] }],
        },
        {
          dn: 'cn=ghost,cn=servers,cn=zimbra',
          changes: [{ operation: 'replace', attribute: 'zimbraMailMode', values: ['x'] }],
        },
      ]),
    ).rejects.toThrow(/no entry "cn=ghost/);
    expect(readFileSync(file, 'utf8')).toBe(EXAMPLE);
    expect(statSync(file).mtimeMs).toBe(before.mtimeMs);
  });

  it('says which file is missing', async () => {
    const file = join(testdir(), 'missing.ldif');
    await expect(createLdifStore(file).modify([{ dn: MBOX1, changes: [] }])).rejects.toThrow(
      /missing\.ldif: no such file/,
    );
  });
});
