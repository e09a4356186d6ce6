// src/namespace: one network's host plumbing (netns, veth, addresses,
// checksum fill) and the OVS port that plugs it into br-int, as RFC 7047
// operations from src/ovsdb's builders. Knows no SB (docs/architecture.md).
export * from './errors.js';
export { NAMESPACE_PREFIX, namespaceName, vethNames } from './names.js';
export { execaRunner, type CommandRunner, type CommandResult, type RunOptions } from './runner.js';
export { namespaceEnv, type NamespaceEnv } from './env.js';
export {
  workerKernel,
  KernelBatchFailure,
  type NetnsKernel,
  type KernelBatch,
  type KernelOp,
  type KernelResult,
} from './kernel.js';
export type {
  DesiredPlumbing,
  ActualPlumbing,
  RootLink,
  InsideLink,
  PlumbingStep,
  PlumbingOutcome,
} from './types.js';
export { inspectPlumbing, listNamespaces, namespaceInode } from './inspect.js';
export { planPlumbing, isSoundPair } from './plan.js';
export { validateDesired } from './validate.js';
export { applyPlumbing, removePlumbing, plumbingBatches, batchLine, type PlannedBatch } from './apply.js';
export { ensurePlumbing } from './ensure.js';
export {
  checkPropagation,
  containedBecause,
  judgePropagation,
  parseMountInfo,
  type MountInfo,
  type PropagationVerdict,
} from './propagation.js';
export {
  portHolders,
  namespaceListeners,
  holdersAmong,
  describeHolders,
  parseTcpListeners,
  blockingListeners,
  type PortHolders,
  type SocketOwner,
  type TcpListener,
} from './socket-owner.js';
export {
  planOvsPort,
  planOvsPortRemoval,
  ovsRows,
  OVS_INDEXES,
  PORT_BY_NAME,
  BRIDGE_BY_PORT,
  type OvsPortSpec,
  type OvsRows,
  type OvsRow,
  type OvsBridgeRow,
  type OvsPortRow,
  type OvsInterfaceRow,
  type OvsPortOperation,
} from './open-vswitch.js';
