import { describe, expect, it } from 'vitest';
import { checkImapId } from '../../../../src/doctor/checks/imap-id.js';
import { MBOX, PROXY, doctorContext } from '../../../helpers/doctor-context.js';

describe('checkImapId', () => {
  it('passes the stock set when the directory does not ask for ID', () => {
    const findings = checkImapId(doctorContext({}, [PROXY, MBOX]), 'stock');
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
    expect(findings[0]?.evidence).toContain('BAD');
  });

  it("warns with the stock set when ID is asked for; Zimbra's set answers ID itself", () => {
    const ctx = doctorContext(
      {
        zimbraReverseProxyImapEnabledCapability: ['IMAP4rev1', 'ID', 'IDLE'],
        zimbraReverseProxyImapExposeVersionOnBanner: 'TRUE',
      },
      [PROXY, MBOX],
    );
    const [finding] = checkImapId(ctx, 'stock');
    expect(finding?.severity).toBe('warn');
    expect(finding?.evidence).toContain('zimbraReverseProxyImapEnabledCapability lists ID');
    expect(finding?.fix).toBe(
      'zmprov mcf -zimbraReverseProxyImapEnabledCapability ID && zmprov mcf zimbraReverseProxyImapExposeVersionOnBanner FALSE',
    );
    expect(checkImapId(ctx, 'zimbra').map((f) => f.severity)).toEqual(['ok']);
  });

  it('says nothing is proxied when IMAP is off', () => {
    const ctx = doctorContext(
      {
        zimbraReverseProxyImapEnabledCapability: ['ID'],
        zimbraReverseProxyMailImapEnabled: 'FALSE',
        zimbraReverseProxyMailImapsEnabled: 'FALSE',
      },
      [PROXY, MBOX],
    );
    expect(checkImapId(ctx, 'stock')[0]?.evidence).toBe('this proxy serves no IMAP');
  });
});
