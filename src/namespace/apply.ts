// applyPlumbing: run planned steps in as few spawns as possible. Consecutive
// steps acting in the same netns become one `ip -batch -` (root netns) or
// `ip -n NS -batch -` (inside); the plan's order (pre-clean, root, inside,
// tx checksum offload) makes that at most three spawns and for a fresh
// network two, with or without checksum fill (the offload is set in-process,
// offload.ts, no spawn): `netns add` runs inside the root batch, which
// iproute2 supports (netns_add saves and restores the caller's netns), and
// the inside end is created directly in the namespace, so nothing has to be
// moved later. iproute2 stops a batch at the first failing line (no -force):
// later lines depend on earlier ones.
import { namespaceEnv, type NamespaceEnv } from './env.js';
import { NetnsCommandError, NetnsInvalidDesiredError } from './errors.js';
import { namespaceState, readRootLink } from './inspect.js';
import type { PlumbingOutcome, PlumbingStep } from './types.js';
import { assertLinkName, assertNamespaceName } from './validate.js';

export interface PlannedCommand {
  readonly cmd: string;
  readonly args: readonly string[];
  /** The batch lines fed on stdin, one per step; undefined for a plain command. */
  readonly lines?: readonly string[];
}

const SAFE_LINE = /^[A-Za-z0-9_.:/ -]+$/;

/** What applyPlumbing does for one run of steps: a spawn, or the in-process offload. */
type PlannedAction =
  | { readonly kind: 'spawn'; readonly command: PlannedCommand }
  | { readonly kind: 'tx-checksum-off'; readonly namespace: string; readonly link: string };

/** Pure: the commands (spawns) applyPlumbing would run for `steps`, in order. */
export function plumbingCommands(steps: readonly PlumbingStep[]): PlannedCommand[] {
  return plumbingActions(steps).flatMap((a) => (a.kind === 'spawn' ? [a.command] : []));
}

function plumbingActions(steps: readonly PlumbingStep[]): PlannedAction[] {
  const actions: PlannedAction[] = [];
  let batchNs: string | undefined | null = null; // null: no open batch
  let lines: string[] = [];
  const flush = (): void => {
    if (batchNs === null) return;
    const args = batchNs === undefined ? ['-batch', '-'] : ['-n', batchNs, '-batch', '-'];
    actions.push({ kind: 'spawn', command: { cmd: 'ip', args, lines } });
    batchNs = null;
    lines = [];
  };
  for (const step of steps) {
    if (step.op === 'tx-checksum-off') {
      flush();
      assertNamespaceName(step.namespace);
      assertLinkName(step.namespace, 'link', step.link);
      actions.push({ kind: 'tx-checksum-off', namespace: step.namespace, link: step.link });
      continue;
    }
    const ns = stepNetns(step);
    if (batchNs !== ns) flush();
    batchNs = ns;
    const line = batchLine(step);
    // Steps from planPlumbing are validated; hand-made ones must not smuggle
    // a second command, a comment or quotes into the batch.
    if (!SAFE_LINE.test(line))
      throw new NetnsInvalidDesiredError(ns ?? 'root netns', 'step', step, 'unsafe token');
    lines.push(line);
  }
  flush();
  return actions;
}

/**
 * Applies `steps` (from planPlumbing) to the host. Throws NetnsCommandError
 * (retryable) naming the failing command and line, or NetnsOffloadError;
 * steps before it stay applied, and the next inspect + plan carries on from
 * there.
 */
export async function applyPlumbing(
  steps: readonly PlumbingStep[],
  envOverrides?: Partial<NamespaceEnv>,
): Promise<PlumbingOutcome> {
  if (steps.length === 0) return 'unchanged';
  const { runner, offloads, netnsDir } = namespaceEnv(envOverrides);
  for (const action of plumbingActions(steps)) {
    if (action.kind === 'spawn') await runChecked(runner, action.command);
    else await offloads.setTxChecksum(`${netnsDir}/${action.namespace}`, action.link, false);
  }
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
  const lines = [
    ...(hasLink ? [`link delete dev ${vethRoot}`] : []),
    ...(hasNs ? [`netns delete ${namespace}`] : []),
  ];
  try {
    await runChecked(env.runner, { cmd: 'ip', args: ['-batch', '-'], lines });
  } catch (err) {
    // Raced with another remover (or the kernel reaping the pair): fine if
    // everything is gone now.
    const [nsLeft, linkLeft] = await present();
    if (nsLeft || linkLeft) throw err;
  }
  return 'removed';
}

async function runChecked(runner: NamespaceEnv['runner'], command: PlannedCommand): Promise<void> {
  const input = command.lines && `${command.lines.join('\n')}\n`;
  const result = await runner.run(command.cmd, command.args, input === undefined ? undefined : { input });
  if (result.exitCode === 0) return;
  // iproute2 batch mode reports "Command failed -:N" (N counts from 1).
  const m = /Command failed -:(\d+)/.exec(result.stderr);
  const line = m && command.lines?.[Number(m[1]) - 1];
  throw new NetnsCommandError(
    [command.cmd, ...command.args].join(' '),
    result.exitCode,
    result.stderr,
    line ?? undefined,
  );
}

function stepNetns(step: Exclude<PlumbingStep, { op: 'tx-checksum-off' }>): string | undefined {
  switch (step.op) {
    case 'netns-delete':
    case 'netns-add':
    case 'veth-add':
      return undefined;
    default:
      return step.namespace;
  }
}

/** One iproute2 batch line (ip(8) syntax without the leading `ip`). */
export function batchLine(step: Exclude<PlumbingStep, { op: 'tx-checksum-off' }>): string {
  switch (step.op) {
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
