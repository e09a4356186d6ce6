// Initial-load bench of the OVSDB client: how long a fresh agent takes from
// connect to a synced replica of a large OVN Southbound database, and how
// much memory it needs for it.
//
// The parent starts a standalone SB ovsdb-server, fills it through our own
// client (2,000 Datapath_Binding and 50,000 Port_Binding rows shaped as
// neutron writes them, in a few big transactions), then runs the measured
// client alone in a child process (`--child`), so that the peak RSS is that of
// a process holding only the client and its replica. Progress goes to
// stderr; the last stdout line is one JSON object:
//   {"syncSeconds":…, "peakRssMb":…, "rows":…, …}
// Reference (neutron's Python IDL, same content): 6.1 s, 480 MB.
//
// Each run is paired with a server-only run (`--raw`): a bare socket sends
// the same monitor request and only finds the reply's end, so
// `rawServerSeconds` is what ovsdb-server alone needs, and the client's own
// share is syncSeconds minus that (the machine's load moves both). Both
// also log when the reply's first MiB arrived: ovsdb-server builds the whole
// reply before sending any of it, so only the sending overlaps the client's
// decoding.
//
//   npm run bench -- ovsdb-load [--ports 50000] [--datapaths 2000] [--runs 3] [--all-columns]
//   (extra node flags for the measured child: OVSDB_LOAD_NODE_FLAGS="--max-semi-space-size=4")
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  JsonFramer,
  OvsdbClient,
  connectTransport,
  map,
  op,
  type TransportFactory,
  type WireOperation,
} from '../src/ovsdb/index.js';
import { destroyOvsdbServer, startOvsdbServer } from '../test/support/ovsdb-server.js';
import { fakeUuid, hex, vmPortBindingRow } from './lib/neutron-rows.js';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const log = (msg: string): void => void process.stderr.write(`[ovsdb-load] ${msg}\n`);

if (process.argv.includes('--raw')) {
  await raw(process.argv[process.argv.indexOf('--raw') + 1]!);
} else if (process.argv.includes('--child')) {
  await child(process.argv[process.argv.indexOf('--child') + 1]!);
} else {
  await parent();
}

/** The measured process: connect, monitor, wait for the synced replica. */
async function child(remote: string): Promise<void> {
  const t0 = performance.now();
  // Wraps the real transport to time the bytes: the last chunk before sync
  // marks when the server had sent everything (its share of the time).
  let lastByte = 0;
  let firstMb = 0;
  let bytes = 0;
  const transport: TransportFactory = (r, handlers, options) =>
    connectTransport(
      r,
      {
        data: (chunk) => {
          lastByte = performance.now();
          bytes += chunk.length;
          // The monitor reply is the only large message: its first MiB
          // marks when the server began to send it.
          if (bytes >= 2 ** 20 && firstMb === 0) firstMb = lastByte;
          handlers.data(chunk);
        },
        closed: handlers.closed,
      },
      options,
    );
  const client = new OvsdbClient({ remote, database: 'OVN_Southbound', probeIntervalMs: 0, transport });
  // Default: the columns the metadata agent monitors (src/agent/sb-monitor.ts
  // SB_COLUMNS, copied so that the child loads nothing but the client), on
  // every row, as if it had no monitor conditions. --all-columns: everything.
  client.monitor(monitoredTables());
  await client.start();
  const synced = performance.now();
  const cpu = process.cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const syncSeconds = (synced - t0) / 1000;
  const serverSeconds = (lastByte - t0) / 1000;
  const firstMbSeconds = (firstMb - t0) / 1000;
  const rows = client.replica.size('Port_Binding') + client.replica.size('Datapath_Binding');
  const status = readFileSync('/proc/self/status', 'utf8');
  const hwmKb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const peakRssMb = Math.max(hwmKb / 1024, process.resourceUsage().maxRSS / 1024);
  const heapUsedMb = process.memoryUsage().heapUsed / 2 ** 20;
  // What the synced client keeps (mostly the replica), after a full GC.
  (globalThis as { gc?: () => void }).gc?.();
  const retainedHeapMb = process.memoryUsage().heapUsed / 2 ** 20;
  await client.close();
  const replyMb = bytes / 2 ** 20;
  process.stdout.write(
    `${JSON.stringify({ syncSeconds, serverSeconds, firstMbSeconds, cpuSeconds, replyMb, peakRssMb, heapUsedMb, retainedHeapMb, rows })}\n`,
  );
}

