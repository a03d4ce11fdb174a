import { describe, expect, it } from 'vitest';
import { ProxyConfError } from '../../../src/errors.js';
import type { DirectoryEntry, EntryKind } from '../../../src/model/snapshot.js';
import { EMPTY_GLOBAL_CONFIG } from '../../../src/model/snapshot.js';
import { buildSnapshot } from '../../../src/model/build-snapshot.js';

/** An entry of `kind` read from `file:line`. */
function entry(
  kind: EntryKind,
  attrs: Record<string, string>,
  line: number,
  file = 'a.ldif',
): DirectoryEntry {
  const values = Object.fromEntries(Object.entries(attrs).map(([name, value]) => [name, [value]]));
  return { dn: `cn=e${line}`, kind, attrs: values, origin: { file, line } };
}

function buildError(entries: DirectoryEntry[]): ProxyConfError {
  try {
    buildSnapshot(entries);
  } catch (error) {
    if (error instanceof ProxyConfError) return error;
    throw error;
  }
  throw new Error('expected buildSnapshot to throw');
}

const names = (entries: readonly DirectoryEntry[], attr: string): (string | undefined)[] =>
  entries.map((e) => e.attrs[attr]?.[0]);

describe('buildSnapshot', () => {
  it('uses the empty global config when the directory has none', () => {
    const snapshot = buildSnapshot([]);
    expect(snapshot.globalConfig).toBe(EMPTY_GLOBAL_CONFIG);
    expect(snapshot.servers).toEqual([]);
  });

  it('puts each kind of entry in its list', () => {
    const gc = entry('globalConfig', {}, 1);
    const snapshot = buildSnapshot([
      entry('cos', { cn: 'default' }, 5),
      gc,
      entry('server', { cn: 's1' }, 10),
      entry('domain', { zimbraDomainName: 'example.com' }, 20),
      entry('account', { zimbraMailDeliveryAddress: 'a@example.com' }, 30),
      entry('alias', { uid: 'al' }, 40),
    ]);
    expect(snapshot.globalConfig).toBe(gc);
    expect(snapshot.servers).toHaveLength(1);
    expect(snapshot.domains).toHaveLength(1);
    expect(snapshot.accounts).toHaveLength(1);
    expect(snapshot.aliases).toHaveLength(1);
    expect(snapshot.cos).toHaveLength(1);
  });

  it('sorts servers by cn without regard to case, then exactly', () => {
    const snapshot = buildSnapshot([
      entry('server', { cn: 'b.example.com' }, 1),
      entry('server', { cn: 'A.example.com' }, 2),
      entry('server', { cn: 'a.example.net' }, 3),
      entry('server', { cn: 'C.example.com' }, 4),
    ]);
    expect(names(snapshot.servers, 'cn')).toEqual([
      'A.example.com',
      'a.example.net',
      'b.example.com',
      'C.example.com',
    ]);
  });

  it('sorts domains by zimbraDomainName and accounts by name', () => {
    const snapshot = buildSnapshot([
      entry('domain', { zimbraDomainName: 'zeta.test' }, 1),
      entry('domain', { zimbraDomainName: 'alpha.test' }, 2),
      entry('account', { zimbraMailDeliveryAddress: 'z@alpha.test' }, 3),
      entry('account', { zimbraMailDeliveryAddress: 'b@alpha.test' }, 4),
    ]);
    expect(names(snapshot.domains, 'zimbraDomainName')).toEqual(['alpha.test', 'zeta.test']);
    expect(names(snapshot.accounts, 'zimbraMailDeliveryAddress')).toEqual([
      'b@alpha.test',
      'z@alpha.test',
    ]);
  });

  it('rejects two global config entries, naming both origins', () => {
    const error = buildError([
      entry('globalConfig', {}, 3, 'one.ldif'),
      entry('globalConfig', {}, 7, 'two.ldif'),
    ]);
    expect(error.code).toBe('E_LDIF');
    expect(error.message).toBe(
      'two.ldif:7: a second global config entry (cn=e7); the first is at one.ldif:3 (cn=e3)',
    );
    expect(error.hint).toBeDefined();
  });

  it('rejects two servers with the same cn in different case, naming both origins', () => {
    const error = buildError([
      entry('server', { cn: 'mail.example.com' }, 4),
      entry('server', { cn: 'MAIL.example.com' }, 12, 'b.ldif'),
    ]);
    expect(error.message).toBe(
      'b.ldif:12: server "MAIL.example.com" is defined twice; the first is at a.ldif:4',
    );
  });

  it('rejects two domains with the same zimbraDomainName, naming both origins', () => {
    const error = buildError([
      entry('domain', { zimbraDomainName: 'example.com' }, 4),
      entry('domain', { zimbraDomainName: 'example.com' }, 9),
    ]);
    expect(error.message).toBe(
      'a.ldif:9: domain "example.com" is defined twice; the first is at a.ldif:4',
    );
  });

  it('names an entry by its DN when it has no origin', () => {
    const server = (dn: string): DirectoryEntry => ({
      dn,
      kind: 'server',
      attrs: { cn: ['s'] },
    });
    expect(buildError([server('cn=s,x'), server('cn=s,y')]).message).toBe(
      'cn=s,y: server "s" is defined twice; the first is at cn=s,x',
    );
  });
});
