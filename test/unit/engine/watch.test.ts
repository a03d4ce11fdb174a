import { applyResult } from '../../helpers/builders.js';
import { describe, expect, it } from 'vitest';
import type { ApplyResult } from '../../../src/engine/apply.js';
import { runWatch } from '../../../src/engine/watch.js';
import { ProblemsError, ProxyConfError } from '../../../src/errors.js';

const result = applyResult;

/** Runs the loop on a fake clock until `passes` passes ran or `until` ms passed. */
async function watch(options: {
  outcomes: (n: number, now: number) => ApplyResult;
  fingerprint: (now: number) => string | Error;
  until: number;
  force?: number[];
  afterPass?: () => Promise<void>;
}) {
  let now = 0;
  const stop = new AbortController();
  const passes: {
    at: number;
    reason: unknown;
    outcome: unknown;
    line: Record<string, unknown>;
  }[] = [];
  let trigger: (() => void) | undefined;
  const forces = [...(options.force ?? [])];
  await runWatch(
    {
      intervalMs: 1000,
      fullIntervalMs: 60_000,
      minBackoffMs: 1000,
      maxBackoffMs: 8000,
      signal: stop.signal,
    },
    {
      pass: () => Promise.resolve(options.outcomes(passes.length + 1, now)),
      fingerprint: () => {
        const value = options.fingerprint(now);
        return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
      },
      clock: {
        now: () => now,
        sleep: (ms) => {
          now += ms;
          if (forces.length > 0 && now >= (forces[0] ?? Infinity)) {
            forces.shift();
            trigger?.();
          }
          if (now >= options.until) stop.abort();
          return Promise.resolve();
        },
      },
      log: (line) =>
        passes.push({ at: now, reason: line['reason'], outcome: line['outcome'], line }),
      onForce: (fn) => {
        trigger = fn;
      },
      ...(options.afterPass === undefined ? {} : { afterPass: options.afterPass }),
    },
  );
  return passes;
}

describe('runWatch', () => {
  it('keeps running when the after-pass hook (the metrics file) fails', async () => {
    const passes = await watch({
      outcomes: () => result('unchanged'),
      fingerprint: (now) => (now < 5000 ? 'a' : 'b'),
      until: 10_000,
      afterPass: () => Promise.reject(new Error('EACCES')),
    });
    expect(passes.filter((p) => p.reason !== undefined).map((p) => p.reason)).toEqual([
      'forced',
      'inputs-changed',
    ]);
  });

  it('runs a pass at start and then only when the fingerprint changes', async () => {
    const passes = await watch({
      outcomes: () => result('unchanged'),
      fingerprint: (now) => (now < 5000 ? 'a' : 'b'),
      until: 10_000,
    });
    expect(passes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'forced'],
      [5000, 'inputs-changed'],
    ]);
  });

  it('retries a failing pass with exponential backoff, keeping nothing else to do', async () => {
    const passes = await watch({
      outcomes: () => result('directory-unavailable'),
      fingerprint: () => new Error('ldap down'),
      until: 20_000,
    });
    expect(passes.map((p) => p.at)).toEqual([0, 1000, 3000, 7000, 15_000]);
  });

  it('publishes a deferred change when the reload interval allows it', async () => {
    const passes = await watch({
      outcomes: (n, now) =>
        n === 1 ? result('deferred', { retryAt: now + 2500 }) : result('reloaded'),
      fingerprint: () => 'a',
      until: 5000,
    });
    expect(passes.map((p) => [p.at, p.outcome])).toEqual([
      [0, 'deferred'],
      [2500, 'reloaded'],
    ]);
  });

  it('runs a pass at once when forced (SIGHUP)', async () => {
    const passes = await watch({
      outcomes: () => result('unchanged'),
      fingerprint: () => 'a',
      until: 5000,
      force: [3000],
    });
    expect(passes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'forced'],
      [3000, 'forced'],
    ]);
  });

  it('runs at the next poll, not after the backoff, when the inputs change after failures', async () => {
    // Five failures bring the backoff to 8 s; the admin fixes the value at 20.5 s.
    const passes = await watch({
      outcomes: (_n, now) => (now < 20_500 ? result('validation-failed') : result('reloaded')),
      fingerprint: (now) => (now < 20_500 ? 'bad' : 'fixed'),
      until: 30_000,
    });
    expect(passes.map((p) => [p.at, p.reason, p.outcome])).toEqual([
      [0, 'forced', 'validation-failed'],
      [1000, 'retry', 'validation-failed'],
      [3000, 'retry', 'validation-failed'],
      [7000, 'retry', 'validation-failed'],
      [15_000, 'retry', 'validation-failed'],
      [21_000, 'inputs-changed', 'reloaded'],
    ]);
  });

  it('catches LDAP coming back within one interval, however long the backoff grew', async () => {
    // LDAP is down from 2 s to 32.5 s: the probe throws, passes find the directory unavailable.
    const down = (now: number): boolean => now >= 2000 && now < 32_500;
    const passes = await watch({
      outcomes: (_n, now) =>
        down(now)
          ? result('directory-unavailable', {
              error: new ProxyConfError('E_LDAP_CONNECT', 'connect ECONNREFUSED'),
            })
          : result('unchanged'),
      fingerprint: (now) => (down(now) ? new Error('connect ECONNREFUSED') : 'same'),
      until: 40_000,
    });
    const back = passes.find((p) => p.at >= 32_500);
    expect(back).toMatchObject({ at: 33_000, outcome: 'unchanged' });
    // The backoff had grown past one interval meanwhile (8 s cap): passes got rarer.
    const failing = passes.filter((p) => p.outcome === 'directory-unavailable').map((p) => p.at);
    expect(failing.at(-1)! - failing.at(-2)!).toBe(8000);
  });

  it('catches the directory coming back even when its fingerprint is the one that failed', async () => {
    // A pass fails reading LDAP while the probe still answered; then the probe fails too; when
    // LDAP is back the fingerprint is unchanged, and the pass still runs at the next poll.
    const passes = await watch({
      outcomes: (_n, now) =>
        now < 25_200
          ? result('directory-unavailable', {
              error: new ProxyConfError('E_LDAP_CONNECT', 'connect ECONNREFUSED'),
            })
          : result('unchanged'),
      fingerprint: (now) =>
        now > 500 && now < 25_200 ? new Error('connect ECONNREFUSED') : 'same',
      until: 30_000,
    });
    expect(passes.find((p) => p.at >= 25_200)).toMatchObject({ at: 26_000, outcome: 'unchanged' });
  });

  it('logs every problem of a failed render and its reason, not only their number', async () => {
    const problems = [
      { subject: 'zimbraMailProxyPort', entry: 'server a', message: 'not a port', value: 'x' },
      { subject: 'zimbraImapProxyBindPort', entry: 'server a', message: 'not a port', value: 'y' },
    ];
    const error = new ProblemsError(problems);
    const passes = await watch({
      outcomes: () => result('error', { error, message: error.message }),
      fingerprint: () => 'a',
      until: 500,
    });
    const line = passes[0]!.line;
    expect(line['failure']).toBe('E_ATTR_INVALID');
    expect(line['problems']).toEqual([
      'zimbraMailProxyPort on server a: not a port (got "x")',
      'zimbraImapProxyBindPort on server a: not a port (got "y")',
    ]);
    expect(line['message']).toContain('2 problems found: zimbraMailProxyPort on server a');
    expect(line['message']).toContain('zimbraImapProxyBindPort');
  });
});