/** The tables and columns measured (see child). */
function monitoredTables(): Record<string, { columns?: string[] }> {
  return process.argv.includes('--all-columns')
    ? { Port_Binding: {}, Datapath_Binding: {} }
    : {
        Port_Binding: {
          columns: [
            'logical_port',
            'type',
            'datapath',
            'chassis',
            'additional_chassis',
            'mac',
            'external_ids',
          ],
        },
        Datapath_Binding: { columns: ['external_ids'] },
      };
}

/**
 * Server-only time: the same monitor request on a bare unix socket, with
 * the framer only finding the reply's end (its text is dropped unparsed).
 */
async function raw(remote: string): Promise<void> {
  const path = remote.replace(/^unix:/, '');
  const t0 = performance.now();
  let bytes = 0;
  let firstMb = 0;
  const seconds = await new Promise<number>((resolve, reject) => {
    const socket = createConnection(path);
    const framer = new JsonFramer();
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes >= 2 ** 20 && firstMb === 0) firstMb = performance.now();
      for (const frame of framer.push(chunk)) {
        if (!frame.startsWith('{"id":1,')) continue;
        resolve((performance.now() - t0) / 1000);
        socket.destroy();
      }
    });
    const columns = monitoredTables();
    const request = {
      id: 1,
      method: 'monitor_cond_since',
      params: ['OVN_Southbound', 'raw', columns, '00000000-0000-0000-0000-000000000000'],
    };
    socket.write(JSON.stringify(request));
  });
  const rawFirstMbSeconds = (firstMb - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ rawServerSeconds: seconds, rawFirstMbSeconds })}\n`);
}

async function parent(): Promise<void> {
  const ports = arg('ports', 50_000);
  const datapaths = arg('datapaths', 2_000);
  const runs = arg('runs', 3);
  const server = await startOvsdbServer({ schema: 'sb', tcp: false });
  try {
    log(`ovsdb-server in ${server.dir}; filling ${datapaths} datapaths, ${ports} ports`);
    const t = performance.now();
    await fill(server.unixRemote, datapaths, ports);
    log(`filled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (process.argv.includes('--serve')) {
      // Profiling aid: keep the filled server until interrupted.
      log(`serving on ${server.unixRemote}; Ctrl-C to stop`);
      const keepAlive = setInterval(() => {}, 1 << 30);
      await new Promise((resolve) => process.once('SIGINT', resolve));
      clearInterval(keepAlive);
      return;
    }
    const results: ChildResult[] = [];
    const rawSeconds: number[] = [];
    for (let i = 1; i <= runs; i++) {
      const r = await runChild(server.unixRemote);
      const { rawServerSeconds, rawFirstMbSeconds } = (await runChild(
        server.unixRemote,
        '--raw',
      )) as unknown as { rawServerSeconds: number; rawFirstMbSeconds: number };
      rawSeconds.push(rawServerSeconds);
      log(
        `run ${i}: synced ${r.rows} rows in ${r.syncSeconds.toFixed(3)} s (last byte of the ` +
          `${r.replyMb.toFixed(1)} MB reply at ${r.serverSeconds.toFixed(3)} s, first MiB at ` +
          `${r.firstMbSeconds.toFixed(3)} s; client CPU ` +
          `${r.cpuSeconds.toFixed(2)} s), peak RSS ${r.peakRssMb.toFixed(0)} MB; server alone ` +
          `${rawServerSeconds.toFixed(3)} s (first MiB at ${rawFirstMbSeconds.toFixed(3)} s)`,
      );
      results.push(r);
    }
    const sortedRaw = [...rawSeconds].sort((a, b) => a - b);
    // Median run for time, worst run for memory.
    const bySync = [...results].sort((a, b) => a.syncSeconds - b.syncSeconds);
    const median = bySync[Math.floor(bySync.length / 2)]!;
    const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
    console.log(
      JSON.stringify({
        syncSeconds: round(median.syncSeconds, 3),
        peakRssMb: round(Math.max(...results.map((r) => r.peakRssMb)), 1),
        rows: median.rows,
        runs,
        columns: process.argv.includes('--all-columns') ? 'all' : 'agent',
        minSyncSeconds: round(bySync[0]!.syncSeconds, 3),
        serverSeconds: round(median.serverSeconds, 3),
        clientSeconds: round(median.syncSeconds - median.serverSeconds, 3),
        rawServerSeconds: round(sortedRaw[Math.floor(sortedRaw.length / 2)]!, 3),
        minRawServerSeconds: round(sortedRaw[0]!, 3),
        clientCpuSeconds: round(median.cpuSeconds, 2),
        replyMb: round(median.replyMb, 1),
        heapUsedMb: round(median.heapUsedMb, 1),
        retainedHeapMb: round(median.retainedHeapMb, 1),
        allSyncSeconds: results.map((r) => round(r.syncSeconds, 3)),
      }),
    );
  } finally {
    await destroyOvsdbServer(server);
  }
}

