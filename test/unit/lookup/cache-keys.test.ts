import { describe, expect, it } from 'vitest';
import {
  aliasIpKey,
  aliasVhostKey,
  allowedIpsKeyOf,
  computePurgeKeys,
  dnKeyOf,
  routeIdKey,
  routeUserKey,
  throttleIpKey,
  throttleUserKey,
} from '../../../src/lookup/cache-keys.js';

describe('memcached keys (docs/zimbra-notes.md "Memcached keys")', () => {
  it("writes Zimbra's formats", () => {
    expect(routeUserKey('imap', 'u@d.test')).toBe('route:proto=imap;user=u@d.test');
    expect(routeUserKey('pop3', 'u', '10.0.0.1')).toBe('route:proto=pop3;user=u@10.0.0.1');
    expect(routeIdKey('httpssl', 'abc')).toBe('route:proto=httpssl;id=abc');
    expect(routeIdKey('httpssl', 'abc', true)).toBe('route:proto=httpssl;admin=1;id=abc');
    expect(aliasIpKey('u', '10.0.0.1')).toBe('alias:user=u;ip=10.0.0.1');
    expect(aliasVhostKey('u', 'mail.d.test')).toBe('alias:user=u;vhost=mail.d.test');
    expect(throttleIpKey('imap', '192.0.2.1')).toBe('throttle:proto=i,ip=192.0.2.1');
    expect(throttleIpKey('pop3', '192.0.2.1')).toBe('throttle:proto=p,ip=192.0.2.1');
    expect(throttleUserKey('u@d.test')).toBe('throttle:user=u@d.test');
    expect(dnKeyOf('route:proto=imap;user=u@d.test')).toBe('zmproxy:dn=user=u@d.test');
    expect(allowedIpsKeyOf('route:proto=pop3;user=u@d.test')).toBe(
      'zmproxy:allowedips=user=u@d.test',
    );
  });

  it('escapes spaces and control characters as nginx does', () => {
    expect(routeUserKey('imap', 'a b%\n@d.test')).toBe('route:proto=imap;user=a%20b%25%0A@d.test');
  });

  it('purges every route and alias of an account, its aliases and VIPs', () => {
    const keys = computePurgeKeys({
      account: 'u@d.test',
      id: 'id-1',
      otherNames: ['x@d.test'],
      vips: ['10.0.0.5'],
      virtualHosts: ['mail.d.test'],
    });
    expect(keys).toContain('route:proto=imapssl;user=u@d.test');
    expect(keys).toContain('route:proto=http;user=u');
    expect(keys).toContain('route:proto=pop3;user=u@10.0.0.5');
    expect(keys).toContain('alias:user=u;ip=d.test');
    expect(keys).toContain('alias:user=u;ip=10.0.0.5');
    expect(keys).toContain('alias:user=x;vhost=mail.d.test');
    expect(keys).toContain('route:proto=httpssl;admin=1;id=id-1');
    expect(keys).toContain('zmproxy:dn=user=u@d.test');
    expect(keys).toContain('zmproxy:allowedips=user=u@d.test');
    expect(keys).toContain('zmproxy:allowedips=id=id-1');
    expect(new Set(keys).size).toBe(keys.length);
  });
});
