import { describe, expect, it } from 'vitest';
import { checkTrustedIps } from '../../../../src/doctor/checks/trusted-ips.js';
import type { TemplateFacts } from '../../../../src/doctor/checks/trusted-ips.js';
import { mailboxServer } from '../../../helpers/builders.js';
import { doctorContext, MBOX, PROXY } from '../../../helpers/doctor-context.js';

describe('checkTrustedIps', () => {
  const templates: TemplateFacts = {
    ok: true,
    dir: '/t',
    set: 'stock',
    templates: [
      {
        name: 'nginx.conf.web.template',
        path: '/t/x',
        text: 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      },
    ],
  };

  it('passes when every proxy address is trusted and the templates send X-Forwarded-For', () => {
    const findings = checkTrustedIps(
      doctorContext(
        {
          zimbraMailTrustedIP: ['127.0.0.1', '10.0.0.0/24'],
          zimbraReverseProxyHttpEnabled: 'TRUE',
        },
        [PROXY, MBOX],
      ),
      templates,
    );
    expect(findings.map((f) => f.severity)).toEqual(['ok', 'ok']);
  });

  it("warns about a proxy missing from a server's own list, with the ms fix", () => {
    const mbox = mailboxServer('mbox1.example.com', { zimbraMailTrustedIP: '127.0.0.1' });
    const findings = checkTrustedIps(
      doctorContext({ zimbraMailTrustedIP: '10.0.0.1' }, [PROXY, mbox]),
      templates,
    );
    expect(findings[0]?.subject).toBe('server mbox1.example.com');
    expect(findings[0]?.evidence).toContain('10.0.0.1 (proxy1.example.com) missing');
    expect(findings[0]?.fix).toBe(
      'zmprov ms mbox1.example.com +zimbraMailTrustedIP 10.0.0.1 && zmmailboxdctl restart',
    );
  });

  it('warns when the web templates do not send X-Forwarded-For', () => {
    const findings = checkTrustedIps(
      doctorContext({ zimbraMailTrustedIP: '10.0.0.1', zimbraReverseProxyHttpEnabled: 'TRUE' }, [
        PROXY,
        MBOX,
      ]),
      {
        ok: true,
        dir: '/t',
        set: 'stock',
        templates: [{ name: 'nginx.conf.web.template', path: '/t/x', text: 'proxy_pass x;' }],
      },
    );
    expect(findings.find((f) => f.subject === 'X-Forwarded-For')?.severity).toBe('warn');
  });
});
