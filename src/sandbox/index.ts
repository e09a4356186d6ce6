// The OVN sandbox: a real userspace OVN chassis with neutron-shaped networks
// and namespace "VMs", for end-to-end tests, benches and `ovnmeta demo`.
// Plain async functions, no test framework.
export { Chassis, startChassis, quote, SCHEMAS, type ChassisOptions, type Owned } from './chassis.js';
export { waitFor, type Polled } from './wait-for.js';
export type { DaemonName } from './chassis-daemons.js';
export {
  createNetwork,
  addSubnet,
  createVmPort,
  deletePort,
  deleteNetwork,
  randomMac,
  METADATA_DEVICE_OWNER,
  type Network,
  type NetworkOptions,
  type MetadataPort,
  type VmPort,
  type VmPortOptions,
} from './neutron.js';
export {
  Vm,
  startVm,
  METADATA_IP,
  METADATA_IPV6,
  type VmOptions,
  type CurlOptions,
  type CurlResult,
} from './vm.js';
export { FakeChassis, addFakeChassis, bindPortElsewhere } from './fake-chassis.js';
export { Daemon, startDaemon, stopAllDaemons, isAlive, type DaemonSpec } from './daemon.js';
export { NETDEV_LOCK } from './netdev-lock.js';
export { linkLocalOf, parseCidr } from './ip.js';
export { run, runRaw, sleep, type RunResult } from './run.js';
export {
  SandboxError,
  SandboxCommandError,
  SandboxDaemonError,
  SandboxTimeoutError,
  SandboxDatapathBusyError,
  SandboxCurlError,
} from './errors.js';
