import { describe, expect, it } from 'vitest';
import { desiredNetwork, type NetworkInputs } from '../../../src/agent/desired.js';
import { NET, datapath, metadataPort, port } from './fixtures.js';

function inputs(over: Partial<NetworkInputs> = {}): NetworkInputs {
  return {
    networkId: NET,
    datapath: datapath(),
    metadataPorts: [metadataPort()],
    localPorts: [port()],
    ...over,
  };
}

function served(over: Partial<NetworkInputs> = {}) {
  const intent = desiredNetwork(inputs(over));
  if (intent.kind !== 'serve') throw new Error(`expected serve, got ${JSON.stringify(intent)}`);
  return intent;
}

describe('desiredNetwork', () => {
  it('serves a network with a local VM port: neutron names, MAC, addresses', () => {
    const { network, warnings } = served();
    expect(network).toEqual({
      networkId: NET,
      datapath: datapath().uuid,
      namespace: `ovnmeta-${NET}`,
      vethRoot: 'tap76af9baf-90',
      vethInside: 'tap76af9baf-91',
      mac: 'fa:16:3e:9d:cc:52',
      mtu: undefined,
      addresses: ['169.254.169.254/32', '172.16.100.2/24'],
      metadataPort: 'meta-port',
      ipv6: false,
    });
    expect(warnings).toEqual([]);
  });

  it('is absent without local VM ports, or when they have no address', () => {
    expect(desiredNetwork(inputs({ localPorts: [] })).kind).toBe('absent');
    expect(desiredNetwork(inputs({ localPorts: [port({ mac: ['unknown'] })] })).kind).toBe('absent');
    expect(desiredNetwork(inputs({ localPorts: [port({ mac: [] })] })).kind).toBe('absent');
  });

  it('treats an external port like a VM port, and a port with `unknown` plus an address as addressed', () => {
    expect(served({ localPorts: [port({ type: 'external' })] }).network.addresses).toContain(
      '172.16.100.2/24',
    );
    expect(
      served({ localPorts: [port({ mac: ['fa:16:3e:00:00:11 172.16.100.11', 'unknown'] })] }).network
        .addresses,
    ).toContain('172.16.100.2/24');
  });

  it('cannot serve without a metadata port, a MAC, or neutron:cidrs, and says why', () => {
    const noMeta = desiredNetwork(inputs({ metadataPorts: [] }));
    expect(noMeta).toMatchObject({ kind: 'unservable', reason: 'the network has no metadata port' });
    const noMac = desiredNetwork(inputs({ metadataPorts: [metadataPort({ mac: [] })] }));
    expect(noMac).toMatchObject({ kind: 'unservable', reason: expect.stringContaining('has no MAC') });
    const badMac = desiredNetwork(
      inputs({ metadataPorts: [metadataPort({ mac: ['zz:16:3e:9d:cc:52 172.16.100.2'] })] }),
    );
    expect(badMac).toMatchObject({ kind: 'unservable', reason: expect.stringContaining('malformed MAC') });
    const noCidrs = desiredNetwork(
      inputs({ metadataPorts: [metadataPort({ ids: { 'neutron:device_owner': 'network:distributed' } })] }),
    );
    expect(noCidrs).toMatchObject({ kind: 'unservable', reason: expect.stringContaining('neutron:cidrs') });
    expect(desiredNetwork(inputs({ datapath: undefined })).kind).toBe('unservable');
  });

  it('adds only the metadata subnets that have local VM ports (several subnets)', () => {
    const meta = metadataPort({
      mac: ['fa:16:3e:9d:cc:52 172.16.100.2 10.9.0.2'],
      ids: {
        'neutron:device_owner': 'network:distributed',
        'neutron:cidrs': '172.16.100.2/24 10.9.0.2/16',
      },
    });
    expect(served({ metadataPorts: [meta] }).network.addresses).toEqual([
      '169.254.169.254/32',
      '172.16.100.2/24',
    ]);
    const both = served({
      metadataPorts: [meta],
      localPorts: [port(), port({ mac: ['fa:16:3e:00:00:20 10.9.200.7'] })],
    });
    expect(both.network.addresses).toEqual(['10.9.0.2/16', '169.254.169.254/32', '172.16.100.2/24']);
  });

  it('adds fe80::a9fe:a9fe and the EUI-64 link-local when a local VM port has IPv6', () => {
    const meta = metadataPort({
      ids: { 'neutron:device_owner': 'network:distributed', 'neutron:cidrs': '172.16.100.2/24 fd00:1::2/64' },
    });
    const intent = served({
      metadataPorts: [meta],
      localPorts: [port({ mac: ['fa:16:3e:00:00:10 fd00:1::10'] })],
    });
    expect(intent.network.ipv6).toBe(true);
    // Only IPv6 locally: the IPv4 subnet is not active.
    expect(intent.network.addresses).toEqual([
      '169.254.169.254/32',
      'fe80::a9fe:a9fe/128',
      'fe80::f816:3eff:fe9d:cc52/64',
    ]);
  });

  it('takes the MTU from the metadata port, else from a local port; ignores nonsense', () => {
    const meta = (mtu: string) =>
      metadataPort({
        ids: {
          'neutron:device_owner': 'network:distributed',
          'neutron:cidrs': '172.16.100.2/24',
          'neutron:mtu': mtu,
        },
      });
    expect(served({ metadataPorts: [meta('1442')] }).network.mtu).toBe(1442);
    expect(served({ localPorts: [port({ ids: { 'neutron:mtu': '1400' } })] }).network.mtu).toBe(1400);
    expect(served({ metadataPorts: [meta('jumbo')] }).network.mtu).toBeUndefined();
    expect(served({ metadataPorts: [meta('12')] }).network.mtu).toBeUndefined();
  });

  it('warns and picks the port with the network device_id when there are several metadata ports', () => {
    const stray = metadataPort({
      logicalPort: 'a-stray',
      ids: { 'neutron:device_owner': 'network:distributed', 'neutron:cidrs': '172.16.100.3/24' },
    });
    const intent = served({ metadataPorts: [stray, metadataPort()] });
    expect(intent.network.metadataPort).toBe('meta-port');
    expect(intent.warnings[0]).toMatch(/2 metadata ports/);
  });

  it('drops malformed cidr entries with a warning, keeps the good ones', () => {
    const meta = metadataPort({
      ids: {
        'neutron:device_owner': 'network:distributed',
        'neutron:cidrs': 'garbage 172.16.100.2/24 1.2.3.4/99',
      },
    });
    const intent = served({ metadataPorts: [meta] });
    expect(intent.network.addresses).toEqual(['169.254.169.254/32', '172.16.100.2/24']);
    expect(intent.warnings).toHaveLength(2);
  });
});
