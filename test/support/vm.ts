// Namespace "VMs" plugged into a sandbox chassis.
export {
  Vm,
  startVm,
  METADATA_IP,
  METADATA_IPV6,
  linkLocalOf,
  type VmOptions,
  type CurlOptions,
  type CurlResult,
} from '../../src/sandbox/index.js';
