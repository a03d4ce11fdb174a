import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  newestRevision,
  startDirectoryFollower,
} from '../../../../src/lookup/adapters/directory-follower.js';
import type {
  FollowReason,
  ProbeAnswer,
} from '../../../../src/lookup/adapters/directory-follower.js';

/** A follower whose probe answers from `answers` (an Error throws); timers off, ticks by hand. */
function follower(
  answers: (ProbeAnswer | Error)[],
  options: { safetyMs?: number; failChange?: () => boolean; initial?: ProbeAnswer } = {},
) {
  const calls: { revision: string | undefined; reason: FollowReason }[] = [];
  const lines: string[] = [];
  let i = 0;
  const running = startDirectoryFollower({
    probe: () => {
      const answer = answers[Math.min(i++, answers.length - 1)];
      return answer instanceof Error || answer === undefined
        ? Promise.reject(answer ?? new Error('none'))
        : Promise.resolve(answer);
    },
    // Long intervals: the test ticks by hand.
    intervalMs: 3_600_000,
    safetyMs: options.safetyMs ?? 0,
    initial: options.initial,
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    onChange: (revision, reason) => {
      if (options.failChange?.() === true) return Promise.reject(new Error('LDAP went away'));
      calls.push({ revision, reason });
      return Promise.resolve();
    },
  });
  onTestFinished(() => running.stop());
  return { running, calls, lines };
}

const at = (revision: string): ProbeAnswer => ({ fingerprint: revision, revision });

describe('startDirectoryFollower', () => {
  it('follows each new revision once', async () => {
    const { running, calls } = follower([at('r1'), at('r1'), at('r2')], { initial: at('r1') });
    await running.tick();
    await running.tick();
    expect(calls).toEqual([]);
    await running.tick();
    expect(calls).toEqual([{ revision: 'r2', reason: 'changed' }]);
    expect(running.revision()).toBe('r2');
  });

  it('tries again at the next tick when re-reading failed', async () => {
    let fail = true;
    const { running, calls, lines } = follower([at('r2')], {
      initial: at('r1'),
      failChange: () => fail,
    });
    await running.tick();
    expect(calls).toEqual([]);
    expect(running.revision()).toBe('r1');
    expect(lines.join('')).toMatch(/cannot re-read the directory after a change/);
    fail = false;
    await running.tick();
    expect(calls).toEqual([{ revision: 'r2', reason: 'changed' }]);
  });

  it('falls back to the safety refresh while the probe fails, and says so once', async () => {
    const down = new Error('connect ECONNREFUSED');
    const { running, calls, lines } = follower([down, down, at('r2')], {
      initial: at('r1'),
      safetyMs: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await running.tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await running.tick();
    expect(calls).toEqual([
      { revision: 'r1', reason: 'safety' },
      { revision: 'r1', reason: 'safety' },
    ]);
    expect(lines.filter((line) => line.includes('cannot probe the directory'))).toHaveLength(1);
    await running.tick();
    expect(calls.at(-1)).toEqual({ revision: 'r2', reason: 'changed' });
    expect(lines.join('')).toMatch(/answers again/);
  });

  it('without a safety refresh, a failing probe changes nothing', async () => {
    const { running, calls } = follower([new Error('down')], { initial: at('r1') });
    await running.tick();
    expect(calls).toEqual([]);
  });

  it('polls on its own at the interval', async () => {
    const calls: string[] = [];
    let n = 0;
    const running = startDirectoryFollower({
      probe: () => Promise.resolve(at(`r${++n}`)),
      intervalMs: 5,
      safetyMs: 0,
      logger: pino({ level: 'silent' }),
      onChange: (revision) => {
        calls.push(revision ?? '');
        return Promise.resolve();
      },
    });
    onTestFinished(() => running.stop());
    for (let i = 0; i < 200 && calls.length < 3; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    running.stop();
    expect(calls.slice(0, 3)).toEqual(['r1', 'r2', 'r3']);
  });
});

describe('newestRevision', () => {
  it('names the newest contextCSN, or keeps the fallback text', () => {
    expect(
      newestRevision(
        'csn:20261206001500.000001Z#000000#000#000000,20261206001700.000002Z#000000#001#000000',
      ),
    ).toBe('20261206001700.000002Z#000000#001#000000');
    expect(newestRevision('entries:12:20261206001500Z')).toBe('entries:12:20261206001500Z');
  });
});
