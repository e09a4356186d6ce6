// applyPlumbing: run planned steps as kernel calls made in-process
// (kernel.ts), no process start. Consecutive steps acting in the same netns
// become one batch (root netns, or inside the namespace): the plan's order
// (pre-clean, root, inside, tx checksum offload) makes that at most three
// batches and for a fresh network two. `netns add` runs in the root batch and
// the inside end of the veth is created directly in the namespace, so nothing
// has to be moved later. A batch stops at the first failing step, as
// `ip -batch` without -force does: later steps depend on earlier ones.
import { namespaceEnv, type NamespaceEnv } from './env.js';
import { NetnsInvalidDesiredError, NetnsKernelError } from './errors.js';
import { KernelBatchFailure, type KernelOp } from './kernel.js';
import { stepRequest } from './netlink.js';
import { namespaceState, readRootLink } from './inspect.js';
import type { PlumbingOutcome, PlumbingStep } from './types.js';
import { assertLinkName, assertNamespaceName } from './validate.js';

/** One batch of applyPlumbing: where it runs, and per op the step it does (for errors). */
export interface PlannedBatch {
  /** undefined: the root netns. */
  readonly namespace: string | undefined;
  /** One line per op, as `ip` or `ethtool` would say it (batchLine). */
  readonly lines: readonly string[];
  readonly ops: readonly KernelOp[];
}

const SAFE_LINE = /^[A-Za-z0-9_.:/ -]+$/;

/** Pure: the kernel batches applyPlumbing would run for `steps`, in order. */
export function plumbingBatches(steps: readonly PlumbingStep[], netnsDir = '/run/netns'): PlannedBatch[] {
  const batches: PlannedBatch[] = [];
  let open: { namespace: string | undefined; lines: string[]; ops: KernelOp[] } | undefined;
  for (const step of steps) {
    const ns = stepNetns(step);
    if (open === undefined || open.namespace !== ns) {
      if (open !== undefined) batches.push(open);
      open = { namespace: ns, lines: [], ops: [] };
    }
    const line = batchLine(step);
    // Steps from planPlumbing are validated; hand-made ones must not carry
    // names the kernel would take for something else.
    if (!SAFE_LINE.test(line))
      throw new NetnsInvalidDesiredError(ns ?? 'root netns', 'step', step, 'unsafe token');
    open.lines.push(line);
    open.ops.push(stepOp(step, netnsDir));
  }
  if (open !== undefined) batches.push(open);
  return batches;
}

function stepOp(step: PlumbingStep, netnsDir: string): KernelOp {
  switch (step.op) {
    case 'netns-add':
      assertNamespaceName(step.namespace);
      return { op: 'netns-add', path: `${netnsDir}/${step.namespace}` };
    case 'netns-delete':
      assertNamespaceName(step.namespace);
      return { op: 'netns-delete', path: `${netnsDir}/${step.namespace}` };
    case 'tx-checksum-off':
      assertNamespaceName(step.namespace);
      assertLinkName(step.namespace, 'link', step.link);
      return { op: 'ethtool', link: step.link, set: false };
    default: {
      const { bytes, patch } = stepRequest(step, netnsDir);
      return { op: 'netlink', bytes, ...(patch ? { patch } : {}) };
    }
  }
}

/**
 * Applies `steps` (from planPlumbing) to the host. Throws NetnsKernelError
 * (retryable unless the kernel refused for good) naming the failing step;
 * steps before it stay applied, and the next inspect + plan carries on from
 * there.
 */
export async function applyPlumbing(
  steps: readonly PlumbingStep[],
  envOverrides?: Partial<NamespaceEnv>,
): Promise<PlumbingOutcome> {
  if (steps.length === 0) return 'unchanged';
  const env = namespaceEnv(envOverrides);
  for (const batch of plumbingBatches(steps, env.netnsDir)) await runBatch(env, batch);
  return steps.some((s) => s.op === 'netns-add') ? 'created' : 'updated';
}

