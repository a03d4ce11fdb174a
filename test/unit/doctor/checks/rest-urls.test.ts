import { describe, expect, it } from 'vitest';
import { checkRestUrls } from '../../../../src/doctor/checks/rest-urls.js';
import { domain } from '../../../helpers/builders.js';
import { doctorContext, MBOX, PROXY } from '../../../helpers/doctor-context.js';

describe('checkRestUrls', () => {
  it('warns about a domain with a virtual host but no public service host name', () => {
    const findings = checkRestUrls(
      doctorContext(
        {},
        [PROXY, MBOX],
        [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      ),
    );
    expect(findings[0]?.severity).toBe('warn');
    expect(findings[0]?.fix).toBe(
      'zmprov md example.com zimbraPublicServiceHostname mail.example.com zimbraPublicServiceProtocol https',
    );
  });

  it('passes when the public service host name is set, here inherited from the global config', () => {
    const findings = checkRestUrls(
      doctorContext(
        { zimbraPublicServiceHostname: 'mail.example.com' },
        [PROXY, MBOX],
        [domain('example.com', { zimbraVirtualHostname: 'mail.example.com' })],
      ),
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok']);
  });
});
