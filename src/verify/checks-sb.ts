// Southbound-side checks: the metadata port the network is served through,
// the logical path from each local VM port to it (ovn-trace), and
// ovn-controller's binding of the localport here. Pure: (desired, observed)
// -> Check.
import { CHASSIS_PRIVATE_KEYS, type AgentRole, type NetworkIntent } from '../agent/index.js';
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

/** What the registration check needs: our role and Chassis_Private as the SB has it. */
export interface RegistrationObservation {
  readonly role: Pick<AgentRole, 'agentType' | 'binary' | 'idKey' | 'sbCfgKey' | 'name'>;
  readonly systemId: string;
  /** The id the agent writes (agentIdFor). */
  readonly agentId: string;
  readonly row: { readonly externalIds: ReadonlyMap<string, string> } | undefined;
  /** SB_Global.nb_cfg, which northd copies from NB_Global.nb_cfg. */
  readonly nbCfg: number | bigint | undefined;
}

/**
 * Whether neutron-server would list this chassis' agent alive
 * (neutron_agent.py NeutronAgent.alive: nb_cfg - sb-cfg <= 1; ovsdb_monitor.py
 * ChassisOVNAgentWriteEvent: an OVN Neutron agent id shadows the metadata
 * agent's).
 */
export function registrationCheck(o: RegistrationObservation): Check {
  const who = `${o.role.agentType} (${o.role.binary})`;
  const fail = (reason: string): Check => ({ name: 'registration', status: 'fail', reason });
  if (!o.row) return fail(`no Chassis_Private row named ${o.systemId}: ovn-controller has not registered it`);
  const ids = o.row.externalIds;
  if (o.role.name === 'metadata-agent' && ids.has(CHASSIS_PRIVATE_KEYS.neutronAgentId))
    return fail(
      `Chassis_Private has ${CHASSIS_PRIVATE_KEYS.neutronAgentId}: neutron-server lists the OVN Neutron agent of this ` +
        'chassis, not the OVN Metadata agent; set [agent] extensions = metadata',
    );
  const id = ids.get(o.role.idKey);
  if (id === undefined)
    return fail(`Chassis_Private has no ${o.role.idKey}: the agent has not registered as ${who}`);
  if (id !== o.agentId)
    return fail(`${o.role.idKey} = ${id}, not the ${o.agentId} ovnmeta computes for ${o.systemId}`);
  const sbCfg = ids.get(o.role.sbCfgKey);
  if (sbCfg === undefined || !/^\d+$/.test(sbCfg))
    return fail(`Chassis_Private has no numeric ${o.role.sbCfgKey}`);
  // Behind is not judged: neutron also counts an agent alive for
  // agent_down_time after its last write (nb_cfg_timestamp), which is not
  // visible here; the detail says how far behind it is.
  const behind =
    o.nbCfg !== undefined && BigInt(o.nbCfg) - BigInt(sbCfg) > 1n ? `, behind nb_cfg ${o.nbCfg}` : '';
  return {
    name: 'registration',
    status: 'pass',
    detail: `${who} id ${id}, ${o.role.sbCfgKey} = ${sbCfg}${behind || (o.nbCfg === undefined ? '' : ` (nb_cfg ${o.nbCfg})`)}`,
  };
}
