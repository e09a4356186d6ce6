// ensurePlumbing = inspect + plan + apply, for callers that need no step
// list for their logs. Idempotent; safe to run for many networks at once
// (each touches only its own names; no global lock).
import type { NamespaceEnv } from './env.js';
import { applyPlumbing } from './apply.js';
import { inspectPlumbing } from './inspect.js';
import { planPlumbing } from './plan.js';
import type { DesiredPlumbing, PlumbingOutcome } from './types.js';

export async function ensurePlumbing(
  desired: DesiredPlumbing,
  env?: Partial<NamespaceEnv>,
): Promise<PlumbingOutcome> {
  const actual = await inspectPlumbing(desired, env);
  return applyPlumbing(planPlumbing(desired, actual), env);
}
