import { describe, expect, it } from 'vitest';
import { checkOriginatingIpHeader } from '../../../../src/doctor/checks/originating-ip-header.js';
import { LOCALCONFIG_DEFAULTS } from '../../../../src/model/localconfig-defaults.js';

const KEY = 'zimbra_http_originating_ip_header';

describe('checkOriginatingIpHeader', () => {
  it("passes Zimbra's default, X-Forwarded-For (any case)", () => {
    expect(LOCALCONFIG_DEFAULTS[KEY]).toBe('X-Forwarded-For');
    expect(checkOriginatingIpHeader(() => 'X-Forwarded-For')[0]?.severity).toBe('ok');
    expect(checkOriginatingIpHeader(() => 'x-forwarded-for')[0]?.severity).toBe('ok');
  });

  it('warns about another header, with the zmlocalconfig fix', () => {
    const [finding] = checkOriginatingIpHeader((key) => (key === KEY ? 'X-Real-IP' : ''));
    expect(finding?.severity).toBe('warn');
    expect(finding?.evidence).toContain('X-Real-IP');
    expect(finding?.fix).toBe(
      'zmlocalconfig -e zimbra_http_originating_ip_header=X-Forwarded-For && zmmailboxdctl restart',
    );
  });
});
