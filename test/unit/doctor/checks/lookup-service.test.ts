import { describe, expect, it } from 'vitest';
import { checkLookupService } from '../../../../src/doctor/checks/lookup-service.js';
import { readLookupTopology } from '../../../../src/model/lookup-topology.js';

const topology = (keys: Record<string, string> = {}) =>
  readLookupTopology((key) => keys[key] ?? '').topology;

describe('checkLookupService', () => {
  it('fails a local service that does not answer, with the command that starts it', () => {
    const [finding] = checkLookupService({
      topology: topology(),
      workdir: '/opt/zimbra',
      health: [{ url: 'http://127.0.0.1:7077', error: 'ECONNREFUSED' }],
      authHttp: undefined,
    });
    expect(finding).toMatchObject({
      severity: 'fail',
      subject: 'lookup service http://127.0.0.1:7077',
      evidence: 'GET http://127.0.0.1:7077/healthz: ECONNREFUSED',
      fix: 'zmproxyctl start-lookup -w /opt/zimbra',
    });
  });

  it('fails when nginx answers logins with "temporarily unavailable", and passes a real answer', () => {
    const base = {
      topology: topology(),
      workdir: '/w',
      health: [{ url: 'http://127.0.0.1:7077', error: undefined }],
    };
    const down = checkLookupService({
      ...base,
      authHttp: { listen: '127.0.0.1:7079', status: 'Login service temporarily unavailable' },
    });
    expect(down.map((f) => f.severity)).toEqual(['ok', 'fail']);
    expect(down[1]?.fix).toBe('zmproxyctl start-lookup -w /w && zmproxyconfgen --apply -w /w');
    const refused = checkLookupService({
      ...base,
      authHttp: { listen: '127.0.0.1:7079', error: 'ECONNREFUSED' },
    });
    expect(refused[1]?.fix).toBe('zmproxyctl start -w /w');
    const up = checkLookupService({
      ...base,
      authHttp: { listen: '127.0.0.1:7079', status: 'LOGIN failed' },
    });
    expect(up.map((f) => f.severity)).toEqual(['ok', 'ok']);
  });

  it("leaves Zimbra's lookup extension to the other checks", () => {
    expect(
      checkLookupService({
        topology: topology({ zmproxy_lookup_servers: 'nle' }),
        workdir: '/w',
        health: [],
        authHttp: undefined,
      }),
    ).toEqual([]);
  });
});
