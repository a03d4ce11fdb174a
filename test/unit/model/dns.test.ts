import { describe, expect, it } from 'vitest';
import { hostPort, javaHostPort, javaIpv6Text } from '../../../src/model/dns.js';

describe("javaHostPort: ProxyConfGen's text for a resolved address", () => {
  it.each([
    ['2001:db8::60', '2001:db8:0:0:0:0:0:60'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1%eth0'],
    ['2001:0DB8:0000::0001', '2001:db8:0:0:0:0:0:1'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0:0:0:c000:221'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1::', '1:0:0:0:0:0:0:0'],
  ])('writes %s as %s', (address, java) => {
    expect(javaIpv6Text(address)).toBe(java);
  });

  it('brackets IPv6, leaves IPv4 bare, and writes an IPv4-mapped address as IPv4', () => {
    expect(javaHostPort({ address: '2001:db8::60', family: 6 }, 11211)).toBe(
      '[2001:db8:0:0:0:0:0:60]:11211',
    );
    expect(javaHostPort('192.0.2.1', 7072)).toBe('192.0.2.1:7072');
    expect(javaHostPort('::ffff:192.0.2.1', 7072)).toBe('192.0.2.1:7072');
    // hostPort (used where Zimbra writes names, not resolved addresses) keeps the short form.
    expect(hostPort('2001:db8::60', 1)).toBe('[2001:db8::60]:1');
  });
});
