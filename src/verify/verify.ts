/**
 * `ovnmeta verify`: gathers what the chassis has and judges it against what
 * the agent would want (desiredNetwork over the same SB rows), network by
 * network. Read-only: it opens the two databases as a monitor, starts a
 * private ovn-trace daemon, reads the kernel (inspectPlumbing, in-process
 * rtnetlink dumps per namespace), dumps table 0 of the integration bridge once,
 * and makes HTTP requests; it never writes anything.
 *
 *   OVS db ─ who we are, OVS ports ──┐
 *   SB db  ─ desired state ──────────┼─> observations ─> judgeNetwork (pure) ─> report
 *   kernel, ovn-trace, HTTP ─────────┘
 *
 * Networks are gathered with bounded concurrency; a failure to observe
 * something becomes the reason of that check, never an exception.
 */
import { execa } from 'execa';
import { dirname } from 'node:path';
import {
  DEVICE_ID,
  agentIdFor,
  decideRole,
  desiredNetwork,
  isBoundTo,
  localChassis,
  needsChecksumFill,
  ovsSsl,
  sbRemote as sbRemoteOf,
  sbSsl,
  type AgentConfig,
  type DesiredNetwork,
  type LocalChassis,
  type PortBinding,
} from '../agent/index.js';
import { registrationCheck } from './checks-sb.js';
import { holdersAmong, inspectPlumbing, namespaceListeners, type NamespaceEnv } from '../namespace/index.js';
import type { OvsdbClient, SslOptions } from '../ovsdb/index.js';
import { openOvs, openSb, type SbSnapshot } from './databases.js';
import { httpFromNamespace, httpThroughSocket } from './http.js';
import {
  judgeNetwork,
  proxyPrerequisite,
  proxyUrl,
  type NetworkObservation,
  type ProbeObservation,
} from './judge.js';
import {
  METADATA_IPV4,
  METADATA_IPV6,
  metadataMicroflow,
  parseTable0InPorts,
  vmSource,
} from './microflow.js';
import { OvnTrace } from './ovn-trace.js';
import { indexOvs, observeOvs, type OvsIndex } from './ovs-observe.js';
import type {
  Check,
  FlowObservation,
  HttpObservation,
  ReportIdentity,
  TraceObservation,
  VerifyReport,
} from './types.js';

export interface VerifyOptions {
  readonly config: AgentConfig;
  /** Only these networks (`--network`); default every network with VM ports bound here. */
  readonly networks?: readonly string[];
  /** Also request instance-id through metadata_proxy_socket for every local VM port. */
  readonly probe?: boolean;
  /** Per database connection and per ovn-trace start (default 10 s / 60 s). */
  readonly dbTimeoutMs?: number;
  readonly traceStartTimeoutMs?: number;
  /** Networks gathered at once (default 8). */
  readonly concurrency?: number;
  /** Tests: the namespace layer's host (default the real one). */
  readonly namespaceEnv?: Partial<NamespaceEnv>;
}

const HTTP_TIMEOUT_MS = 3000;
const PROBE_TIMEOUT_MS = 15_000;

export async function verifyChassis(o: VerifyOptions): Promise<VerifyReport> {
  const chassis = await openChassis(o.config, o.dbTimeoutMs ?? 10_000);
  const { role, reason } = decideRole(o.config);
  const identity: ReportIdentity = {
    role: role.name,
    agentType: role.agentType,
    binary: role.binary,
    reason,
    ...(chassis.kind === 'open' ? { agentId: agentIdFor(role, chassis.local.systemId as string) } : {}),
  };
  let trace: Promise<OvnTrace> | undefined;
  try {
    if (chassis.kind === 'failed') return { identity, chassis: chassis.checks, networks: [] };
    const { sb, ovs, local, sbRemote, ssl } = chassis;
    const registration = registrationCheck({
      role,
      systemId: local.systemId as string,
      agentId: identity.agentId as string,
      row: sb.view.chassisPrivate(local.systemId as string),
      nbCfg: sb.view.sbGlobalNbCfg(),
    });
    const ids = o.networks && o.networks.length > 0 ? [...new Set(o.networks)] : [...sb.localNetworks].sort();
    const intents = ids.map((id) => ({ id, intent: desiredNetwork(sb.view.inputs(id, sb.chassis)) }));
    // A served network has local VM ports by definition (desiredNetwork): it needs traces and flows.
    const anyServed = intents.some((n) => n.intent.kind === 'serve');
    if (anyServed) {
      trace = OvnTrace.start({
        db: sbRemote,
        ...(ssl ? { ssl } : {}),
        startTimeoutMs: o.traceStartTimeoutMs ?? 60_000,
      });
      trace.catch(() => undefined); // awaited per trace; a failure becomes their reason
    }
    const flows: FlowObservation = anyServed
      ? await readTable0(o.config.ovs.ovsdb_connection, local.bridge)
      : { kind: 'unreadable', reason: 'not read' };
    const ctx: GatherContext = {
      sb,
      ovsIndex: indexOvs({
        Bridge: ovs.replica.table('Bridge'),
        Port: ovs.replica.table('Port'),
        Interface: ovs.replica.table('Interface'),
      }),
      bridge: local.bridge,
      checksumFill: needsChecksumFill(local),
      flows,
      trace,
      probe: o.probe ? o.config.DEFAULT.metadata_proxy_socket : undefined,
      listenerHolder: o.config.ovnmeta.listener_holder_socket,
      namespaceEnv: o.namespaceEnv,
    };
    const observations = await mapLimit(intents, o.concurrency ?? 8, (n) =>
      observeNetwork(ctx, n.id, n.intent),
    );
    return { identity, chassis: [...chassis.checks, registration], networks: observations.map(judgeNetwork) };
  } finally {
    await Promise.allSettled([
      trace?.then((t) => t.close()),
      chassis.kind === 'open' ? chassis.sb.client.close() : undefined,
      chassis.ovs?.close(),
    ]);
  }
}

