/**
 * The fleet side of the rewrite loop: the canary decision, the directory config hash, the run
 * status and the fleet table.
 */
import { applyResult } from '../../helpers/builders.js';
import { describe, expect, it } from 'vitest';
import { renderGenerationMarker } from '../../../src/engine/apply.js';
import { createCanaryGate, decideCanary } from '../../../src/engine/canary.js';
import { computeDirectoryHash, computeFleetIdentity } from '../../../src/engine/fleet-identity.js';
import { formatFleetMetrics } from '../../../src/engine/fleet-metrics.js';
import {
  formatFleetTable,
  judgeFleet,
  proxyServerNames,
} from '../../../src/engine/fleet-report.js';
import { nextRunStatus } from '../../../src/engine/run-status.js';
import { servedIdentity } from '../../../src/engine/fleet-report.js';
import { ProblemsError } from '../../../src/errors.js';
import type { DirectoryEntry, DirectorySnapshot } from '../../../src/model/snapshot.js';

const entry = (dn: string, kind: DirectoryEntry['kind'], attrs: Record<string, string[]>) => ({
  dn,
  kind,
  attrs,
});

function snapshot(servers: DirectoryEntry[]): DirectorySnapshot {
  return {
    globalConfig: entry('cn=config,cn=zimbra', 'globalConfig', { zimbraMailProxyPort: ['80'] }),
    servers,
    domains: [],
    accounts: [],
    aliases: [],
    cos: [],
  };
}

const proxy = (name: string, extra: Record<string, string[]> = {}) =>
  entry(`cn=${name},cn=servers,cn=zimbra`, 'server', {
    cn: [name],
    zimbraServiceEnabled: ['proxy'],
    ...extra,
  });

describe('the directory config hash', () => {
  it('is the same for every proxy of one directory, whatever order the entries came in', () => {
    const a = snapshot([proxy('p1'), proxy('p2')]);
    const b = snapshot([proxy('p2'), proxy('p1')]);
    expect(computeDirectoryHash(a)).toBe(computeDirectoryHash(b));
    const one = computeFleetIdentity({ server: 'p1', snapshot: a }, undefined);
    const two = computeFleetIdentity({ server: 'p2', snapshot: b }, undefined);
    expect(one.directoryHash).toBe(two.directoryHash);
    expect(one.revision).toBe(`hash:${one.directoryHash.slice(0, 16)}`);
  });

  it('changes with any value of the global config, a server or a domain, not with entryCSN', () => {
    const base = computeDirectoryHash(snapshot([proxy('p1')]));
    expect(computeDirectoryHash(snapshot([proxy('p1', { zimbraMailProxyPort: ['81'] })]))).not.toBe(
      base,
    );
    expect(computeDirectoryHash(snapshot([proxy('p1', { entryCSN: ['2026…#000'] })]))).toBe(base);
  });
});

describe('the generation marker with a fleet identity', () => {
  it('keeps the plain id body and adds the JSON document, headers and the status file', () => {
    const text = renderGenerationMarker('7', '127.0.0.11:7078', {
      identity: { server: 'p1.example.com', revision: 'csn:2026#000', directoryHash: 'ab12' },
      statusFile: '/opt/zimbra/conf/nginx/zmproxy-status.json',
      publishedAt: 1000,
    });
    expect(text).toContain('return        200 "7\\n";');
    expect(text).toContain(
      'return        200 "{\\"generation\\":\\"7\\",\\"server\\":\\"p1.example.com\\",\\"revision\\":\\"csn:2026#000\\",\\"configHash\\":\\"ab12\\",\\"publishedAt\\":1000}\\n";',
    );
    expect(text).toContain('add_header    X-Zmproxy-Revision "csn:2026#000";');
    expect(text).toContain('alias         "/opt/zimbra/conf/nginx/zmproxy-status.json";');
  });

  it('never lets a server name with nginx syntax into the file', () => {
    const text = renderGenerationMarker('7', '127.0.0.1:7078', {
      identity: { server: 'evil"; return 500 "x', revision: 'r', directoryHash: 'h' },
      statusFile: '/s',
      publishedAt: 0,
    });
    expect(text).not.toContain('evil');
    expect(text).toContain('\\"server\\":\\"invalid\\"');
  });
});

describe('the canary decision', () => {
  const rendered = { server: 'p2', revision: 'csn:2', directoryHash: 'new' };
  const base = { self: 'p2', canary: 'p1', rendered, waitMs: 60_000, now: 100_000, pollMs: 1000 };

  it('lets the canary itself publish at once', () => {
    expect(decideCanary({ ...base, self: 'P1', observation: undefined }).publish).toBe(true);
  });

  it('holds while the canary serves another config hash or does not answer', () => {
    const other = decideCanary({
      ...base,
      observation: {
        reachable: true,
        configHash: 'old',
        publishedAt: 0,
        healthy: true,
        generation: '3',
      },
    });
    expect(other).toMatchObject({ publish: false, retryAt: 101_000 });
    expect(other.reason).toContain('waiting for canary p1: it serves config hash old');
    const down = decideCanary({
      ...base,
      observation: { reachable: false, error: 'ECONNREFUSED' },
    });
    expect(down).toMatchObject({ publish: false });
    expect(down.reason).toContain('ECONNREFUSED');
  });

  it('publishes once the canary served the same config hash, healthy, for the wait', () => {
    const serving = (publishedAt: number, healthy = true) =>
      decideCanary({
        ...base,
        observation: { reachable: true, configHash: 'new', publishedAt, healthy, generation: '4' },
      });
    expect(serving(70_000)).toMatchObject({ publish: false, retryAt: 101_000 });
    expect(serving(40_000).publish).toBe(true);
    expect(serving(40_000, false)).toMatchObject({ publish: false });
  });

  it('asks the probe through the gate, never for the canary itself', async () => {
    const asked: string[] = [];
    const gate = createCanaryGate({
      canary: 'p1',
      waitMs: 0,
      pollMs: 1000,
      now: () => 0,
      observe: (name) => {
        asked.push(name);
        return Promise.resolve({ reachable: false, error: 'timeout' });
      },
    });
    expect(await gate.check({ ...rendered, server: 'p1' })).toBeUndefined();
    expect(asked).toEqual([]);
    expect(await gate.check(rendered)).toMatchObject({ retryAt: 1000 });
    expect(asked).toEqual(['p1']);
  });
});

