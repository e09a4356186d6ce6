// Test helpers for the namespace integration tests: unique names per run,
// a spawn-counting runner around the real one, independent reads of the
// host with plain iproute2, and cleanup of exactly what a test made.
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { eui64LinkLocal } from '../../../src/common/address.js';
import {
  execaRunner,
  vethNames,
  type CommandRunner,
  type DesiredPlumbing,
} from '../../../src/namespace/index.js';

/** Never `ovnmeta-`: an agent test running at the same time would reap it. */
export const PREFIX = `nstest-${process.pid}-`;

export interface Recorded {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input?: string;
}

/** The real runner, recording every spawn. */
export class CountingRunner implements CommandRunner {
  readonly calls: Recorded[] = [];

  async run(cmd: string, args: readonly string[], options?: { input?: string }) {
    this.calls.push({ cmd, args, ...(options?.input === undefined ? {} : { input: options.input }) });
    return execaRunner.run(cmd, args, options);
  }

  /** Spawns that change the host (everything but `-json … show` and `ethtool -k`). */
  get mutating(): Recorded[] {
    return this.calls.filter((c) => !c.args.includes('-json') && !c.args.includes('-k'));
  }

  reset(): void {
    this.calls.length = 0;
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
