// Test helpers for the namespace integration tests: unique names per run,
// a host that records every kernel batch (around the real in-process kernel)
// and every spawn, independent reads of the host with plain iproute2, and
// cleanup of exactly what a test made.
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { eui64LinkLocal } from '../../../src/common/address.js';
import {
  execaRunner,
  vethNames,
  workerKernel,
  type CommandRunner,
  type DesiredPlumbing,
  type KernelBatch,
  type KernelOp,
  type NamespaceEnv,
} from '../../../src/namespace/index.js';

/** Never `ovnmeta-`: an agent test running at the same time would reap it. */
export const PREFIX = `nstest-${process.pid}-`;

export interface Recorded {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input?: string;
}

/** The real kernel and runner, recording every batch and every spawn. */
export class CountingHost {
  readonly batches: KernelBatch[] = [];
  readonly spawns: Recorded[] = [];
  readonly env: Pick<NamespaceEnv, 'kernel' | 'runner'>;

  constructor() {
    const runner: CommandRunner = {
      run: (cmd, args, options) => {
        this.spawns.push({ cmd, args, ...(options?.input === undefined ? {} : { input: options.input }) });
        return execaRunner.run(cmd, args, options);
      },
    };
    this.env = {
      runner,
      kernel: {
        run: (batch) => {
          this.batches.push(batch);
          return workerKernel.run(batch);
        },
      },
    };
  }

  /** Kernel calls that change the host (everything but dumps and offload reads). */
  get mutating(): KernelOp[] {
    return this.batches.flatMap((b) =>
      b.ops.filter((op) => !(op.op === 'dump' || (op.op === 'ethtool' && op.set === undefined))),
    );
  }

  /** What each batch did, by op kind: e.g. ['dump', 'dump']. */
  get ops(): string[][] {
    return this.batches.map((b) => b.ops.map((op) => op.op));
  }

  reset(): void {
    this.batches.length = 0;
    this.spawns.length = 0;
  }
}

const made = new Set<{ ns: string; root: string }>();

/** A fresh fake network: desired plumbing with names unique to this run. */
export function fakeNetwork(patch: Partial<DesiredPlumbing> = {}): DesiredPlumbing {
  const id = randomUUID();
  const { root, inside } = vethNames(id);
  const desired: DesiredPlumbing = {
    namespace: `${PREFIX}${id.slice(0, 8)}`,
    vethRoot: root,
    vethInside: inside,
    mac: 'fa:16:3e:9d:cc:52',
    mtu: 1442,
    addresses: ['169.254.169.254/32', '172.16.100.2/24'],
    checksumFill: false,
    ...patch,
  };
  made.add({ ns: desired.namespace, root: desired.vethRoot });
  return desired;
}

/** Registers extra names a test creates by hand, for cleanup. */
export function track(ns: string, root = ''): void {
  made.add({ ns, root });
}

/** Deletes what this run registered; tolerant of what is already gone. */
export async function cleanup(): Promise<void> {
  const all = [...made];
  made.clear();
  await Promise.all(
    all.map(async ({ ns, root }) => {
      if (root) await execa('ip', ['link', 'delete', 'dev', root], { reject: false });
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    }),
  );
}

export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  return (await execa(cmd, args, input === undefined ? {} : { input })).stdout;
}

interface IpAddrJson {
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
  addr_info: { family: string; local: string; prefixlen: number; tentative?: boolean }[];
}

/** `ip -n NS -json addr show` parsed, keyed by link name: an independent read. */
export async function linksIn(ns: string): Promise<Map<string, IpAddrJson>> {
  const list = JSON.parse(await sh('ip', ['-n', ns, '-json', 'addr', 'show'])) as IpAddrJson[];
  return new Map(list.map((l) => [l.ifname, l]));
}

export function cidrsOf(link: IpAddrJson | undefined): string[] {
  return (link?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort();
}

export async function rootLink(name: string): Promise<IpAddrJson | undefined> {
  const r = await execa('ip', ['-json', 'addr', 'show', 'dev', name], { reject: false });
  return r.exitCode === 0 ? (JSON.parse(r.stdout) as IpAddrJson[])[0] : undefined;
}

export const v6 = (mac: string) => ['fe80::a9fe:a9fe/128', `${eui64LinkLocal(mac)}/64`];