type OpenChassis =
  | { readonly kind: 'failed'; readonly checks: Check[]; readonly ovs?: OvsdbClient }
  | {
      readonly kind: 'open';
      readonly checks: Check[];
      readonly ovs: OvsdbClient;
      readonly sb: SbSnapshot;
      readonly local: LocalChassis;
      readonly sbRemote: string;
      readonly ssl: SslOptions | undefined;
    };

/** The chassis checks: the OVS db, who we are, the SB and our Chassis row. Never throws. */
async function openChassis(config: AgentConfig, timeoutMs: number): Promise<OpenChassis> {
  const checks: Check[] = [];
  const ovsRemote = config.ovs.ovsdb_connection;
  let ovs: OvsdbClient;
  try {
    ovs = await openOvs(ovsRemote, ovsSsl(config), timeoutMs);
    checks.push({ name: 'ovs-db', status: 'pass', detail: ovsRemote });
  } catch (err) {
    checks.push({ name: 'ovs-db', status: 'fail', reason: (err as Error).message });
    return { kind: 'failed', checks };
  }
  const local = localChassis(ovs.replica);
  if (local.systemId === undefined) {
    const reason =
      'Open_vSwitch external_ids:system-id is not set: ovn-controller is not set up on this host';
    checks.push({ name: 'chassis', status: 'fail', reason });
    return { kind: 'failed', checks, ovs };
  }
  // The agent's rule (sb-session.ts): config wins, else ovn-controller's ovn-remote.
  const sbRemote = sbRemoteOf(config, local);
  const ssl = sbSsl(config);
  let sb: SbSnapshot;
  try {
    sb = await openSb(sbRemote, ssl, local.systemId, timeoutMs);
    checks.push({ name: 'southbound', status: 'pass', detail: sbRemote });
  } catch (err) {
    checks.push({ name: 'southbound', status: 'fail', reason: (err as Error).message });
    return { kind: 'failed', checks, ovs };
  }
  checks.push(
    sb.chassis === undefined
      ? {
          name: 'chassis',
          status: 'fail',
          reason: `no SB Chassis row named ${local.systemId}: ovn-controller has not registered this chassis`,
        }
      : { name: 'chassis', status: 'pass', detail: `${local.systemId} (${sb.chassis})` },
  );
  return { kind: 'open', checks, ovs, sb, local, sbRemote, ssl };
}

interface GatherContext {
  readonly sb: SbSnapshot;
  readonly ovsIndex: OvsIndex;
  readonly bridge: string;
  readonly checksumFill: boolean;
  readonly flows: FlowObservation;
  readonly trace: Promise<OvnTrace> | undefined;
  /** metadata_proxy_socket with --probe, else undefined. */
  readonly probe: string | undefined;
  /** [ovnmeta] listener_holder_socket: the holder's command line names it. */
  readonly listenerHolder: string;
  readonly namespaceEnv: Partial<NamespaceEnv> | undefined;
}

/** The network's VM ports bound here: the ones a trace and a request can be made for (a port only requested here is not plugged yet). */
function localPortsOf(sb: SbSnapshot, networkId: string): readonly PortBinding[] {
  const chassis = sb.chassis;
  return chassis === undefined
    ? []
    : sb.view.inputs(networkId, chassis).localPorts.filter((p) => isBoundTo(p, chassis));
}

