import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectCtlStatus } from '../../../src/cli/ctl-status-json.js';

let work = '';
afterEach(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('zmproxyctl status --json', () => {
  it("reports the served generation's fleet identity and the last run", async () => {
    work = mkdtempSync(join(tmpdir(), 'zmproxy-ctl-status-'));
    mkdirSync(join(work, 'conf/nginx/generations/4'), { recursive: true });
    writeFileSync(
      join(work, 'conf/nginx/generations/4/zmproxy-generation.json'),
      JSON.stringify({
        id: '4',
        hash: 'files',
        createdAt: 0,
        server: 'proxy1.example.com',
        counts: {},
        revision: 'csn:20261206000000.000000Z#000000#000#000000',
        directoryHash: 'abc',
      }),
    );
    writeFileSync(
      join(work, 'conf/nginx/zmproxy-status.json'),
      JSON.stringify({ outcome: 'error', lastRunAt: 2000, lastSuccessAt: 1000, lastError: 'x' }),
    );
    expect(await collectCtlStatus(work, 42, '4')).toEqual({
      running: true,
      pid: 42,
      generation: '4',
      server: 'proxy1.example.com',
      revision: 'csn:20261206000000.000000Z#000000#000#000000',
      configHash: 'abc',
      filesHash: 'files',
      lastOutcome: 'error',
      lastRunAt: '1970-01-01T00:00:02.000Z',
      lastSuccessAt: '1970-01-01T00:00:01.000Z',
      lastError: 'x',
    });
  });

  it('answers nulls for a work directory that never published', async () => {
    work = mkdtempSync(join(tmpdir(), 'zmproxy-ctl-status-'));
    const status = await collectCtlStatus(work, undefined, undefined);
    expect(status).toMatchObject({ running: false, generation: null, configHash: null });
  });
});
