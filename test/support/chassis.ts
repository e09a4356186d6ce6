// The OVN chassis sandbox lives in src/sandbox (it ships for `ovnmeta demo`);
// tests import it from here. Vitest hooks: test/support/sandbox-vitest.ts.
export {
  Chassis,
  startChassis,
  waitFor,
  quote,
  SCHEMAS,
  NETDEV_LOCK,
  type ChassisOptions,
  type Owned,
} from '../../src/sandbox/index.js';