const result = applyResult;

describe('the run status and the failure metrics', () => {
  it('keeps every problem of a failed render and counts failures by reason and subject', () => {
    const error = new ProblemsError([
      { subject: 'zimbraMailProxyPort', entry: 'server p1', message: 'not a port', value: 'x' },
    ]);
    const identity = { server: 'p1', revision: 'csn:1', directoryHash: 'h' };
    const failed = nextRunStatus(
      undefined,
      result('error', { error, message: error.message }),
      identity,
      5,
    );
    expect(failed.lastError).toBe(
      '1 problem found: zimbraMailProxyPort on server p1: not a port (got "x")',
    );
    const again = nextRunStatus(
      failed,
      result('error', { error, message: error.message }),
      identity,
      6,
    );
    expect(again.failures).toEqual({ E_ATTR_INVALID: 2 });
    const metrics = formatFleetMetrics(undefined, again);
    expect(metrics).toContain('zmproxy_apply_render_failures_total{reason="E_ATTR_INVALID"} 2');
    expect(metrics).toContain(
      'zmproxy_apply_render_problems_total{subject="zimbraMailProxyPort"} 2',
    );
    const fixed = nextRunStatus(again, result('reloaded'), identity, 7);
    expect(fixed).toMatchObject({ lastSuccessAt: 7, outcome: 'reloaded' });
    expect(fixed.lastError).toBeUndefined();
    expect(fixed.failures).toEqual({ E_ATTR_INVALID: 2 });
  });

  it('moves the served identity with runs whose files stayed the same, not with held or failed ones', () => {
    const first = { server: 'p1', revision: 'csn:1', directoryHash: 'h1' };
    const second = { server: 'p1', revision: 'csn:2', directoryHash: 'h2' };
    const published = nextRunStatus(undefined, result('reloaded'), first, 10);
    expect(published).toMatchObject({ servedConfigHash: 'h1', servedSince: 10 });
    const held = nextRunStatus(published, result('canary-pending'), second, 20);
    expect(held).toMatchObject({ servedConfigHash: 'h1', servedSince: 10 });
    const same = nextRunStatus(held, result('unchanged'), second, 30);
    expect(same).toMatchObject({
      servedConfigHash: 'h2',
      servedRevision: 'csn:2',
      servedSince: 30,
    });
    const again = nextRunStatus(same, result('unchanged'), second, 40);
    expect(again.servedSince).toBe(30);
    expect(
      servedIdentity({ served: { configHash: 'old', publishedAt: 1 }, status: again }),
    ).toEqual({ configHash: 'h2', since: 30 });
    expect(
      servedIdentity({ served: { configHash: 'old', publishedAt: 1 }, status: undefined }),
    ).toEqual({ configHash: 'old', since: 1 });
  });

  it('labels the served generation with server, revision and config hash', () => {
    const text = formatFleetMetrics(
      {
        id: '3',
        hash: 'f',
        createdAt: 0,
        server: 'p1',
        counts: {},
        revision: 'csn:9',
        directoryHash: 'd',
      },
      undefined,
    );
    expect(text).toContain(
      'zmproxy_fleet_info{server="p1",generation="3",revision="csn:9",config_hash="d"} 1',
    );
  });
});

describe('the fleet table', () => {
  it('lists the servers with the proxy service enabled', () => {
    const mailbox = entry('cn=m,cn=servers,cn=zimbra', 'server', {
      cn: ['m'],
      zimbraServiceEnabled: ['mailbox'],
      zimbraServiceInstalled: ['proxy'],
    });
    expect(proxyServerNames([proxy('p2'), mailbox, proxy('p1')])).toEqual(['p1', 'p2']);
  });

  it('agrees only when every proxy answers with the same config hash', () => {
    const row = (server: string, configHash: string) => ({
      server,
      marker: `${server}:7078`,
      reachable: true,
      generation: '1',
      revision: 'csn:1',
      configHash,
      servedBy: server,
      lastSuccessAt: Date.UTC(2026, 0, 1),
    });
    const same = judgeFleet([row('p1', 'aaaa'), row('p2', 'aaaa')]);
    expect(same.agree).toBe(true);
    expect(formatFleetTable(same)).toContain('all 2 proxies serve config hash aaaa');
    const differ = judgeFleet([
      row('p1', 'aaaa'),
      row('p2', 'bbbb'),
      { server: 'p3', marker: 'p3:7078', reachable: false, lastError: 'ECONNREFUSED' },
    ]);
    expect(differ.agree).toBe(false);
    const text = formatFleetTable(differ);
    expect(text).toMatch(/^p3\s+unreachable/m);
    expect(text).toContain('the proxies serve 2 different directory config hashes');
    expect(text).toContain('p3: unreachable (ECONNREFUSED)');
  });
});
