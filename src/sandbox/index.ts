// The OVN sandbox: a real userspace OVN chassis with neutron-shaped networks
// and namespace "VMs", for end-to-end tests, benches and `ovnmeta demo`.
// Plain async functions, no test framework (vitest hooks live in
// test/support/sandbox-vitest.ts).
//
//   const chassis = await startChassis();             // ~0.2-0.7 s, netdev br-int
//   const net = await createNetwork(chassis, { cidrs: ['172.16.100.0/24'] });
//   const vm = await startVm(chassis, await createVmPort(net, { instanceId: 'i-1' }));
//   // … run the agent against chassis.ovsDbRemote / chassis.sbTcpRemote …
//   const { status, body } = await vm.curl('http://169.254.169.254/latest/meta-data/instance-id');
//   await chassis.stop();                             // VMs, daemons, taps, dir
//
// Root is needed (namespaces, veths). One `netdev` chassis per machine at a
// time (netdev-lock.ts); `datapathType: 'dummy'` ones run side by side.
export { Chassis, startChassis, quote, SCHEMAS, type ChassisOptions, type Owned } from './chassis.js';
export { waitFor, type Polled } from './wait-for.js';
export type { DaemonName, RelayName } from './chassis-daemons.js';
export { SbCluster, startSbCluster, type SbClusterOptions } from './sb-cluster.js';
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
export { run, runRaw, sleep, type RunResult } from './run.js';
export {
  SandboxError,
  SandboxCommandError,
  SandboxDaemonError,
  SandboxTimeoutError,
  SandboxDatapathBusyError,
  SandboxCurlError,
} from './errors.js';
export {
  FakeNova,
  startFakeNova,
  expectedSignature,
  type FakeNovaOptions,
  type FakeNovaAnswer,
  type FakeNovaResponder,
  type RecordedRequest,
} from './fake-nova.js';
export {
  novaLookup,
  defaultInstance,
  EC2_VERSIONS,
  OPENSTACK_VERSIONS,
  type NovaInstance,
  type NovaRequest,
  type NovaReply,
} from './nova-tree.js';
