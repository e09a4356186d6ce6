// Vitest glue for the sandbox: one chassis per test file, stopped in afterAll
// even when tests or the start-up fail.
//   const sandbox = useChassis();
//   test('…', async () => { const net = await createNetwork(sandbox.chassis, …) });
import { afterAll, beforeAll } from 'vitest';
import { startChassis, type Chassis, type ChassisOptions } from '../../src/sandbox/index.js';

export function useChassis(options: ChassisOptions = {}): { readonly chassis: Chassis } {
  let chassis: Chassis | undefined;
  beforeAll(async () => {
    chassis = await startChassis(options);
  });
  afterAll(async () => {
    await chassis?.stop();
  });
  return {
    get chassis(): Chassis {
      if (chassis === undefined) throw new Error('the sandbox chassis is not started (used outside a test?)');
      return chassis;
    },
  };
}
