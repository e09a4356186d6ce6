// Observations of one healthy served network, for the verify unit tests;
// each test breaks one thing.
import { desiredNetwork, type DesiredNetwork, type NetworkIntent } from '../../../src/agent/desired.js';
import type { ActualPlumbing } from '../../../src/namespace/index.js';
import type { NetworkObservation } from '../../../src/verify/index.js';
import type { OvsObservation } from '../../../src/verify/types.js';
import { NET, datapath, metadataPort, port } from '../agent/fixtures.js';

export { NET };
export const VM = port({ logicalPort: 'vm-port-1', ids: { 'neutron:device_id': 'inst-1' } });

export function intent(mtu = '1442'): NetworkIntent {
  const meta = metadataPort();
  return desiredNetwork({
    networkId: NET,
    datapath: datapath(),
    metadataPorts: [{ ...meta, externalIds: new Map([...meta.externalIds, ['neutron:mtu', mtu]]) }],
    localPorts: [VM],
  });
}

export function desired(): DesiredNetwork {
  const i = intent();
  if (i.kind !== 'serve') throw new Error('fixture not served');
  return i.network;
}

export function plumbing(): ActualPlumbing {
  return {
    namespace: 'present',
    ipv6: true,
    loopbackUp: true,
    root: { ifindex: 40, peerIfindex: 2, mtu: 1442, up: true },
    inside: {
      ifindex: 2,
      peerIfindex: 40,
      peerInOtherNetns: true,
      kind: 'veth',
      mac: 'fa:16:3e:9d:cc:52',
      mtu: 1442,
      up: true,
      addresses: ['172.16.100.2/24', '169.254.169.254/32'],
    },
    txChecksumOffload: false,
  };
}

export function ovs(): OvsObservation {
  return {
    bridge: 'br-int',
    bridgeExists: true,
    bridgesOfPort: ['br-int'],
    iface: { ifaceId: 'meta-port', ofport: 2, error: undefined },
    duplicates: [],
  };
}

export const TRACE_OK =
  '# tcp,reg14=0x2,vlan_tci=0x0000,dl_src=fa:16:3e:00:00:10,dl_dst=fa:16:3e:9d:cc:52,nw_src=172.16.100.10,nw_dst=169.254.169.254,nw_ttl=64,tp_dst=80\n' +
  'output("meta-port");\n';

export function observation(): NetworkObservation & { served: NonNullable<NetworkObservation['served']> } {
  return {
    id: NET,
    intent: intent(),
    served: {
      traces: [
        {
          port: VM.logicalPort,
          obs: {
            kind: 'traced',
            sourceIp: '172.16.100.10',
            destination: '169.254.169.254:80',
            minimal: TRACE_OK,
          },
        },
      ],
      plumbing: plumbing(),
      ovs: ovs(),
      flows: { kind: 'read', inPorts: new Set([1, 2]) },
      checksumFill: true,
      proxy: { ipv4: { kind: 'answered', status: 404, body: '' } },
      probes: {
        socketPath: '/var/lib/neutron/metadata_proxy',
        results: [
          {
            port: VM.logicalPort,
            sourceIp: '172.16.100.10',
            instanceId: 'inst-1',
            obs: { kind: 'answered', status: 200, body: 'inst-1' },
          },
        ],
      },
    },
  };
}