async function observeNetwork(
  ctx: GatherContext,
  id: string,
  intent: NetworkObservation['intent'],
): Promise<NetworkObservation> {
  if (intent.kind !== 'serve') return { id, intent };
  const d = intent.network;
  const ports = [...localPortsOf(ctx.sb, id)].sort((a, b) => a.logicalPort.localeCompare(b.logicalPort));
  const plumbingP = inspectPlumbing(
    {
      namespace: d.namespace,
      vethRoot: d.vethRoot,
      vethInside: d.vethInside,
      mac: d.mac,
      ...(d.mtu === undefined ? {} : { mtu: d.mtu }),
      addresses: d.addresses,
      checksumFill: ctx.checksumFill,
    },
    ctx.namespaceEnv,
  ).catch((err: Error) => ({ error: err.message }));
  const tracesP = Promise.all(
    ports.map(async (p) => ({ port: p.logicalPort, obs: await traceOne(ctx, d, p) })),
  );
  const plumbing = await plumbingP;
  const v4Due = proxyPrerequisite(d, plumbing, 4) === undefined;
  const v6Due = d.ipv6 && proxyPrerequisite(d, plumbing, 6) === undefined;
  const [ipv4, ipv6, probes, traces, listeners] = await Promise.all([
    v4Due ? httpFromNamespace(d.namespace, proxyUrl(4, d), HTTP_TIMEOUT_MS) : undefined,
    v6Due ? httpFromNamespace(d.namespace, proxyUrl(6, d), HTTP_TIMEOUT_MS) : undefined,
    ctx.probe === undefined ? undefined : probeAll(ctx.probe, id, ports),
    tracesP,
    v4Due || v6Due ? namespaceListeners(d.namespace, ctx.namespaceEnv) : undefined,
  ]);
  // Who holds port 80 (one read of /proc/*/fd per network).
  const holders = listeners && {
    listenerHolder: ctx.listenerHolder,
    ...(v4Due ? { ipv4: holdersAmong(listeners, METADATA_IPV4, 80) } : {}),
    ...(v6Due ? { ipv6: holdersAmong(listeners, METADATA_IPV6, 80) } : {}),
  };
  return {
    id,
    intent,
    served: {
      traces,
      plumbing,
      ovs: observeOvs(ctx.ovsIndex, ctx.bridge, d.vethRoot, d.metadataPort),
      flows: ctx.flows,
      checksumFill: ctx.checksumFill,
      proxy: { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) },
      ...(holders ? { holders } : {}),
      ...(probes ? { probes } : {}),
    },
  };
}

async function traceOne(ctx: GatherContext, d: DesiredNetwork, port: PortBinding): Promise<TraceObservation> {
  const flow = metadataMicroflow(port, d.mac);
  if (flow === undefined) {
    return {
      kind: 'error',
      reason: `port has no MAC with an IP address (mac column ${JSON.stringify(port.mac)})`,
    };
  }
  const destination = flow.family === 4 ? `${METADATA_IPV4}:80` : `[${METADATA_IPV6}]:80`;
  try {
    const t = await ctx.trace!;
    const minimal = await t.trace(d.datapath, flow.text, 'minimal');
    const seen = { kind: 'traced', sourceIp: flow.sourceIp, destination, minimal } as const;
    if (minimal.includes(`output("${d.metadataPort}")`)) return seen;
    // Missed: a detailed trace says at which stage the packet ended.
    const detailed = await t.trace(d.datapath, flow.text, 'detailed').catch(() => undefined);
    return detailed === undefined ? seen : { ...seen, detailed };
  } catch (err) {
    return { kind: 'error', reason: (err as Error).message };
  }
}

async function probeAll(
  socketPath: string,
  networkId: string,
  ports: readonly PortBinding[],
): Promise<{ socketPath: string; results: ProbeObservation[] }> {
  const results = await Promise.all(
    ports.map(async (p): Promise<ProbeObservation> => {
      const src = vmSource(p);
      const instanceId = p.externalIds.get(DEVICE_ID);
      if (socketPath === '') {
        const obs: HttpObservation = {
          kind: 'refused',
          reason: 'metadata_proxy_socket is empty in the config',
        };
        return { port: p.logicalPort, sourceIp: src?.ip ?? '?', instanceId, obs };
      }
      if (src === undefined) {
        const obs: HttpObservation = { kind: 'no-answer', reason: 'the port has no IP address to ask as' };
        return { port: p.logicalPort, sourceIp: '?', instanceId, obs };
      }
      const obs = await httpThroughSocket({
        socketPath,
        networkId,
        sourceIp: src.ip,
        path: '/latest/meta-data/instance-id',
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      return { port: p.logicalPort, sourceIp: src.ip, instanceId, obs };
    }),
  );
  return { socketPath, results };
}

/**
 * `ovs-ofctl dump-flows` of table 0 on the integration bridge: one spawn for
 * every network. The bridge's management socket lives next to the OVS db
 * socket (both in OVS_RUNDIR) when the db is reached over unix:.
 */
async function readTable0(ovsRemote: string, bridge: string): Promise<FlowObservation> {
  const target = ovsRemote.startsWith('unix:')
    ? `unix:${dirname(ovsRemote.slice(5))}/${bridge}.mgmt`
    : bridge;
  const r = await execa('ovs-ofctl', ['--no-names', '--no-stats', 'dump-flows', target, 'table=0'], {
    reject: false,
    stdin: 'ignore',
    timeout: 15_000,
  });
  if (r.exitCode !== 0) {
    return {
      kind: 'unreadable',
      reason: `ovs-ofctl dump-flows ${target} exited ${r.exitCode ?? '?'}: ${(r.stderr || r.shortMessage || '').trim()}`,
    };
  }
  return { kind: 'read', inPorts: parseTable0InPorts(r.stdout) };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
