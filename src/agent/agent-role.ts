/**
 * Which neutron agent ovnmeta stands in for, and the Chassis_Private
 * external_ids keys each one writes (neutron master,
 * neutron/common/ovn/constants.py). neutron-server lists one agent per
 * Chassis_Private from these keys
 * (neutron/plugins/ml2/drivers/ovn/mech_driver/ovsdb/ovsdb_monitor.py
 * ChassisOVNAgentWriteEvent, neutron/plugins/ml2/drivers/ovn/agent/
 * neutron_agent.py AgentCache.populate): the OVN Neutron agent when
 * `neutron:ovn-neutron-agent-id` is set, else the OVN Metadata agent when
 * `neutron:ovn-metadata-id` is set. Pure.
 *
 *  - metadata-agent: neutron-ovn-metadata-agent (neutron/agent/ovn/metadata/
 *    agent.py MetadataAgent.register_metadata_agent,
 *    _update_chassis_private_config, SbGlobalUpdateEvent).
 *  - ovn-neutron-agent: neutron-ovn-agent with `[agent] extensions =
 *    metadata` (neutron/agent/ovn/agent/ovn_neutron_agent.py
 *    register_ovn_agent, update_neutron_sb_cfg_key, _cleanup_previous_tags,
 *    SbGlobalUpdateEvent; the bridge key from the metadata extension,
 *    neutron/agent/ovn/extensions/metadata.py start ->
 *    _update_chassis_private_config).
 */
import type { AgentConfig } from './config/index.js';

/** neutron/common/ovn/constants.py, as neutron master spells them. */
export const CHASSIS_PRIVATE_KEYS = {
  /** OVN_AGENT_OVN_BRIDGE: both agents write the integration bridge here. */
  bridge: 'neutron:ovn-bridge',
  /** OVN_AGENT_METADATA_ID_KEY */
  metadataId: 'neutron:ovn-metadata-id',
  /** OVN_AGENT_METADATA_SB_CFG_KEY */
  metadataSbCfg: 'neutron:ovn-metadata-sb-cfg',
  /** OVN_AGENT_METADATA_DESC_KEY (set through the API, `openstack network agent set --description`) */
  metadataDescription: 'neutron:description-metadata',
  /** OVN_AGENT_NEUTRON_ID_KEY */
  neutronAgentId: 'neutron:ovn-neutron-agent-id',
  /** OVN_AGENT_NEUTRON_SB_CFG_KEY */
  neutronAgentSbCfg: 'neutron:ovn-neutron-agent-sb-cfg',
  /** OVN_AGENT_NEUTRON_DESC_KEY */
  neutronAgentDescription: 'neutron:description-neutron-agent',
} as const;

export type AgentRoleName = 'metadata-agent' | 'ovn-neutron-agent';

export interface AgentRole {
  readonly name: AgentRoleName;
  /** neutron's agent_type, as `openstack network agent list` shows it. */
  readonly agentType: 'OVN Metadata agent' | 'OVN Neutron agent';
  /** neutron's `binary` for that agent type. */
  readonly binary: 'neutron-ovn-metadata-agent' | 'neutron-ovn-agent';
  /** Key of the agent id, added only when absent. */
  readonly idKey: string;
  /** Key of the heartbeat (the last SB_Global.nb_cfg seen). */
  readonly sbCfgKey: string;
  /** Key of the integration bridge. */
  readonly bridgeKey: string;
  /** The name hashed (uuid5) into the chassis UUID to give the agent id. */
  readonly idName: string;
  /** Namespace of uuid5(system-id) when system-id is not a UUID. */
  readonly chassisNamespace: string;
  /**
   * Keys removed when registering on a (new) Chassis_Private row: neutron's
   * `_cleanup_previous_tags` of that agent. Empty for the metadata agent:
   * ovnmeta, unlike neutron master's metadata agent, never removes the OVN
   * Neutron agent's keys, so that a neutron-ovn-agent kept for other
   * extensions keeps its registration (docs/deploy.md, migration).
   */
  readonly cleanupKeys: readonly string[];
}

