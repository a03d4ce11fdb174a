import { describe, expect, it } from 'vitest';
import { checkExternalRoutes } from '../../../../src/doctor/checks/external-routes.js';
import type { DirectoryEntry } from '../../../../src/model/snapshot.js';
import { domain } from '../../../helpers/builders.js';
import { doctorContext, MBOX, PROXY } from '../../../helpers/doctor-context.js';

describe('checkExternalRoutes', () => {
  const external = domain('ext.example.com', { zimbraReverseProxyUseExternalRoute: 'TRUE' });

  it('passes when nothing routes to an external server', () => {
    expect(
      checkExternalRoutes(doctorContext({}, [PROXY, MBOX], [domain('example.com')])).map(
        (f) => f.severity,
      ),
    ).toEqual(['ok']);
  });

  it('warns about XOIP and ID while a domain routes to an external server', () => {
    const findings = checkExternalRoutes(
      doctorContext({ zimbraReverseProxySendPop3Xoip: 'TRUE' }, [PROXY, MBOX], [external]),
    );
    expect(findings.map((f) => [f.severity, f.subject])).toEqual([
      ['warn', 'zimbraReverseProxySendPop3Xoip'],
      ['warn', 'zimbraReverseProxySendImapId'],
    ]);
    expect(findings[0]?.evidence).toContain('domain ext.example.com routes to an external server');
    expect(findings[0]?.fix).toBe(
      'zmprov mcf zimbraReverseProxySendPop3Xoip FALSE && zmproxyconfgen && zmproxyctl reload',
    );
  });

  it('sees an account with an external route too, and passes once both are off', () => {
    const account: DirectoryEntry = {
      dn: 'uid=u,ou=people,dc=example,dc=com',
      kind: 'account',
      attrs: {
        zimbraMailDeliveryAddress: ['u@example.com'],
        zimbraReverseProxyUseExternalRoute: ['TRUE'],
      },
    };
    const off = { zimbraReverseProxySendPop3Xoip: 'FALSE', zimbraReverseProxySendImapId: 'FALSE' };
    const findings = checkExternalRoutes(doctorContext(off, [PROXY, MBOX], [], [account]));
    expect(findings.map((f) => f.severity)).toEqual(['ok', 'ok']);
    expect(findings[0]?.evidence).toContain('account u@example.com');
  });

  it('does not warn with the stock template set, which never sends XOIP or ID', () => {
    const ctx = doctorContext({}, [PROXY, MBOX], [external]);
    const stock = checkExternalRoutes(ctx, { ok: true, dir: '/t', set: 'stock', templates: [] });
    expect(stock.map((f) => f.severity)).toEqual(['ok']);
    expect(stock[0]?.evidence).toContain('never sends POP3 XOIP or IMAP ID');
    const zimbra = checkExternalRoutes(ctx, { ok: true, dir: '/t', set: 'zimbra', templates: [] });
    expect(zimbra.map((f) => f.severity)).toEqual(['warn', 'warn']);
  });
});