/**
 * Tears one network's plumbing down: the root end of the veth (which takes
 * its peer with it, even while a process keeps the namespace alive) and the
 * namespace. 'unchanged' when both are already gone.
 */
export async function removePlumbing(
  namespace: string,
  vethRoot: string,
  envOverrides?: Partial<NamespaceEnv>,
): Promise<'unchanged' | 'removed'> {
  assertNamespaceName(namespace);
  assertLinkName(namespace, 'vethRoot', vethRoot);
  const env = namespaceEnv(envOverrides);
  /** [namespace entry present, root link present] */
  const present = async (): Promise<[boolean, boolean]> => {
    const [ns, root] = await Promise.all([
      namespaceState(namespace, env),
      readRootLink(vethRoot, env.sysClassNet),
    ]);
    return [ns !== 'absent', root !== undefined];
  };
  const [hasNs, hasLink] = await present();
  if (!hasNs && !hasLink) return 'unchanged';
  const steps: PlumbingStep[] = [
    ...(hasLink ? [{ op: 'link-delete' as const, link: vethRoot }] : []),
    ...(hasNs ? [{ op: 'netns-delete' as const, namespace }] : []),
  ];
  try {
    for (const batch of plumbingBatches(steps, env.netnsDir)) await runBatch(env, batch);
  } catch (err) {
    // Raced with another remover (or the kernel reaping the pair): fine if
    // everything is gone now.
    const [nsLeft, linkLeft] = await present();
    if (nsLeft || linkLeft) throw err;
  }
  return 'removed';
}

async function runBatch(env: NamespaceEnv, batch: PlannedBatch): Promise<void> {
  const netns = batch.namespace === undefined ? null : `${env.netnsDir}/${batch.namespace}`;
  try {
    await env.kernel.run({ netns, ops: batch.ops });
  } catch (err) {
    if (!(err instanceof KernelBatchFailure)) throw err;
    const step = err.index >= 0 ? batch.lines[err.index]! : `enter ${netns}`;
    throw new NetnsKernelError(batch.namespace ?? 'root netns', step, err.errno, err.what);
  }
}

function stepNetns(step: PlumbingStep): string | undefined {
  switch (step.op) {
    case 'netns-delete':
    case 'netns-add':
    case 'veth-add':
      return undefined;
    default:
      return step.namespace;
  }
}

/** What a step does, as an iproute2 batch line (ip(8) syntax without the leading `ip`) or ethtool's. */
export function batchLine(step: PlumbingStep): string {
  switch (step.op) {
    case 'tx-checksum-off':
      return `ethtool -K ${step.link} tx off`;
    case 'netns-delete':
      return `netns delete ${step.namespace}`;
    case 'netns-add':
      return `netns add ${step.namespace}`;
    case 'link-delete':
      return `link delete dev ${step.link}`;
    case 'veth-add': {
      const mtu = step.mtu === undefined ? '' : ` mtu ${step.mtu}`;
      return `link add ${step.root}${mtu} type veth peer name ${step.inside} netns ${step.namespace} address ${step.mac}${mtu}`;
    }
    case 'link-set': {
      // The planner never puts addrgenmode and up in one step: the kernel
      // applies IFF_UP before IFLA_AF_SPEC within one request (rtnetlink
      // do_setlink), so the kernel would make its link-local first.
      let line = `link set dev ${step.link}`;
      if (step.mac !== undefined) line += ` address ${step.mac}`;
      if (step.mtu !== undefined) line += ` mtu ${step.mtu}`;
      if (step.addrgenmodeNone) line += ' addrgenmode none';
      if (step.up) line += ' up';
      return line;
    }
    case 'addr-delete':
      return `addr del ${step.cidr} dev ${step.link}`;
    case 'addr-add':
      // replace, not add: idempotent if a retry or the kernel got there first.
      // IPv6 nodad: the address is deterministic and the same on every
      // chassis by design (localport); DAD would only hold it "tentative"
      // for a second, during which the proxy cannot bind it.
      return `addr replace ${step.cidr} dev ${step.link}${step.cidr.includes(':') ? ' nodad' : ''}`;
  }
}
