// judgeNetwork on data: a healthy network passes every check, and breaking
// one thing fails exactly the check about it (dependents are skipped, never
// passed), with a reason that names the object and what was wanted.
import { describe, expect, it } from 'vitest';
import { judgeNetwork, type NetworkObservation } from '../../../src/verify/index.js';
import type { Check } from '../../../src/verify/types.js';
import { NET, VM, desired, observation, plumbing } from './fixtures.js';

type Served = NonNullable<NetworkObservation['served']>;

function judge(change: (s: Served) => Partial<Served> = () => ({}), o = observation()): readonly Check[] {
  return judgeNetwork({ ...o, served: { ...o.served, ...change(o.served) } }).checks;
}

const label = (c: Check) => (c.subject ? `${c.name} ${c.subject}` : c.name);
const failed = (checks: readonly Check[]) => checks.filter((c) => c.status === 'fail').map(label);
const skipped = (checks: readonly Check[]) => checks.filter((c) => c.status === 'skip').map(label);
const reason = (checks: readonly Check[], name: string) => checks.find((c) => c.name === name)?.reason;

describe('judgeNetwork', () => {
  it('passes every check of a healthy network, in report order', () => {
    const checks = judge();
    expect(checks.map(label)).toEqual([
      'metadata-port',
      `ovn-trace ${VM.logicalPort}`,
      'namespace',
      'veth',
      'mac',
      'mtu',
      'addresses',
      'checksum-fill',
      'ovs-port',
      'localport-bound',
      'proxy-ipv4',
      `probe ${VM.logicalPort}`,
    ]);
    expect(failed(checks)).toEqual([]);
    expect(skipped(checks)).toEqual([]);
  });

  it('a metadata port without neutron:cidrs fails metadata-port alone', () => {
    const checks = judgeNetwork({
      id: NET,
      intent: { kind: 'unservable', networkId: NET, reason: 'metadata port meta-port has no neutron:cidrs' },
    }).checks;
    expect(checks).toEqual([
      { name: 'metadata-port', status: 'fail', reason: 'metadata port meta-port has no neutron:cidrs' },
    ]);
  });

  it('a network with no VM port here, asked for by --network, says it is not served here', () => {
    const checks = judgeNetwork({ id: NET, intent: { kind: 'absent', networkId: NET } }).checks;
    expect(failed(checks)).toEqual(['metadata-port']);
    expect(reason(checks, 'metadata-port')).toMatch(/no VM port .* bound to this chassis/);
  });

  it('a trace that is dropped fails ovn-trace with the stage that dropped it', () => {
    const checks = judge(() => ({
      traces: [
        {
          port: VM.logicalPort,
          obs: {
            kind: 'traced',
            sourceIp: '172.16.100.10',
            destination: '169.254.169.254:80',
            minimal: '# tcp,reg14=0x2\n',
            detailed:
              'ingress(dp="neutron-x", inport="vm-port-1")\n' +
              '-------------------------------------------\n' +
              ' 0. ls_in_port_sec_l2 (northd.c:5598): inport == "vm-port-1", priority 50, uuid 8ce7bb25\n' +
              '    next;\n' +
              ' 4. ls_in_acl (northd.c:6740): ip4 && tcp.dst == 80, priority 3000, uuid 5b1dead7\n' +
              '    drop;\n',
          },
        },
      ],
    }));
    expect(failed(checks)).toEqual([`ovn-trace ${VM.logicalPort}`]);
    expect(reason(checks, 'ovn-trace')).toBe(
      '172.16.100.10 -> 169.254.169.254:80 is dropped, want output("meta-port"); ' +
        'last stage ls_in_acl: ip4 && tcp.dst == 80, priority 3000, uuid 5b1dead7',
    );
  });

  it('a trace that reaches another port names it', () => {
    const checks = judge(() => ({
      traces: [
        {
          port: VM.logicalPort,
          obs: {
            kind: 'traced',
            sourceIp: '172.16.100.10',
            destination: '169.254.169.254:80',
            minimal: 'output("other");',
          },
        },
      ],
    }));
    expect(reason(checks, 'ovn-trace')).toMatch(/ends in output\("other"\), want output\("meta-port"\)/);
  });

  it('ovn-trace that could not run fails with its reason', () => {
    const checks = judge(() => ({
      traces: [{ port: VM.logicalPort, obs: { kind: 'error', reason: 'ovn-trace: cannot run: ENOENT' } }],
    }));
    expect(failed(checks)).toEqual([`ovn-trace ${VM.logicalPort}`]);
    expect(reason(checks, 'ovn-trace')).toBe('ovn-trace: cannot run: ENOENT');
  });

  it('namespace missing: namespace fails; what lives in it is skipped, not failed', () => {
    const checks = judge(() => ({ plumbing: { namespace: 'absent', ipv6: true } }));
    expect(failed(checks)).toEqual(['namespace']);
    expect(skipped(checks)).toEqual([
      'veth',
      'mac',
      'mtu',
      'addresses',
      'checksum-fill',
      'localport-bound',
      'proxy-ipv4',
    ]);
    expect(reason(checks, 'namespace')).toBe(`namespace ovnmeta-${NET} does not exist`);
  });

  it('a stale /run/netns entry is named', () => {
    const checks = judge(() => ({ plumbing: { namespace: 'stale', ipv6: true } }));
    expect(reason(checks, 'namespace')).toMatch(/is no network namespace mount/);
  });

  it('inspection failure fails namespace with the error', () => {
    const checks = judge(() => ({ plumbing: { error: 'ip -n x exited 1: boom' } }));
    expect(failed(checks)).toEqual(['namespace']);
    expect(reason(checks, 'namespace')).toContain('boom');
  });

  it('veth down fails veth; the proxy check is skipped, the rest still judged', () => {
    const p = plumbing();
    const checks = judge(() => ({ plumbing: { ...p, inside: { ...p.inside!, up: false } } }));
    expect(failed(checks)).toEqual(['veth']);
    expect(skipped(checks)).toEqual(['proxy-ipv4']);
    expect(reason(checks, 'veth')).toBe(`ovnmeta-${NET}: tap76af9baf-91 is down`);
  });

  it('root end missing fails veth; mac/mtu/addresses and localport-bound are skipped', () => {
    const p = plumbing();
    const { root: _root, ...rest } = p;
    const checks = judge(() => ({ plumbing: rest }));
    expect(failed(checks)).toEqual(['veth']);
    expect(skipped(checks)).toEqual([
      'mac',
      'mtu',
      'addresses',
      'checksum-fill',
      'localport-bound',
      'proxy-ipv4',
    ]);
    expect(reason(checks, 'veth')).toBe('no link tap76af9baf-90 in the root namespace');
  });

  it('a same-named link that is not the peer fails veth', () => {
    const p = plumbing();
    const checks = judge(() => ({ plumbing: { ...p, inside: { ...p.inside!, peerIfindex: 77 } } }));
    expect(reason(checks, 'veth')).toMatch(/is not the veth peer of tap76af9baf-90/);
  });

  it('wrong MAC fails mac alone', () => {
    const p = plumbing();
    const checks = judge(() => ({ plumbing: { ...p, inside: { ...p.inside!, mac: 'fa:16:3e:00:00:01' } } }));
    expect(failed(checks)).toEqual(['mac']);
    expect(reason(checks, 'mac')).toBe(
      `ovnmeta-${NET}: tap76af9baf-91 MAC fa:16:3e:00:00:01, want fa:16:3e:9d:cc:52`,
    );
  });

  it('wrong MTU fails mtu alone, naming each wrong end', () => {
    const p = plumbing();
    const checks = judge(() => ({ plumbing: { ...p, inside: { ...p.inside!, mtu: 1500 } } }));
    expect(failed(checks)).toEqual(['mtu']);
    expect(reason(checks, 'mtu')).toBe(`ovnmeta-${NET}: tap76af9baf-91 MTU 1500, want 1442`);
    const both = judge(() => ({
      plumbing: { ...p, root: { ...p.root!, mtu: 1500 }, inside: { ...p.inside!, mtu: 1500 } },
    }));
    expect(reason(both, 'mtu')).toBe(
      `ovnmeta-${NET}: tap76af9baf-91 MTU 1500, tap76af9baf-90 MTU 1500, want 1442`,
    );
  });

  it('a missing subnet address fails addresses alone; an unwanted one is named too', () => {
    const p = plumbing();
    const checks = judge(() => ({
      plumbing: { ...p, inside: { ...p.inside!, addresses: ['169.254.169.254/32', '10.9.9.9/24'] } },
    }));
    expect(failed(checks)).toEqual(['addresses']);
    expect(reason(checks, 'addresses')).toBe(
      `ovnmeta-${NET}: tap76af9baf-91 lacks 172.16.100.2/24, has unwanted 10.9.9.9/24`,
    );
  });

  it('the metadata address missing fails addresses and skips the proxy check', () => {
    const p = plumbing();
    const checks = judge(() => ({
      plumbing: { ...p, inside: { ...p.inside!, addresses: ['172.16.100.2/24'] } },
    }));
    expect(failed(checks)).toEqual(['addresses']);
    expect(skipped(checks)).toEqual(['proxy-ipv4']);
  });

  it('tx checksum offload on, on a userspace datapath, fails checksum-fill; not judged on a kernel one', () => {
    const p = plumbing();
    expect(failed(judge(() => ({ plumbing: { ...p, txChecksumOffload: true } })))).toEqual(['checksum-fill']);
    expect(judge(() => ({ checksumFill: false })).map((c) => c.name)).not.toContain('checksum-fill');
  });

  it('the OVS port on another bridge fails ovs-port; localport-bound is skipped', () => {
    const checks = judge((s) => ({ ovs: { ...s.ovs, bridgesOfPort: ['br-other'] } }));
    expect(failed(checks)).toEqual(['ovs-port']);
    expect(skipped(checks)).toEqual(['localport-bound']);
    expect(reason(checks, 'ovs-port')).toBe('tap76af9baf-90 is on br-other, not br-int');
  });

  it('ovs-port names each way of being wrong', () => {
    const r = (ovs: Partial<Served['ovs']>) =>
      reason(
        judge((s) => ({ ovs: { ...s.ovs, ...ovs } })),
        'ovs-port',
      );
    expect(r({ bridgeExists: false })).toBe('integration bridge br-int does not exist');
    expect(r({ bridgesOfPort: [] })).toBe('no port tap76af9baf-90 on any bridge');
    expect(r({ bridgesOfPort: ['br-int', 'br-x'] })).toBe('tap76af9baf-90 is on br-int and also on br-x');
    expect(r({ iface: { ifaceId: 'other', ofport: 2, error: undefined } })).toBe(
      'tap76af9baf-90 external_ids:iface-id is "other", want "meta-port"',
    );
    expect(r({ iface: { ifaceId: undefined, ofport: 2, error: undefined } })).toMatch(/iface-id is unset/);
    expect(r({ duplicates: [{ iface: 'tapold', bridges: ['br-ex'] }] })).toBe(
      'iface-id "meta-port" is also on Interface tapold (on br-ex)',
    );
  });

  it('no table 0 flow for the port fails localport-bound alone', () => {
    const checks = judge(() => ({ flows: { kind: 'read', inPorts: new Set([1]) } }));
    expect(failed(checks)).toEqual(['localport-bound']);
    expect(reason(checks, 'localport-bound')).toBe(
      'br-int table 0 has no flow for in_port=2 (tap76af9baf-90): ovn-controller has not bound localport meta-port here',
    );
  });

  it('an Interface vswitchd could not open fails localport-bound with its error', () => {
    const checks = judge((s) => ({
      ovs: { ...s.ovs, iface: { ifaceId: 'meta-port', ofport: -1, error: 'could not open network device' } },
    }));
    expect(reason(checks, 'localport-bound')).toBe(
      'Interface tap76af9baf-90 has ofport -1 (could not open network device): ovs-vswitchd has not opened it',
    );
  });

  it('flows that cannot be read fail localport-bound with why', () => {
    const checks = judge(() => ({ flows: { kind: 'unreadable', reason: 'ovs-ofctl: not found' } }));
    expect(reason(checks, 'localport-bound')).toBe(
      'cannot read the OpenFlow table of br-int: ovs-ofctl: not found',
    );
  });

  it('nothing listening fails proxy-ipv4', () => {
    const checks = judge(() => ({ proxy: { ipv4: { kind: 'refused', reason: 'Connection refused' } } }));
    expect(failed(checks)).toEqual(['proxy-ipv4']);
    expect(reason(checks, 'proxy-ipv4')).toBe(
      `nothing listens on http://169.254.169.254:80/ in ovnmeta-${NET} (Connection refused)`,
    );
  });

  it('port 80 held by another process (a haproxy sidecar) fails proxy-ipv4 naming it, though it answers', () => {
    const sockets = [{ address: '169.254.169.254', port: 80, inode: 51234 }];
    const listenerHolder = '/var/lib/neutron/ovnmeta-listeners.sock';
    const haproxy = { pid: 4242, command: 'haproxy -f /var/lib/neutron/ovn-metadata-proxy/n1.conf' };
    const foreign = judge(() => ({ holders: { listenerHolder, ipv4: { sockets, owners: [haproxy] } } }));
    expect(failed(foreign)).toEqual(['proxy-ipv4']);
    expect(reason(foreign, 'proxy-ipv4')).toBe(
      `http://169.254.169.254:80/ in ovnmeta-${NET} is held by pid 4242 (haproxy -f /var/lib/neutron/ovn-metadata-proxy/n1.conf), not by ovnmeta's listener holder (${listenerHolder}): stop it (docs/deploy.md, migration)`,
    );
    const holder = { pid: 77, command: `node -e 'use strict' /x/koffi ${listenerHolder}` };
    const ours = judge(() => ({
      holders: { listenerHolder, ipv4: { sockets, owners: [holder, { pid: 78, command: 'ovnmeta agent' }] } },
    }));
    expect(failed(ours)).toEqual([]);
    expect(ours.find((c) => c.name === 'proxy-ipv4')?.detail).toBe(
      'http://169.254.169.254:80/ answered HTTP 404 (listener holder pid 77)',
    );
  });

  it('IPv6 is judged only when due, on the inside veth zone', () => {
    const o = observation();
    const d = desired();
    const v6 = { ...d, ipv6: true, addresses: [...d.addresses, 'fe80::a9fe:a9fe/128'] };
    const p = plumbing();
    const checks = judgeNetwork({
      ...o,
      intent: { kind: 'serve', network: v6, warnings: [] },
      served: {
        ...o.served,
        plumbing: {
          ...p,
          inside: { ...p.inside!, addresses: [...p.inside!.addresses, 'fe80::a9fe:a9fe/128'] },
        },
        proxy: { ...o.served.proxy, ipv6: { kind: 'no-answer', reason: 'timed out after 3000 ms' } },
      },
    }).checks;
    expect(failed(checks)).toEqual(['proxy-ipv6']);
    expect(reason(checks, 'proxy-ipv6')).toBe(
      `no HTTP answer from http://[fe80::a9fe:a9fe%tap76af9baf-91]:80/ in ovnmeta-${NET}: timed out after 3000 ms`,
    );
  });

  it('probe: a 403 from nova says the shared secrets differ', () => {
    const checks = judge((s) => ({
      probes: {
        socketPath: s.probes!.socketPath,
        results: [
          {
            ...s.probes!.results[0]!,
            obs: { kind: 'answered', status: 403, body: 'Invalid proxy request signature.' },
          },
        ],
      },
    }));
    expect(failed(checks)).toEqual([`probe ${VM.logicalPort}`]);
    expect(reason(checks, 'probe')).toBe(
      'as 172.16.100.10: nova answered 403 "Invalid proxy request signature.": metadata_proxy_shared_secret differs between ovnmeta and nova',
    );
  });

  it('probe: the wrong instance, another status, or a dead socket are each named', () => {
    const r = (obs: NonNullable<Served['probes']>['results'][number]['obs']) =>
      reason(
        judge((s) => ({
          probes: { socketPath: s.probes!.socketPath, results: [{ ...s.probes!.results[0]!, obs }] },
        })),
        'probe',
      );
    expect(r({ kind: 'answered', status: 200, body: 'inst-2' })).toBe(
      'as 172.16.100.10: nova answered instance-id "inst-2", want inst-1 (neutron:device_id)',
    );
    expect(r({ kind: 'answered', status: 404, body: 'Instance was not found on network x.' })).toBe(
      'as 172.16.100.10: HTTP 404 "Instance was not found on network x."',
    );
    expect(r({ kind: 'refused', reason: 'ECONNREFUSED' })).toBe(
      'metadata_proxy_socket /var/lib/neutron/metadata_proxy: nothing listens there; is the agent running? (ECONNREFUSED)',
    );
  });
});
