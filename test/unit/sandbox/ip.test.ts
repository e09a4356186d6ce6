import { describe, expect, test } from 'vitest';
import { contains, formatIp, linkLocalOf, nthAddress, parseCidr, parseIp } from '../../../src/sandbox/ip.js';

describe('sandbox address arithmetic', () => {
  test('IPv4 CIDRs normalise and allocate like neutron (.1 gateway, .2 metadata)', () => {
    const c = parseCidr('172.16.100.77/24');
    expect(c.text).toBe('172.16.100.0/24');
    expect(nthAddress(c, 2)).toBe('172.16.100.2');
    expect(nthAddress(c, 10)).toBe('172.16.100.10');
    expect(contains(c, '172.16.100.255')).toBe(true);
    expect(contains(c, nthAddress(c, 256))).toBe(false);
    expect(contains(c, 'fd00::1')).toBe(false);
  });

  test('IPv6 parse and RFC 5952 formatting', () => {
    expect(parseCidr('fd00:77::5/64').text).toBe('fd00:77::/64');
    expect(formatIp(6, parseIp('2001:db8:0:0:1:0:0:1').value)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(6, parseIp('::').value)).toBe('::');
    expect(formatIp(6, parseIp('fe80::a9fe:a9fe').value)).toBe('fe80::a9fe:a9fe');
    expect(formatIp(6, parseIp('1:2:3:4:5:6:7:8').value)).toBe('1:2:3:4:5:6:7:8');
    expect(nthAddress(parseCidr('fd00:77::/64'), 0x20)).toBe('fd00:77::20');
  });

  test('EUI-64 link-local flips the universal/local bit (RFC 4291 appendix A)', () => {
    expect(linkLocalOf('fa:16:3e:9d:cc:52')).toBe('fe80::f816:3eff:fe9d:cc52');
    expect(linkLocalOf('00:00:00:00:00:01')).toBe('fe80::200:ff:fe00:1');
  });

  test('bad input is refused', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow('not a CIDR');
    expect(() => parseIp('10.0.0')).toThrow('not an IP address');
  });
});
