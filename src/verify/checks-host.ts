// Host-side checks of one served network against its desired state
// (neutron-compat.md "What one network's plumbing looks like"): the
// namespace, the veth pair, MAC, MTU, addresses, checksum offload, and the
// OVS port on the integration bridge. Pure: (desired, observed) -> Check[].
//
// A check whose object is missing is skipped, not failed, when an earlier
// check already failed for that reason: deleting the namespace must read as
// one failure, not six.
import type { DesiredNetwork } from '../agent/index.js';
import { parseCidr } from '../common/address.js';
import { isSoundPair, type ActualPlumbing } from '../namespace/index.js';
import type { Check, CheckName, OvsObservation } from './types.js';

const pass = (name: CheckName, detail: string): Check => ({ name, status: 'pass', detail });
const fail = (name: CheckName, reason: string): Check => ({ name, status: 'fail', reason });
const skip = (name: CheckName, reason: string): Check => ({ name, status: 'skip', reason });

const canonical = (cidr: string): string => parseCidr(cidr)?.text ?? cidr;

export interface HostCheckInput {
  readonly desired: DesiredNetwork;
  /** inspectPlumbing's answer, or why it could not be read. */
  readonly plumbing: ActualPlumbing | { readonly error: string };
  readonly ovs: OvsObservation;
  /** A userspace (netdev) integration bridge: the inside end must not offload tx checksums. */
  readonly checksumFill: boolean;
}

/** The plumbing checks, in report order. */
export function plumbingChecks(input: HostCheckInput): Check[] {
  const { desired: d, plumbing: p, checksumFill } = input;
  const ns = d.namespace;
  if ('error' in p) {
    return [
      fail('namespace', `cannot inspect ${ns}: ${p.error}`),
      ...['veth', 'mac', 'mtu', 'addresses'].map((n) => skip(n as CheckName, 'not checked: see namespace')),
    ];
  }
  const checks: Check[] = [];
  if (p.namespace === 'absent') checks.push(fail('namespace', `namespace ${ns} does not exist`));
  else if (p.namespace === 'stale')
    checks.push(fail('namespace', `/run/netns/${ns} is no network namespace mount (stale)`));
  else checks.push(pass('namespace', ns));

  const paired = isSoundPair(p);
  checks.push(vethCheck(d, p));
  const why = p.namespace !== 'present' ? 'not checked: see namespace' : 'not checked: see veth';
  if (!paired) {
    checks.push(skip('mac', why), skip('mtu', why), skip('addresses', why));
    if (checksumFill) checks.push(skip('checksum-fill', why));
    return checks;
  }
  const root = p.root!;
  const inside = p.inside!;

  checks.push(
    inside.mac === d.mac.toLowerCase()
      ? pass('mac', `${d.vethInside} ${inside.mac}`)
      : fail('mac', `${ns}: ${d.vethInside} MAC ${inside.mac}, want ${d.mac}`),
  );

  if (d.mtu === undefined) checks.push(pass('mtu', `no neutron:mtu; left at ${inside.mtu}`));
  else {
    const wrong = [
      ...(inside.mtu !== d.mtu ? [`${ns}: ${d.vethInside} MTU ${inside.mtu}`] : []),
      ...(root.mtu !== d.mtu ? [`${d.vethRoot} MTU ${root.mtu}`] : []),
    ];
    checks.push(
      wrong.length === 0
        ? pass('mtu', `${d.mtu} on both ends`)
        : fail('mtu', `${wrong.join(', ')}, want ${d.mtu}`),
    );
  }

  const have = new Set(inside.addresses.map(canonical));
  const want = d.addresses.map(canonical);
  const wanted = new Set(want);
  const missing = want.filter((a) => !have.has(a));
  const extra = [...have].filter((a) => !wanted.has(a));
  const problems = [
    ...(missing.length > 0 ? [`lacks ${missing.join(' ')}`] : []),
    ...(extra.length > 0 ? [`has unwanted ${extra.join(' ')}`] : []),
  ];
  checks.push(
    problems.length === 0
      ? pass('addresses', want.join(' '))
      : fail('addresses', `${ns}: ${d.vethInside} ${problems.join(', ')}`),
  );

  if (checksumFill) {
    checks.push(
      p.txChecksumOffload === false
        ? pass('checksum-fill', `${d.vethInside} tx checksum offload off`)
        : fail(
            'checksum-fill',
            `${ns}: ${d.vethInside} tx checksum offload is on: on a userspace datapath the proxy's TCP answers carry bad checksums`,
          ),
    );
  }
  return checks;
}

function vethCheck(d: DesiredNetwork, p: ActualPlumbing): Check {
  if (p.namespace !== 'present') {
    return p.root
      ? fail('veth', `${d.vethRoot} exists but its namespace ${d.namespace} does not`)
      : skip('veth', 'not checked: see namespace');
  }
  if (!p.root) return fail('veth', `no link ${d.vethRoot} in the root namespace`);
  if (!p.inside) return fail('veth', `no link ${d.vethInside} in ${d.namespace}`);
  if (!isSoundPair(p)) {
    return fail('veth', `${d.vethInside} in ${d.namespace} is not the veth peer of ${d.vethRoot}`);
  }
  const down = [
    ...(p.root.up ? [] : [d.vethRoot]),
    ...(p.inside.up ? [] : [`${d.namespace}: ${d.vethInside}`]),
  ];
  if (down.length > 0) return fail('veth', `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down`);
  return pass('veth', `${d.vethRoot} <-> ${d.vethInside}, both up`);
}

/** The root end on the integration bridge, with the metadata port's iface-id, and nowhere else. */
export function ovsPortCheck(d: DesiredNetwork, ovs: OvsObservation): Check {
  const port = d.vethRoot;
  const { bridge } = ovs;
  if (!ovs.bridgeExists) return fail('ovs-port', `integration bridge ${bridge} does not exist`);
  const on = ovs.bridgesOfPort;
  if (on.length === 0) return fail('ovs-port', `no port ${port} on any bridge`);
  if (!on.includes(bridge)) return fail('ovs-port', `${port} is on ${on.join(', ')}, not ${bridge}`);
  const others = on.filter((b) => b !== bridge);
  if (others.length > 0) return fail('ovs-port', `${port} is on ${bridge} and also on ${others.join(', ')}`);
  if (!ovs.iface) return fail('ovs-port', `port ${port} has no Interface named ${port}`);
  if (ovs.iface.ifaceId !== d.metadataPort) {
    const have = ovs.iface.ifaceId === undefined ? 'unset' : `"${ovs.iface.ifaceId}"`;
    return fail('ovs-port', `${port} external_ids:iface-id is ${have}, want "${d.metadataPort}"`);
  }
  if (ovs.duplicates.length > 0) {
    const dup = ovs.duplicates
      .map((x) => `${x.iface}${x.bridges.length > 0 ? ` (on ${x.bridges.join(', ')})` : ''}`)
      .join(', ');
    return fail('ovs-port', `iface-id "${d.metadataPort}" is also on Interface ${dup}`);
  }
  return pass('ovs-port', `${port} on ${bridge}, iface-id ${d.metadataPort}`);
}
