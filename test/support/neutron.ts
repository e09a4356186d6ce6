// Neutron-shaped NB writes (networks, metadata ports, VM ports, subnets).
export {
  createNetwork,
  addSubnet,
  createVmPort,
  deletePort,
  deleteNetwork,
  randomMac,
  METADATA_DEVICE_OWNER,
  addFakeChassis,
  bindPortElsewhere,
  FakeChassis,
  type Network,
  type NetworkOptions,
  type MetadataPort,
  type VmPort,
  type VmPortOptions,
} from '../../src/sandbox/index.js';
