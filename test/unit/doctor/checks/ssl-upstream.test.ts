import { describe, expect, it } from 'vitest';
import { checkSslUpstream } from '../../../../src/doctor/checks/ssl-upstream.js';
import { mailboxServer, server } from '../../../helpers/builders.js';
import { doctorContext, MBOX, PROXY } from '../../../helpers/doctor-context.js';

describe('checkSslUpstream', () => {
  it('passes TLS to an https upstream', () => {
    const findings = checkSslUpstream(
      doctorContext(
        { zimbraReverseProxySSLToUpstreamEnabled: 'TRUE', zimbraReverseProxyMailEnabled: 'FALSE' },
        [PROXY, MBOX],
      ),
    );
    expect(findings.filter((f) => f.subject !== 'stock nginx').map((f) => f.severity)).toEqual([
      'ok',
    ]);
  });

  it('fails a proxy mail mode zmproxyconfig refuses with SSL to upstream', () => {
    const proxy = server('proxy1.example.com', {
      zimbraServiceEnabled: 'proxy',
      zimbraReverseProxyMailMode: 'both',
    });
    const findings = checkSslUpstream(
      doctorContext({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [proxy, MBOX]),
    );
    const failure = findings.find((f) => f.severity === 'fail');
    expect(failure?.fix).toBe('zmprov ms proxy1.example.com zimbraReverseProxyMailMode https');
  });

  it('fails an http-mode upstream under TLS, and an https-mode upstream without it', () => {
    const http = mailboxServer('mbox1.example.com', { zimbraMailMode: 'http' });
    expect(
      checkSslUpstream(
        doctorContext({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [PROXY, http]),
      ).find((f) => f.severity === 'fail')?.fix,
    ).toBe('zmprov ms mbox1.example.com zimbraMailMode both && zmmailboxdctl restart');
    expect(
      checkSslUpstream(
        doctorContext({ zimbraReverseProxySSLToUpstreamEnabled: 'FALSE' }, [PROXY, MBOX]),
      ).find((f) => f.severity === 'fail')?.evidence,
    ).toContain('zimbraMailMode of upstream mbox1.example.com is https');
  });

  it('reports what stock nginx cannot do for mail', () => {
    const findings = checkSslUpstream(
      doctorContext({ zimbraReverseProxySSLToUpstreamEnabled: 'TRUE' }, [PROXY, MBOX]),
    );
    expect(
      findings.some(
        (f) =>
          f.subject === 'stock nginx' &&
          f.evidence.includes('over TLS without checking their certificates'),
      ),
    ).toBe(true);
  });
});
