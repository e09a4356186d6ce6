// Quick proxy throughput check (root): requests/s and latency percentiles of
// GET /latest/meta-data/instance-id from a VM namespace through the netns
// listener, 10 keep-alive connections, against two references:
//   ceiling  - a trivial node http server in the same metadata namespace;
//   nova     - the fake nova alone, hit from the root namespace.
// The fake nova runs in its own process (this script with --nova) so that it
// does not share the proxy's event loop.
//
//   npx vite-node bench/proxy-quick.ts [--seconds 5] [--connections 10]
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { createMetadataProxy, IdentityIndex, signInstanceId } from '../src/proxy/index.js';
import { cpuSeconds } from './lib/load-run.js';
import { startFakeNova } from '../test/support/fake-nova.js';
import { makeNetwork, removeAll } from '../test/integration/proxy/netns.js';

const SECRET = 'bench-secret';
const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const seconds = arg('seconds', 5);
const connections = arg('connections', 10);
const root = fileURLToPath(new URL('..', import.meta.url));

// The load generator: plain JS run with `node -e` (inside a namespace when
// asked), undici from the repository's node_modules.
const LOADGEN = String.raw`
const { Pool } = require('undici');
const [url, path, seconds, connections] = [process.argv[1], process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const headers = JSON.parse(process.argv[5] || '{}');
const pool = new Pool(url, { connections, pipelining: 1 });
const latencies = [];
const statuses = {};
let errors = 0;
const until = performance.now() + seconds * 1000;
async function worker() {
  while (performance.now() < until) {
    const t = performance.now();
    try {
      const res = await pool.request({ method: 'GET', path, headers });
      await res.body.text();
      statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
      latencies.push(performance.now() - t);
    } catch { errors++; }
  }
}
const started = performance.now();
Promise.all(Array.from({ length: connections }, worker)).then(async () => {
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(JSON.stringify({ requests: latencies.length, errors, statuses, rps: latencies.length / elapsed,
    p50: p(0.5), p99: p(0.99), max: latencies[latencies.length - 1] }));
  await pool.close();
});
`;

interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

function load(
  namespace: string | undefined,
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const node = [
    process.execPath,
    '-e',
    LOADGEN,
    url,
    path,
    String(seconds),
    String(connections),
    JSON.stringify(headers),
  ];
  const [cmd, ...args] = namespace === undefined ? node : ['ip', 'netns', 'exec', namespace, ...node];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`loadgen ${code}`)),
    );
  });
}

function startProcess(cmd: string, args: string[]): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve({ child, line: line.trim() }));
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

const show = (name: string, r: LoadResult & { cpuUs?: number }): string =>
  `${name.padEnd(28)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms   ` +
  `max ${r.max.toFixed(1)} ms   errors ${r.errors}` +
  (r.cpuUs === undefined ? '' : `   server CPU ${r.cpuUs.toFixed(1)} µs/req`) +
  `   statuses ${JSON.stringify(r.statuses)}`;

/** A load run and the CPU the serving side spent per request meanwhile. */
async function measured(
  serverCpuSeconds: () => number,
  run: Promise<LoadResult>,
): Promise<LoadResult & { cpuUs: number }> {
  const before = serverCpuSeconds();
  const result = await run;
  return { ...result, cpuUs: ((serverCpuSeconds() - before) / result.requests) * 1e6 };
}
/** This process (the proxy runs in it): user + system seconds. */
const ownCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function main(): Promise<void> {
  if (process.argv.includes('--nova')) {
    const nova = await startFakeNova({ secret: SECRET, record: false });
    process.stdout.write(`${nova.port}\n`);
    return;
  }
  const children: ChildProcess[] = [];
  try {
    const net = await makeNetwork('bq', 77, 'fa:16:3e:00:77:05');
    // Re-run this file with --nova, through the same runner (vite-node).
    const novaProcess = await startProcess(process.execPath, [
      process.argv[1]!,
      fileURLToPath(import.meta.url),
      '--nova',
    ]);
    children.push(novaProcess.child);
    const novaPort = Number(novaProcess.line);

    const index = new IdentityIndex();
    index.upsertPort({
      key: 'vm',
      network: net.network,
      mac: net.vmMac,
      ips: [net.vmIp],
      instanceId: 'bench-instance',
      projectId: 'bench-project',
      bound: true,
    });
    const proxy = await createMetadataProxy({
      identity: index,
      nova: { host: '127.0.0.1', port: novaPort, sharedSecret: SECRET },
    });
    const t0 = performance.now();
    await proxy.ensureListener({ network: net.network, namespace: net.namespace });
    const openMs = performance.now() - t0;

    const ceiling = await startProcess('ip', [
      'netns',
      'exec',
      net.namespace,
      process.execPath,
      '-e',
      `require('http').createServer((q, s) => s.end('bench-instance')).listen(81, '169.254.169.254', () => console.log('up'))`,
    ]);
    children.push(ceiling.child);

    const path = '/latest/meta-data/instance-id';
    const signed = {
      'x-forwarded-for': net.vmIp,
      'x-instance-id': 'bench-instance',
      'x-tenant-id': 'bench-project',
      'x-instance-id-signature': signInstanceId(SECRET, 'bench-instance'),
    };
    console.log(
      `ensureListener (one namespace): ${openMs.toFixed(1)} ms; ${connections} connections, ${seconds} s each`,
    );
    console.log(
      show(
        'ceiling (node http in netns)',
        await measured(
          () => cpuSeconds(ceiling.child.pid),
          load(net.vmNamespace, 'http://169.254.169.254:81', path),
        ),
      ),
    );
    console.log(
      show('fake nova alone (root ns)', await load(undefined, `http://127.0.0.1:${novaPort}`, path, signed)),
    );
    console.log(
      show(
        'ovnmeta proxy -> fake nova',
        await measured(ownCpuSeconds, load(net.vmNamespace, 'http://169.254.169.254', path)),
      ),
    );
    await proxy.close();

    // The same with the per-request access log on (pino, async, to /dev/null).
    const logged = await createMetadataProxy({
      identity: index,
      nova: { host: '127.0.0.1', port: novaPort, sharedSecret: SECRET },
      logger: pino(pino.destination({ dest: '/dev/null', sync: false })),
    });
    await logged.ensureListener({ network: net.network, namespace: net.namespace });
    console.log(
      show(
        '  same, access log on',
        await measured(ownCpuSeconds, load(net.vmNamespace, 'http://169.254.169.254', path)),
      ),
    );
    await logged.close();
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await removeAll();
  }
}

await main();
