import { describe, expect, it } from 'vitest';
import { matchesAddress } from '../../../src/lookup/address-match.js';
import { computeLookupSettings } from '../../../src/lookup/settings.js';
import { isOverLimit, planIpThrottle, planUserThrottle } from '../../../src/lookup/throttle.js';

const settings = (attrs: Record<string, string[]>) =>
  computeLookupSettings(attrs).settings.throttle;

describe('login throttle (docs/zimbra-notes.md "Throttle")', () => {
  it('is off with the installed limits of 0', () => {
    const throttle = settings({});
    expect(planIpThrottle(throttle, 'imap', '192.0.2.1')).toBeUndefined();
    expect(planUserThrottle(throttle, 'imap', 'u@d')).toBeUndefined();
  });

  it("uses the protocol's own IP limit when above 0, else the general one", () => {
    const throttle = settings({
      zimbraReverseProxyIPLoginLimit: ['10'],
      zimbraReverseProxyIPLoginLimitTime: ['60'],
      zimbraReverseProxyIPLoginImapLimit: ['3'],
      zimbraReverseProxyIPLoginImapLimitTime: ['30'],
      zimbraReverseProxyIpThrottleMsg: ['go away'],
    });
    expect(planIpThrottle(throttle, 'imapssl', '192.0.2.1')).toEqual({
      kind: 'ip',
      key: 'throttle:proto=i,ip=192.0.2.1',
      max: 3,
      ttlSeconds: 30,
      message: 'go away',
    });
    expect(planIpThrottle(throttle, 'pop3', '192.0.2.1')).toMatchObject({
      max: 10,
      ttlSeconds: 60,
    });
    expect(planIpThrottle(throttle, 'http', '192.0.2.1')).toBeUndefined();
  });

  it('skips whitelisted addresses and CIDR blocks', () => {
    const throttle = settings({
      zimbraReverseProxyIPLoginLimit: ['1'],
      zimbraReverseProxyIPThrottleWhitelist: ['10.1.0.0/16', '2001:db8::1'],
    });
    expect(planIpThrottle(throttle, 'imap', '10.1.200.3')).toBeUndefined();
    expect(planIpThrottle(throttle, 'imap', '2001:db8:0::1')).toBeUndefined();
    expect(planIpThrottle(throttle, 'imap', '10.2.0.1')).toBeDefined();
  });

  it('allows up to the limit and rejects above it', () => {
    const check = planUserThrottle(
      settings({ zimbraReverseProxyUserLoginLimit: ['2'] }),
      'pop3',
      'U@D',
    );
    expect(check?.key).toBe('throttle:user=u@d');
    expect(isOverLimit(check!, 2)).toBe(false);
    expect(isOverLimit(check!, 3)).toBe(true);
  });
});

describe('matchesAddress', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses against CIDR blocks', () => {
    expect(matchesAddress('192.0.2.55', '192.0.2.0/24')).toBe(true);
    expect(matchesAddress('192.0.3.1', '192.0.2.0/24')).toBe(false);
    expect(matchesAddress('::ffff:192.0.2.9', '192.0.2.0/28')).toBe(true);
    expect(matchesAddress('2001:db8::abcd', '2001:db8::/32')).toBe(true);
    expect(matchesAddress('2001:db9::1', '2001:db8::/32')).toBe(false);
    expect(matchesAddress('not-an-ip', '0.0.0.0/0')).toBe(false);
  });
});
