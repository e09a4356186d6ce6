// What the throughput bench reads from the agent process: its /metrics
// (replica rows, V8 heap) and, as a profiling aid, a preload module that
// runs it under the V8 profiler.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentProcess } from './agent-process.js';

/** ovnmeta_replica_rows: per database (its sum) and per `database.table`. */
export async function replicaRows(agent: AgentProcess): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  for (const line of (await agent.metrics()).split('\n')) {
    const m = /^ovnmeta_replica_rows\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const db = /db="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    const table = /table="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
    rows[db] = (rows[db] ?? 0) + Number(m[2]);
    rows[`${db}.${table}`] = Number(m[2]);
  }
  return rows;
}

/**
 * Where the agent's memory is, from its own /metrics (prom-client's default
 * Node.js metrics): V8 heap used and reserved, the young generation's share
 * of it, and memory outside the heap (Buffers), in MB.
 */
export async function heapOf(agent: AgentProcess): Promise<Record<string, number>> {
  const text = await agent.metrics();
  const value = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]) / 2 ** 20;
  };
  return {
    heapUsedMb: value('ovnmeta_nodejs_heap_size_used_bytes'),
    heapTotalMb: value('ovnmeta_nodejs_heap_size_total_bytes'),
    newSpaceMb: value('ovnmeta_nodejs_heap_space_size_total_bytes{space="new"}'),
    externalMb: value('ovnmeta_nodejs_external_memory_bytes'),
  };
}

/**
 * A preload module (for NODE_OPTIONS=--import=…) that profiles the process
 * it is loaded in until it exits, into DIR/agent-<pid>.cpuprofile
 * (`--cpu-prof` itself is refused in NODE_OPTIONS).
 */
export async function profilerPreload(dir: string): Promise<string> {
  const file = join(dir, 'cpu-profile-preload.mjs');
  await mkdir(dir, { recursive: true });
  await writeFile(
    file,
    [
      "import { Session } from 'node:inspector';",
      "import { writeFileSync } from 'node:fs';",
      'const session = new Session();',
      'session.connect();',
      "session.post('Profiler.enable');",
      "session.post('Profiler.start');",
      // An in-process session answers synchronously, so this works in 'exit'.
      "process.on('exit', () => session.post('Profiler.stop', (err, r) => {",
      `  if (!err) writeFileSync(${JSON.stringify(dir)} + '/agent-' + process.pid + '.cpuprofile', JSON.stringify(r.profile));`,
      '}));',
    ].join('\n'),
  );
  return file;
}