export const METADATA_AGENT_ROLE: AgentRole = Object.freeze({
  name: 'metadata-agent',
  agentType: 'OVN Metadata agent',
  binary: 'neutron-ovn-metadata-agent',
  idKey: CHASSIS_PRIVATE_KEYS.metadataId,
  sbCfgKey: CHASSIS_PRIVATE_KEYS.metadataSbCfg,
  bridgeKey: CHASSIS_PRIVATE_KEYS.bridge,
  idName: 'metadata_agent',
  // neutron/agent/ovn/metadata/agent.py OVN_METADATA_UUID_NAMESPACE
  chassisNamespace: 'd34bf9f6-da32-4871-9af8-15a4626b41ab',
  cleanupKeys: Object.freeze([]),
});

export const OVN_NEUTRON_AGENT_ROLE: AgentRole = Object.freeze({
  name: 'ovn-neutron-agent',
  agentType: 'OVN Neutron agent',
  binary: 'neutron-ovn-agent',
  idKey: CHASSIS_PRIVATE_KEYS.neutronAgentId,
  sbCfgKey: CHASSIS_PRIVATE_KEYS.neutronAgentSbCfg,
  bridgeKey: CHASSIS_PRIVATE_KEYS.bridge,
  idName: 'ovn_agent',
  // neutron/agent/ovn/agent/ovn_neutron_agent.py OVN_MONITOR_UUID_NAMESPACE
  chassisNamespace: 'fd7e0970-7164-11ed-80f0-00000003158a',
  // OVNNeutronAgent._cleanup_previous_tags: the metadata agent's keys.
  cleanupKeys: Object.freeze([
    CHASSIS_PRIVATE_KEYS.metadataSbCfg,
    CHASSIS_PRIVATE_KEYS.metadataDescription,
    CHASSIS_PRIVATE_KEYS.metadataId,
  ]),
});

/** The extension of neutron-ovn-agent that ovnmeta implements. */
export const METADATA_EXTENSION = 'metadata';

export interface RoleDecision {
  readonly role: AgentRole;
  /** Why, for the start-up log and `verify`. */
  readonly reason: string;
  /** Extensions named in [agent] extensions that ovnmeta does not implement. */
  readonly ignoredExtensions: readonly string[];
}

/** `[agent] extensions` naming `metadata` => OVN Neutron agent; else the metadata agent. */
export function decideRole(config: Pick<AgentConfig, 'agent'>): RoleDecision {
  const extensions = config.agent.extensions;
  const ignoredExtensions = extensions.filter((e) => e !== METADATA_EXTENSION);
  if (extensions.includes(METADATA_EXTENSION)) {
    return {
      role: OVN_NEUTRON_AGENT_ROLE,
      reason: `[agent] extensions = ${extensions.join(',')} names ${METADATA_EXTENSION}`,
      ignoredExtensions,
    };
  }
  return {
    role: METADATA_AGENT_ROLE,
    reason:
      extensions.length === 0
        ? '[agent] extensions is not set'
        : `[agent] extensions = ${extensions.join(',')} does not name ${METADATA_EXTENSION}`,
    ignoredExtensions,
  };
}

/**
 * neutron-server lists only the OVN Neutron agent of a Chassis_Private that
 * has neutron:ovn-neutron-agent-id (ovsdb_monitor.py ChassisOVNAgentWriteEvent,
 * AgentCache.populate): registered as the metadata agent, we are then
 * invisible to it.
 */
export function shadowedByOvnNeutronAgent(
  role: Pick<AgentRole, 'name'>,
  externalIds: ReadonlyMap<string, string> | undefined,
): boolean {
  return role.name === 'metadata-agent' && externalIds?.has(CHASSIS_PRIVATE_KEYS.neutronAgentId) === true;
}
