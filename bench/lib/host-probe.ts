// What the throughput bench reads or starts on the host around the agent:
// the datapath's own packet counters, the SB's row count from ovsdb-server,
// a VM's first answer, the ceiling server, and the guard against running
// next to someone else's agent namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { runRaw, type Chassis } from '../../src/sandbox/index.js';
import type { BenchNetwork } from './topology.js';

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The agent removes every ovnmeta-* namespace it does not need: refuse to run next to someone else's. */
export function foreignAgentNamespaces(ours: readonly BenchNetwork[]): string[] {
  const mine = new Set(ours.map((n) => n.namespace));
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    // no namespace at all
  }
  return names.filter((n) => n.startsWith('ovnmeta-') && !mine.has(n));
}

/**
 * RX + TX packets of a datapath port, from `dpctl/show -s`: read from
 * dpif-netdev itself, not the OVS db's statistics (refreshed every 5 s).
 */
export async function datapathPortPackets(chassis: Chassis, port: string): Promise<number> {
  const text = await chassis.appctl('vswitchd', 'dpctl/show', '-s');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => new RegExp(`^\\s*port \\d+: ${port}\\b`).test(l));
  let packets = 0;
  for (const line of lines.slice(at + 1, at + 4)) {
    const m = /^\s*[RT]X packets:(\d+)/.exec(line);
    if (m) packets += Number(m[1]);
  }
  if (at === -1 || packets === 0) throw new Error(`no datapath port ${port} in dpctl/show:\n${text}`);
  return packets;
}

/** Rows of an SB table, asked of ovsdb-server itself (not of any replica). */
export async function countSbRows(chassis: Chassis, table: string): Promise<number> {
  const query = ['OVN_Southbound', { op: 'select', table, where: [], columns: ['_uuid'] }];
  const r = await runRaw('ovsdb-client', ['query', chassis.sbRemote, JSON.stringify(query)]);
  const [result] = JSON.parse(r.stdout) as [{ rows?: unknown[] }];
  if (result.rows === undefined) throw new Error(`ovsdb-client query ${table}: ${r.stdout || r.stderr}`);
  return result.rows.length;
}

/** Waits until the VM gets its own instance id from `url` (curl: a fresh connection per try). */
export async function waitServed(net: BenchNetwork, url: string, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const r = await runRaw('ip', [
      'netns',
      'exec',
      net.vm.namespace,
      'curl',
      '-sS',
      '-m',
      '2',
      '-w',
      '\n%{http_code}',
      url,
    ]);
    if (r.exitCode === 0 && r.stdout === `${net.vm.instanceId}\n200`) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`VM of network ${net.id} got no answer from ${url} within ${timeoutMs} ms`);
}

/**
 * The ceiling: a trivial node http server inside `namespace` on
 * 169.254.169.254:`port`, answering `body` as nova would (same type and
 * length). Resolves once it listens; the caller kills it.
 */
export async function startCeiling(
  namespace: string,
  port: number,
  body: string,
  onSpawn: (child: ChildProcess) => void,
): Promise<ChildProcess> {
  const script =
    `const b = Buffer.from(${JSON.stringify(body)});` +
    `const h = { 'content-type': 'text/plain; charset=UTF-8', 'content-length': b.length };` +
    `require('http').createServer((q, s) => { s.writeHead(200, h); s.end(b); })` +
    `.listen(${port}, '169.254.169.254', () => console.log('up'));`;
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onSpawn(child);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`ceiling server exited ${code}`)));
    }),
    10_000,
    'the ceiling server',
  );
  return child;
}
