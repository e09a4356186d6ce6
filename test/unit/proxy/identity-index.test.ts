import { describe, expect, it } from 'vitest';

import { IdentityIndex, type PortIdentity } from '../../../src/proxy/index.js';

const port = (over: Partial<PortIdentity> = {}): PortIdentity => ({
  key: 'vm1',
  network: 'net1',
  mac: 'fa:16:3e:00:00:10',
  ips: ['10.0.0.5', '2001:db8::5'],
  instanceId: 'inst-1',
  projectId: 'proj-1',
  bound: true,
  ...over,
});

const found = (instanceId: string, key = 'vm1') => ({
  kind: 'found',
  instanceId,
  projectId: 'proj-1',
  port: key,
});

describe('IdentityIndex', () => {
  it('finds a bound port by IPv4, IPv6 in any spelling and IPv4-mapped IPv6', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    expect(index.lookup('net1', '10.0.0.5')).toEqual(found('inst-1'));
    expect(index.lookup('net1', '::ffff:10.0.0.5')).toEqual(found('inst-1'));
    expect(index.lookup('net1', '2001:DB8:0:0::5')).toEqual(found('inst-1'));
    expect(index.lookup('net1', '2001:db8::5')).toEqual(found('inst-1'));
  });

  it('scopes addresses to their network', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    index.upsertPort(port({ key: 'vm2', network: 'net2', instanceId: 'inst-2' }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual(found('inst-1'));
    expect(index.lookup('net2', '10.0.0.5')).toEqual(found('inst-2', 'vm2'));
    expect(index.lookup('net3', '10.0.0.5')).toEqual({ kind: 'none' });
  });

  it('matches an IPv6 link-local source by the MAC in its EUI-64 interface id', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:10')).toEqual(found('inst-1'));
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:10%tap1')).toEqual(found('inst-1'));
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:11')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', 'fe80::5')).toEqual({ kind: 'none' });
  });

  it('follows an IP change: the old address stops matching', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    index.upsertPort(port({ ips: ['10.0.0.6'] }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', '2001:db8::5')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', '10.0.0.6')).toEqual(found('inst-1'));
  });

  it('follows a MAC change for link-local lookups', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    index.upsertPort(port({ mac: 'fa:16:3e:00:00:11' }));
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:10')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:11')).toEqual(found('inst-1'));
  });

  it('matches only bound ports, and again after a rebind', () => {
    const index = new IdentityIndex();
    index.upsertPort(port({ bound: false }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'none' });
    index.upsertPort(port({ bound: true }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual(found('inst-1'));
    index.upsertPort(port({ bound: false }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', 'fe80::f816:3eff:fe00:10')).toEqual({ kind: 'none' });
    expect(index.size).toBe(1);
  });

  it('moves a port between networks', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    index.upsertPort(port({ network: 'net2' }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'none' });
    expect(index.lookup('net2', '10.0.0.5')).toEqual(found('inst-1'));
  });

  it('forgets a removed port, and tolerates unknown keys', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    expect(index.removePort('vm1')).toBe(true);
    expect(index.removePort('vm1')).toBe(false);
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'none' });
    expect(index.size).toBe(0);
  });

  it('reports every owner when several bound ports share an address', () => {
    const index = new IdentityIndex();
    index.upsertPort(port({ key: 'b' }));
    index.upsertPort(port({ key: 'a', instanceId: 'inst-2' }));
    expect(index.lookup('net1', '10.0.0.5')).toEqual({ kind: 'ambiguous', ports: ['a', 'b'] });
    index.removePort('a');
    expect(index.lookup('net1', '10.0.0.5')).toEqual(found('inst-1', 'b'));
  });

  it('rejects malformed input with a coded error and keeps the previous entry', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    expect(() => index.upsertPort(port({ ips: ['10.0.0.7', 'not-an-ip'] }))).toThrow(
      expect.objectContaining({ code: 'PROXY_INVALID_PORT', port: 'vm1', retryable: false }),
    );
    expect(() => index.upsertPort(port({ mac: 'zz' }))).toThrow(
      expect.objectContaining({ code: 'PROXY_INVALID_PORT' }),
    );
    expect(index.lookup('net1', '10.0.0.5')).toEqual(found('inst-1'));
    expect(index.lookup('net1', '10.0.0.7')).toEqual({ kind: 'none' });
  });

  it('answers malformed sources with none', () => {
    const index = new IdentityIndex();
    index.upsertPort(port());
    expect(index.lookup('net1', 'garbage')).toEqual({ kind: 'none' });
    expect(index.lookup('net1', '')).toEqual({ kind: 'none' });
  });

  // Timing is bench/ material; this checks that 100k ports index and resolve.
  it('holds 100k ports across 1,000 networks and finds every one', () => {
    const index = new IdentityIndex();
    for (let i = 0; i < 100_000; i++) {
      index.upsertPort(
        port({
          key: `p${i}`,
          network: `n${i % 1000}`,
          ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
          mac: '02:00:00:00:00:01',
        }),
      );
    }
    let hits = 0;
    for (let i = 0; i < 100_000; i++) {
      if (index.lookup(`n${i % 1000}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).kind === 'found')
        hits++;
    }
    expect(hits).toBe(100_000);
  });
});
