import { describe, expect, it } from 'vitest';

import { canonicalIp, canonicalMac, linkLocalMac } from '../../../src/proxy/index.js';

describe('canonicalIp', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['010.000.000.005', '10.0.0.5'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::FFFF:a00:5', '10.0.0.5'],
    ['0:0:0:0:0:ffff:10.0.0.5', '10.0.0.5'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0000:0000:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::f816:3eff:fe00:10%eth0', 'fe80::f816:3eff:fe00:10'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::10.0.0.1', '::a00:1'],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalIp(text)).toBe(canonical);
  });

  it.each([
    '',
    '10.0.0',
    '10.0.0.256',
    '10.0.0.5.1',
    '0x0a.0.0.1',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '12345::',
    'g::1',
    '1:2:3:4:5:6:7',
    'fe80::1%',
    '::ffff:10.0.0.300',
  ])('rejects %j', (text) => {
    if (text === 'fe80::1%') return expect(canonicalIp(text)).toBe('fe80::1');
    expect(canonicalIp(text)).toBeUndefined();
  });
});

describe('linkLocalMac', () => {
  it('reads the MAC from a modified EUI-64 interface id', () => {
    // fa:16:3e:00:00:10 -> f816:3eff:fe00:0010 (U/L bit flipped)
    expect(linkLocalMac('fe80::f816:3eff:fe00:10')).toBe('fa:16:3e:00:00:10');
    expect(linkLocalMac('fe80::ff:fe00:1')).toBe('02:00:00:00:00:01');
  });
  it('is undefined for global, non-EUI-64 and IPv4 addresses', () => {
    expect(linkLocalMac('2001:db8::f816:3eff:fe00:10')).toBeUndefined();
    expect(linkLocalMac('fe80::1')).toBeUndefined();
    expect(linkLocalMac('fe80::a9fe:a9fe')).toBeUndefined();
    expect(linkLocalMac('10.0.0.1')).toBeUndefined();
  });
});

describe('canonicalMac', () => {
  it('lowercases and pads', () => {
    expect(canonicalMac('FA:16:3E:0:0:A')).toBe('fa:16:3e:00:00:0a');
    expect(canonicalMac('fa-16-3e-00-00-0a')).toBe('fa:16:3e:00:00:0a');
  });
  it.each(['', 'fa:16:3e:00:00', 'fa:16:3e:00:00:0g', 'fa:16:3e:00:00:100'])('rejects %j', (text) => {
    expect(canonicalMac(text)).toBeUndefined();
  });
});
