// One netdev (userspace DPDK-style) ovs-vswitchd per machine.
//
// Measured here (OVS 3.1, no kernel module): a netdev datapath creates kernel
// tap devices in the root namespace, `ovs-netdev` for the datapath and one
// per bridge internal port (`br-int`). A second ovs-vswitchd with a netdev
// bridge fails: "ovs-netdev: creating tap device failed: Device or resource
// busy … failed to create bridge br-int: No such device". Bridge names are
// per vswitchd, but these tap names are machine-wide.
//
// So netdev chassis take this lock (a file holding the pid of their
// ovs-vswitchd, or of the starter until vswitchd runs); a dead holder is
// stale and taken over. The `dummy` datapath (`ovs-vswitchd --enable-dummy`,
// the OVS testsuite's, the same dpif-netdev code) makes no kernel devices, so
// any number of dummy chassis run side by side.
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { SandboxDatapathBusyError } from './errors.js';
import { isAlive } from './daemon.js';
import { sleep } from './run.js';

const LOCK_DIR = '/run/ovnmeta-sandbox';
export const NETDEV_LOCK = `${LOCK_DIR}/netdev.lock`;

export interface NetdevLock {
  /** Points the lock at the vswitchd that now holds the tap devices. */
  setHolder(pid: number, dir: string): Promise<void>;
  release(): Promise<void>;
}

async function readHolder(): Promise<{ pid: number; dir: string } | undefined> {
  try {
    const [pid, dir] = (await readFile(NETDEV_LOCK, 'utf8')).split('\n');
    return { pid: Number(pid), dir: dir ?? '?' };
  } catch {
    return undefined;
  }
}

/** Takes the machine's netdev lock, waiting up to `timeoutMs` for a live holder. */
export async function acquireNetdevLock(dir: string, timeoutMs: number): Promise<NetdevLock> {
  await mkdir(LOCK_DIR, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(NETDEV_LOCK, 'wx');
      await handle.writeFile(`${process.pid}\n${dir}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder();
    if (holder !== undefined && !(Number.isInteger(holder.pid) && holder.pid > 0 && isAlive(holder.pid))) {
      // Stale: its holder died without releasing. Remove only if unchanged.
      const again = await readHolder();
      if (again?.pid === holder.pid) await rm(NETDEV_LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new SandboxDatapathBusyError(holder ? `pid ${holder.pid} (${holder.dir})` : 'another sandbox');
    }
    await sleep(100);
  }
  let held = true;
  return {
    async setHolder(pid, holderDir) {
      if (held) await writeFile(NETDEV_LOCK, `${pid}\n${holderDir}\n`);
    },
    async release() {
      if (!held) return;
      held = false;
      const holder = await readHolder();
      if (holder?.dir === dir) await rm(NETDEV_LOCK, { force: true });
    },
  };
}
