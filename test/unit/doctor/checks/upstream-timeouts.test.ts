import { describe, expect, it } from 'vitest';
import { checkUpstreamTimeouts } from '../../../../src/doctor/checks/upstream-timeouts.js';
import { context, globalConfig, mailboxServer, snapshot } from '../../../helpers/builders.js';

function ctx(global: Record<string, string>, mbox2: Record<string, string> = {}) {
  return context({
    snapshot: snapshot({
      globalConfig: globalConfig(global),
      servers: [mailboxServer('mbox1.example.com'), mailboxServer('mbox2.example.com', mbox2)],
    }),
  }).ctx;
}

describe('checkUpstreamTimeouts', () => {
  it('passes when no upstream failure was seen', () => {
    const findings = checkUpstreamTimeouts(ctx({ zimbraMailProxyMaxFails: '1' }), { seen: [] });
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });

  it('suggests 0 and 0 where the values are set, then a reload, when failures were seen', () => {
    const findings = checkUpstreamTimeouts(
      ctx(
        { zimbraMailProxyReconnectTimeout: '10', zimbraMailProxyMaxFails: '1' },
        { zimbraMailProxyReconnectTimeout: '30' },
      ),
      { seen: ['3 × HTTP 502 in the logs'] },
    );
    expect(findings[0]?.severity).toBe('warn');
    expect(findings[0]?.evidence).toContain('3 × HTTP 502 in the logs');
    expect(findings[0]?.fix).toBe(
      'zmprov mcf zimbraMailProxyReconnectTimeout 0 zimbraMailProxyMaxFails 0 && zmprov ms mbox2.example.com zimbraMailProxyReconnectTimeout 0 && zmproxyconfgen && zmproxyctl reload',
    );
  });

  it('passes when failures were seen but the passive health check is already off', () => {
    const findings = checkUpstreamTimeouts(
      ctx({ zimbraMailProxyReconnectTimeout: '0', zimbraMailProxyMaxFails: '0' }),
      { seen: ['mbox1.example.com unreachable'] },
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });
});
