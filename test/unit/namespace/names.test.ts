import { describe, expect, it } from 'vitest';
import {
  NAMESPACE_PREFIX,
  canonicalAddress,
  eui64LinkLocal,
  namespaceName,
  normalizeMac,
  parseCidr,
  vethNames,
} from '../../../src/namespace/index.js';

describe('neutron names', () => {
  const net = '76af9baf-9fa4-4631-8f1d-5610ef87a036';

  it('names the namespace ovnmeta-<network id>', () => {
    expect(namespaceName(net)).toBe('ovnmeta-76af9baf-9fa4-4631-8f1d-5610ef87a036');
    expect(namespaceName(net).startsWith(NAMESPACE_PREFIX)).toBe(true);
  });

  it("names the veth pair tap + first 10 characters + 0/1, as neutron's example", () => {
    expect(vethNames(net)).toEqual({ root: 'tap76af9baf-90', inside: 'tap76af9baf-91' });
    expect(vethNames(net).root).toHaveLength(14); // fits IFNAMSIZ - 1
  });
});

describe('eui64LinkLocal (RFC 4291 Appendix A)', () => {
  it.each([
    ['fa:16:3e:9d:cc:52', 'fe80::f816:3eff:fe9d:cc52'],
    ['FA:16:3E:00:00:10', 'fe80::f816:3eff:fe00:10'],
    ['00:00:00:00:00:00', 'fe80::200:ff:fe00:0'],
    ['02:00:00:00:00:01', 'fe80::ff:fe00:1'], // universal/local bit flips back to 0
    ['52:54:00:12:34:56', 'fe80::5054:ff:fe12:3456'],
  ])('%s -> %s', (mac, ll) => {
    expect(eui64LinkLocal(mac)).toBe(ll);
  });

  it('refuses what is not a MAC-48 with a coded, terminal error', () => {
    for (const bad of ['fa:16:3e:9d:cc', 'fa-16-3e-9d-cc-52', 'fa:16:3e:9d:cc:5g', '']) {
      expect(() => eui64LinkLocal(bad)).toThrow(
        expect.objectContaining({ code: 'NETNS_INVALID_DESIRED', retryable: false }),
      );
    }
  });

  it('normalizes MAC case', () => {
    expect(normalizeMac('FA:16:3E:9D:CC:52')).toBe('fa:16:3e:9d:cc:52');
    expect(normalizeMac('fa:16:3e:9d:cc')).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it.each([
    ['169.254.169.254/32', '169.254.169.254/32', 4],
    ['172.16.100.2/24', '172.16.100.2/24', 4],
    ['0.0.0.0/0', '0.0.0.0/0', 4],
    ['FE80::A9FE:A9FE/128', 'fe80::a9fe:a9fe/128', 6],
    ['fe80:0:0:0:f816:3eff:fe9d:cc52/64', 'fe80::f816:3eff:fe9d:cc52/64', 6],
    ['2001:db8:0:0:1:0:0:1/64', '2001:db8::1:0:0:1/64', 6], // first of equal runs (RFC 5952 §4.2.3)
    ['2001:0db8:0000:0001:0000:0000:0000:0001/48', '2001:db8:0:1::1/48', 6], // longest run
    ['2001:db8:0:1:1:1:1:1/64', '2001:db8:0:1:1:1:1:1/64', 6], // a single zero group stays (§4.2.2)
    ['::/0', '::/0', 6],
    ['::1/128', '::1/128', 6],
    ['1::/16', '1::/16', 6],
    ['::ffff:10.0.0.1/128', '::ffff:a00:1/128', 6],
    ['64:ff9b::192.0.2.33/96', '64:ff9b::c000:221/96', 6],
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
    '1:2:3:4:5:6:7:8:9/64',
    '1:2:3:4:5:6:7/64',
    'fe80::g/64',
    '12345::/16',
    '::1.2.3/128',
    '',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('canonicalizes a bare address the way iproute2 prints it', () => {
    expect(canonicalAddress('FE80:0::A9FE:A9FE')).toBe('fe80::a9fe:a9fe');
    expect(canonicalAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('nope')).toBeUndefined();
  });
});
