import { describe, expect, it } from 'vitest';
import { checkMailReferMode } from '../../../../src/doctor/checks/mail-refer-mode.js';
import { mailboxServer } from '../../../helpers/builders.js';
import { MBOX, PROXY, doctorContext } from '../../../helpers/doctor-context.js';

describe('checkMailReferMode', () => {
  it('passes reverse-proxied, the LDAP default of the global config', () => {
    const findings = checkMailReferMode(
      doctorContext({ zimbraMailReferMode: 'reverse-proxied' }, [PROXY, MBOX]),
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });

  it("warns when it is unset everywhere: mailboxd's code default is wronghost", () => {
    const [finding] = checkMailReferMode(doctorContext({}, [PROXY, MBOX]));
    expect(finding?.severity).toBe('warn');
    expect(finding?.subject).toBe('global config');
    expect(finding?.evidence).toContain('code default wronghost');
    expect(finding?.fix).toBe('zmprov mcf zimbraMailReferMode reverse-proxied');
  });

  it('flags a server set to wronghost and the global always, each with its own fix', () => {
    const wrong = mailboxServer('mbox2.example.com', { zimbraMailReferMode: 'wronghost' });
    const findings = checkMailReferMode(
      doctorContext({ zimbraMailReferMode: 'always' }, [PROXY, MBOX, wrong]),
    );
    expect(findings.map((f) => [f.severity, f.subject, f.fix])).toEqual([
      ['warn', 'global config', 'zmprov mcf zimbraMailReferMode reverse-proxied'],
      [
        'warn',
        'server mbox2.example.com',
        'zmprov ms mbox2.example.com zimbraMailReferMode reverse-proxied',
      ],
    ]);
    expect(findings[0]?.evidence).toBe(
      'zimbraMailReferMode is always in the global config, inherited by mailbox server mbox1.example.com',
    );
  });
});
