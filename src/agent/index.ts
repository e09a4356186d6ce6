// src/agent: the core that joins src/ovsdb, src/namespace and src/proxy.
export { Agent, type AgentOptions } from './agent.js';
export { cleanupHost, type CleanupReport } from './cleanup.js';
export * from './config/index.js';
export { desiredNetwork, type DesiredNetwork, type NetworkIntent, type NetworkInputs } from './desired.js';
export { AgentMetrics } from './metrics.js';
export {
  CHASSIS_PRIVATE_KEYS,
  METADATA_AGENT_ROLE,
  METADATA_EXTENSION,
  OVN_NEUTRON_AGENT_ROLE,
  decideRole,
  type AgentRole,
  type AgentRoleName,
  type RoleDecision,
} from './agent-role.js';
export { agentIdFor, chassisUuid, metadataAgentId } from './chassis-id.js';
export { heartbeatOps, registrationOps, Registration } from './registration.js';
export { localChassis, needsChecksumFill, OVS_MONITOR, type LocalChassis } from './ovs-local.js';
export { portAddresses } from './port-addresses.js';
export { DEVICE_ID, isBoundTo, type PortBinding } from './sb-rows.js';
export { SbView } from './sb-view.js';
export {
  SbSession,
  openOvsdbClient,
  ovsSsl,
  sbRemote,
  sbSsl,
  type OpenClient,
  type SbSessionOptions,
} from './sb-session.js';
