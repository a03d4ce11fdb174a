import { describe, expect, it } from 'vitest';
import { changedPaths, compareWithDisk, planChanges } from '../../../src/plan/plan-changes.js';

describe('change planning', () => {
  it('calls a file changed when only its mode differs, where the mode is known', () => {
    const file = { content: 'key\n', mode: 0o600 };
    expect(compareWithDisk(file, { content: 'key\n', mode: 0o644 })).toBe('changed');
    expect(compareWithDisk(file, { content: 'key\n', mode: 0o600 })).toBe('unchanged');
    expect(compareWithDisk(file, { content: 'key\n' })).toBe('unchanged');
    expect(compareWithDisk(file, undefined)).toBe('created');
  });

  it('lists created, changed and removed paths, sorted', () => {
    const planned = [
      { path: 'b.conf', content: 'same\n', mode: 0o644 },
      { path: 'c.key', content: 'k\n', mode: 0o600 },
      { path: 'a.conf', content: 'new\n', mode: 0o644 },
    ];
    const current = new Map([
      ['b.conf', { content: 'same\n', mode: 0o644 }],
      ['c.key', { content: 'k\n', mode: 0o644 }],
      ['old.conf', { content: 'gone\n', mode: 0o644 }],
    ]);
    expect(changedPaths(planned, current)).toEqual(['a.conf', 'c.key', 'old.conf']);
  });

  it('pairs planned files with disk for --diff and --check', () => {
    const changes = planChanges(
      [
        { path: 'x', content: '1\n', mode: 0o644 },
        { path: 'y', content: '2\n', mode: 0o644 },
      ],
      new Map([['x', '1\n']]),
    );
    expect(changes.map((change) => change.status)).toEqual(['unchanged', 'created']);
  });
});
