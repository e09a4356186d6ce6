// The one address module, on data. Expected IPv6 text is what glibc's
// inet_ntop (and so iproute2) prints, checked on this kind of machine.
import { describe, expect, it } from 'vitest';
import {
  canonicalHostIp,
  canonicalIp,
  canonicalMac,
  canonicalPeerIp,
  cidrContains,
  cidrNetwork,
  eui64LinkLocal,
  formatHostPort,
  formatIpValue,
  ipFamily,
  ipValue,
  linkLocalMac,
  nthAddress,
  parseCidr,
} from '../../../src/common/address.js';

describe('canonicalIp', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0000:0000:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs (RFC 5952 §4.2.3)
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group stays (§4.2.2)
    ['FE80:0::A9FE:A9FE', 'fe80::a9fe:a9fe'],
    ['::', '::'],
    ['::1', '::1'],
    ['::2', '::2'],
    ['1::', '1::'],
    // glibc inet_ntop's dotted tails: IPv4-mapped and -compatible only
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['0:0:0:0:0:ffff:1:2', '::ffff:0.1.0.2'],
    ['::10.0.0.1', '::10.0.0.1'],
    ['::0.1.0.0', '::0.1.0.0'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
    expect(ipFamily(text)).toBe(text.includes(':') ? 6 : 4);
  });

  it.each([
    '',
    '10.0.0',
    '10.0.0.256',
    '10.0.0.5.1',
    '010.0.0.5', // inet_aton would read octal: refused everywhere
    '0x0a.0.0.1',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    'fe80:::1',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7',
    '::1.2.3',
    '::ffff:10.0.0.300',
    'fe80::1%eth0', // a zone is a host's business: canonicalHostIp
  ])('rejects %j', (text) => {
    expect(canonicalIp(text)).toBeUndefined();
    expect(ipFamily(text)).toBeUndefined();
  });
});

describe('canonicalHostIp and canonicalPeerIp (identity comparisons)', () => {
  it.each([
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::FFFF:a00:5', '10.0.0.5'],
    ['0:0:0:0:0:ffff:10.0.0.5', '10.0.0.5'],
    ['fe80::f816:3eff:fe00:10%eth0', 'fe80::f816:3eff:fe00:10'],
    ['fe80::1%', 'fe80::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['10.0.0.5', '10.0.0.5'],
  ])('%s -> %s', (text, host) => {
    expect(canonicalHostIp(text)).toBe(host);
    expect(canonicalPeerIp(text)).toBe(host);
  });

  it('refuses what canonicalIp refuses', () => {
    expect(canonicalHostIp('010.0.0.5')).toBeUndefined();
    expect(canonicalHostIp('1::2::3%eth0')).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it.each([
    ['169.254.169.254/32', '169.254.169.254/32', 4],
    ['172.16.100.2/24', '172.16.100.2/24', 4], // host bits kept, as the kernel reports them
    ['0.0.0.0/0', '0.0.0.0/0', 4],
    ['FE80::A9FE:A9FE/128', 'fe80::a9fe:a9fe/128', 6],
    ['fe80:0:0:0:f816:3eff:fe9d:cc52/64', 'fe80::f816:3eff:fe9d:cc52/64', 6],
    ['2001:0db8:0000:0001:0000:0000:0000:0001/48', '2001:db8:0:1::1/48', 6],
    ['::/0', '::/0', 6],
    ['::ffff:10.0.0.1/128', '::ffff:10.0.0.1/128', 6],
  ])('%s -> %s', (text, canonical, family) => {
    expect(parseCidr(text)).toMatchObject({ text: canonical, family });
  });

  it.each([
    '169.254.169.254',
    '169.254.169.254/33',
    '256.1.1.1/24',
    '01.2.3.4/8',
    '1.2.3/24',
    '1.2.3.4/-1',
    '1.2.3.4/ 24',
    'fe80::1/129',
    'fe80:::1/64',
    '1::2::3/64',
    '::1.2.3/128',
    '',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('subnet arithmetic (neutron IPAM: .1 gateway, .2 metadata)', () => {
  it('IPv4', () => {
    const c = cidrNetwork(parseCidr('172.16.100.77/24')!);
    expect(c.text).toBe('172.16.100.0/24');
    expect(nthAddress(c, 2)).toBe('172.16.100.2');
    expect(nthAddress(parseCidr('172.16.100.77/24')!, 10)).toBe('172.16.100.10');
    expect(cidrContains(c, '172.16.100.255')).toBe(true);
    expect(cidrContains(c, nthAddress(c, 256))).toBe(false);
    expect(cidrContains(c, 'fd00::1')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, '203.0.113.9')).toBe(true);
    expect(cidrContains(c, 'nope')).toBe(false);
  });

  it('IPv6', () => {
    const c = cidrNetwork(parseCidr('fd00:77::5/64')!);
    expect(c.text).toBe('fd00:77::/64');
    expect(nthAddress(c, 0x20)).toBe('fd00:77::20');
    expect(cidrContains(c, 'fd00:77::ffff:1')).toBe(true);
    expect(cidrContains(c, 'fd00:78::1')).toBe(false);
    expect(formatIpValue(ipValue('1:2:3:4:5:6:7:8')!)).toBe('1:2:3:4:5:6:7:8');
    expect(formatIpValue({ family: 6, value: 0n })).toBe('::');
  });
});

describe('MACs and EUI-64 (RFC 4291 Appendix A)', () => {
  it.each([
    ['fa:16:3e:9d:cc:52', 'fe80::f816:3eff:fe9d:cc52'],
    ['FA:16:3E:00:00:10', 'fe80::f816:3eff:fe00:10'],
    ['00:00:00:00:00:00', 'fe80::200:ff:fe00:0'],
    ['00:00:00:00:00:01', 'fe80::200:ff:fe00:1'],
    ['02:00:00:00:00:01', 'fe80::ff:fe00:1'], // universal/local bit flips back to 0
    ['52:54:00:12:34:56', 'fe80::5054:ff:fe12:3456'],
  ])('%s -> %s and back', (mac, ll) => {
    expect(eui64LinkLocal(mac)).toBe(ll);
    expect(linkLocalMac(ll)).toBe(mac.toLowerCase());
  });

  it('is undefined for what is not a MAC-48 or not an EUI-64 link-local', () => {
    for (const bad of ['fa:16:3e:9d:cc', 'fa-16-3e-9d-cc-52', 'fa:16:3e:9d:cc:5g', 'FA:16:3E:0:0:A', ''])
      expect([bad, eui64LinkLocal(bad), canonicalMac(bad)]).toEqual([bad, undefined, undefined]);
    for (const other of ['2001:db8::f816:3eff:fe00:10', 'fe80::1', 'fe80::a9fe:a9fe', '10.0.0.1'])
      expect([other, linkLocalMac(other)]).toEqual([other, undefined]);
  });

  it('canonicalMac lowercases', () => {
    expect(canonicalMac('FA:16:3E:9D:CC:52')).toBe('fa:16:3e:9d:cc:52');
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6 hosts once (RFC 3986 §3.2.2)', () => {
    expect(formatHostPort('10.0.0.1', 8775)).toBe('10.0.0.1:8775');
    expect(formatHostPort('nova.example', 80)).toBe('nova.example:80');
    expect(formatHostPort('fe80::a9fe:a9fe', 80)).toBe('[fe80::a9fe:a9fe]:80');
    expect(formatHostPort('[2001:db8::1]', 443)).toBe('[2001:db8::1]:443');
  });
});
