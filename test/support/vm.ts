// Namespace "VMs" plugged into a sandbox chassis.
export {
  Vm,
  startVm,
  METADATA_IP,
  METADATA_IPV6,
  type VmOptions,
  type CurlOptions,
  type CurlResult,
} from '../../src/sandbox/index.js';
export { eui64LinkLocal } from '../../src/common/address.js';