interface ChildResult {
  syncSeconds: number;
  serverSeconds: number;
  firstMbSeconds: number;
  cpuSeconds: number;
  replyMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  retainedHeapMb: number;
  rows: number;
}

function runChild(remote: string, mode: '--child' | '--raw' = '--child'): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const flags = process.argv.includes('--all-columns') ? ['--all-columns'] : [];
    const nodeFlags = (process.env.OVSDB_LOAD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    // --expose-gc only lets the child measure what it retains after syncing;
    // the peak is taken before that collection.
    const proc = spawn(
      process.execPath,
      ['--expose-gc', ...nodeFlags, fileURLToPath(import.meta.url), mode, remote, ...flags],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`child exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as never);
    });
  });
}

/** Neutron-shaped rows: networks as datapaths, 25 ports each, 10.x.y.z addresses. */
async function fill(remote: string, datapaths: number, ports: number): Promise<void> {
  const client = new OvsdbClient({ remote, database: 'OVN_Southbound', probeIntervalMs: 0 });
  client.monitor({ SB_Global: {} });
  await client.start();

  const dpOps: WireOperation[] = [];
  for (let d = 0; d < datapaths; d++) {
    const net = fakeUuid(0x6e657477, d);
    dpOps.push(
      op.insert(
        'Datapath_Binding',
        {
          tunnel_key: d + 1,
          external_ids: map({
            'logical-switch': fakeUuid(0x15, d),
            name: `neutron-${net}`,
            name2: `net-${d}`,
          }),
        },
        `dp${d}`,
      ),
    );
  }
  const dpResults = await client.transact(dpOps);
  const dpUuids = dpResults.map((r) => r.uuid!);
  log(`inserted ${dpUuids.length} Datapath_Binding rows`);

  // Keystone project ids: 32 random hex digits (uuid4 without dashes).
  const projects = Array.from({ length: 50 }, (_, i) => hex(((i + 1) * 0x9e3779b9) >>> 0, 8).repeat(4));
  const perDp = Math.ceil(ports / datapaths);
  const batch = 10_000;
  for (let start = 0; start < ports; start += batch) {
    const ops: WireOperation[] = [];
    for (let p = start; p < Math.min(ports, start + batch); p++) {
      const d = Math.floor(p / perDp) % datapaths;
      const port = fakeUuid(0x706f7274, p);
      const device = fakeUuid(0x64657669, p);
      const ip = `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255 || 1}`;
      const mac = `fa:16:3e:${hex((p >> 16) & 255, 2)}:${hex((p >> 8) & 255, 2)}:${hex(p & 255, 2)}`;
      ops.push(
        op.insert(
          'Port_Binding',
          vmPortBindingRow({
            logicalPort: port,
            datapath: dpUuids[d]!,
            tunnelKey: (p % perDp) + 1,
            mac,
            ip,
            up: true,
            options: { requested_chassis: `compute-${p % 100}` },
            host: `compute-${p % 100}`,
            deviceId: device,
            networkId: fakeUuid(0x6e657477, d),
            projectId: projects[p % projects.length]!,
            securityGroup: fakeUuid(0x73670000, p % 20),
          }),
        ),
      );
    }
    await client.transact(ops);
    log(`inserted Port_Binding rows up to ${Math.min(ports, start + batch)}`);
  }
  await client.close();
}
