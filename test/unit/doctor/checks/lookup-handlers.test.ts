import { describe, expect, it } from 'vitest';
import { checkLookupHandlers } from '../../../../src/doctor/checks/lookup-handlers.js';
import {
  context,
  dnsTable,
  globalConfig,
  mailboxServer,
  server,
  snapshot,
} from '../../../helpers/builders.js';

const DNS = dnsTable({
  'proxy1.example.com': ['10.0.0.1'],
  'mbox1.example.com': ['10.0.0.11'],
  'mta1.example.com': ['10.0.0.21'],
});

function run(parts: Parameters<typeof snapshot>[0]) {
  return checkLookupHandlers(context({ snapshot: snapshot(parts), dns: DNS }).ctx);
}

describe('checkLookupHandlers', () => {
  it('passes when every lookup target runs the mailbox service', () => {
    const findings = run({
      servers: [server('proxy1.example.com'), mailboxServer('mbox1.example.com')],
    });
    expect(findings.every((f) => f.severity === 'ok')).toBe(true);
    expect(findings[0]?.evidence).toContain(
      'https://10.0.0.11:7072/service/extension/nginx-lookup',
    );
  });

  it('fails a server that is a lookup target by its own value without the mailbox service', () => {
    const findings = run({
      servers: [
        server('proxy1.example.com'),
        mailboxServer('mbox1.example.com'),
        server('mta1.example.com', {
          zimbraServiceEnabled: 'mta',
          zimbraReverseProxyLookupTarget: 'TRUE',
        }),
      ],
    });
    const trap = findings.find((f) => f.subject === 'server mta1.example.com');
    expect(trap?.severity).toBe('warn');
    expect(trap?.fix).toBe('zmprov ms mta1.example.com zimbraReverseProxyLookupTarget FALSE');
  });

  it('blames the global config when the lookup target flag is inherited, pinning mailbox servers first', () => {
    const findings = run({
      globalConfig: globalConfig({ zimbraReverseProxyLookupTarget: 'TRUE' }),
      servers: [
        server('proxy1.example.com', { zimbraReverseProxyLookupTarget: 'FALSE' }),
        mailboxServer('mbox1.example.com', { zimbraReverseProxyLookupTarget: [] }),
        server('mta1.example.com', { zimbraServiceEnabled: 'mta' }),
      ],
    });
    const trap = findings.find((f) => f.subject === 'global config');
    expect(trap?.severity).toBe('warn');
    expect(trap?.evidence).toContain('inherited by mta1.example.com');
    expect(trap?.fix).toBe(
      'zmprov ms mbox1.example.com zimbraReverseProxyLookupTarget TRUE && zmprov mcf zimbraReverseProxyLookupTarget FALSE',
    );
  });

  it('fails when no lookup handler is left', () => {
    const findings = run({
      servers: [
        server('proxy1.example.com'),
        mailboxServer('mbox1.example.com', { zimbraReverseProxyLookupTarget: 'FALSE' }),
      ],
    });
    const empty = findings.find((f) => f.severity === 'fail');
    expect(empty?.evidence).toContain('no server is a lookup target');
    expect(empty?.fix).toBe('zmprov ms mbox1.example.com zimbraReverseProxyLookupTarget TRUE');
  });

  it('says why garpu and the generator differ when a handler does not resolve', () => {
    const findings = run({
      servers: [
        server('proxy1.example.com'),
        mailboxServer('mbox1.example.com'),
        mailboxServer('mbox9.example.com'),
      ],
    });
    const garpu = findings.find((f) => f.subject === 'zmprov garpu');
    expect(garpu?.severity).toBe('warn');
    expect(garpu?.evidence).toContain(
      "only garpu lists mbox9.example.com (mbox9.example.com can't be resolved)",
    );
    expect(garpu?.fix).toContain('--hosts FILE');
  });
});
