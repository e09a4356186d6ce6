// Southbound-side checks: the metadata port the network is served through,
// the logical path from each local VM port to it (ovn-trace), and
// ovn-controller's binding of the localport here. Pure: (desired, observed)
// -> Check.
import type { NetworkIntent } from '../agent/index.js';
import { describeTraceEnd, lastTraceStage, traceOutputs } from './microflow.js';
import type { Check, FlowObservation, OvsObservation, TraceObservation } from './types.js';

/**
 * neutron-compat.md "Which networks need metadata": a metadata port
 * (localport, device_owner network:distributed) with a MAC and
 * neutron:cidrs. The reasons are desiredNetwork's own.
 */
export function metadataPortCheck(intent: NetworkIntent): Check {
  switch (intent.kind) {
    case 'serve': {
      const n = intent.network;
      const warn = intent.warnings.length > 0 ? ` (${intent.warnings.join('; ')})` : '';
      return {
        name: 'metadata-port',
        status: 'pass',
        detail: `${n.metadataPort} ${n.mac}, wants ${n.addresses.join(' ')}${warn}`,
      };
    }
    case 'unservable':
      return { name: 'metadata-port', status: 'fail', reason: intent.reason };
    case 'absent':
      return {
        name: 'metadata-port',
        status: 'fail',
        reason: 'no VM port of this network is bound to this chassis: it is not served here',
      };
  }
}

/** One VM port's trace must end in `output("<metadata port>")` (ovn-test-env.md). */
export function traceCheck(vmPort: string, metadataPort: string, obs: TraceObservation): Check {
  const base = { name: 'ovn-trace', subject: vmPort } as const;
  if (obs.kind === 'error') return { ...base, status: 'fail', reason: obs.reason };
  const what = `${obs.sourceIp} -> ${obs.destination}`;
  if (traceOutputs(obs.minimal).includes(metadataPort)) {
    return { ...base, status: 'pass', detail: `${what} reaches output("${metadataPort}")` };
  }
  const stage = obs.detailed === undefined ? undefined : lastTraceStage(obs.detailed);
  return {
    ...base,
    status: 'fail',
    reason:
      `${what} ${describeTraceEnd(obs.minimal)}, want output("${metadataPort}")` +
      (stage ? `; last stage ${stage}` : ''),
  };
}

/**
 * ovn-controller has bound the localport here: the Interface carrying its
 * iface-id has an OpenFlow port on the integration bridge and table 0 has
 * the physical-to-logical flow for it. (ovn-controller sets
 * external_ids:ovn-installed only on VIFs it claims, not on localports, so
 * the flow is the evidence; checked on OVN 23.03.) Caller: the ovs-port
 * check passed, so `ovs.iface` is the right Interface on the right bridge.
 */
export function localportCheck(
  vethRoot: string,
  metadataPort: string,
  ovs: OvsObservation,
  flows: FlowObservation,
): Check {
  const base = { name: 'localport-bound' } as const;
  const ofport = ovs.iface?.ofport;
  if (ofport === undefined || ofport <= 0) {
    const error = ovs.iface?.error ? ` (${ovs.iface.error})` : '';
    return {
      ...base,
      status: 'fail',
      reason: `Interface ${vethRoot} has ofport ${ofport ?? 'unset'}${error}: ovs-vswitchd has not opened it`,
    };
  }
  if (flows.kind === 'unreadable') {
    return {
      ...base,
      status: 'fail',
      reason: `cannot read the OpenFlow table of ${ovs.bridge}: ${flows.reason}`,
    };
  }
  if (!flows.inPorts.has(ofport)) {
    return {
      ...base,
      status: 'fail',
      reason:
        `${ovs.bridge} table 0 has no flow for in_port=${ofport} (${vethRoot}): ` +
        `ovn-controller has not bound localport ${metadataPort} here`,
    };
  }
  return { ...base, status: 'pass', detail: `${vethRoot} ofport ${ofport}, table 0 flow installed` };
}
