// src/verify: `ovnmeta verify`, proof on a live chassis that metadata works
// (docs/verify.md). Checks are pure functions of (desired, observed);
// verifyChassis gathers the observations and never changes anything.
export { verifyChassis, type VerifyOptions } from './verify.js';
export { judgeNetwork, proxyPrerequisite, type NetworkObservation, type ProbeObservation } from './judge.js';
export {
  metadataPortCheck,
  traceCheck,
  localportCheck,
  registrationCheck,
  type RegistrationObservation,
} from './checks-sb.js';
export { plumbingChecks, ovsPortCheck, type HostCheckInput } from './checks-host.js';
export { proxyCheck, probeCheck } from './checks-proxy.js';
export { indexOvs, observeOvs, VERIFY_OVS_MONITOR, type OvsTables } from './ovs-observe.js';
export {
  metadataMicroflow,
  vmSource,
  traceOutputs,
  lastTraceStage,
  describeTraceEnd,
  parseTable0InPorts,
  type Microflow,
  type VmSource,
} from './microflow.js';
export { renderTable, renderJson, exitCode, reportOk } from './render.js';
export { OvnTrace, type OvnTraceOptions } from './ovn-trace.js';
export * from './errors.js';
export type * from './types.js';
