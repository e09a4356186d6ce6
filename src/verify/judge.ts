// Turns everything observed about one network into its checks, in report
// order: Southbound side, host side, proxy. Pure; the prerequisites of the
// proxy checks are shared with the gatherer so that it spends no spawn on a
// request whose answer would be skipped anyway.
import type { DesiredNetwork, NetworkIntent } from '../agent/index.js';
import { isSoundPair, type ActualPlumbing, type PortHolders } from '../namespace/index.js';
import { localportCheck, metadataPortCheck, traceCheck } from './checks-sb.js';
import { ovsPortCheck, plumbingChecks } from './checks-host.js';
import { probeCheck, proxyCheck } from './checks-proxy.js';
import { METADATA_IPV4, METADATA_IPV6 } from './microflow.js';
import type {
  Check,
  FlowObservation,
  HttpObservation,
  NetworkReport,
  OvsObservation,
  TraceObservation,
} from './types.js';

export interface ProbeObservation {
  readonly port: string;
  readonly sourceIp: string;
  readonly instanceId: string | undefined;
  readonly obs: HttpObservation;
}

export interface NetworkObservation {
  readonly id: string;
  readonly intent: NetworkIntent;
  /** Present when the intent is 'serve'. */
  readonly served?: {
    readonly traces: readonly { readonly port: string; readonly obs: TraceObservation }[];
    readonly plumbing: ActualPlumbing | { readonly error: string };
    readonly ovs: OvsObservation;
    readonly flows: FlowObservation;
    readonly checksumFill: boolean;
    /** Undefined when its prerequisite failed (see proxyPrerequisite). */
    readonly proxy: { readonly ipv4?: HttpObservation; readonly ipv6?: HttpObservation };
    /**
     * Who holds the metadata port in the namespace, per family, and the
     * listener holder's control socket (its command line names it): a
     * process other than ovnmeta's listener holder fails the proxy check.
     * Absent when not observed.
     */
    readonly holders?: {
      readonly listenerHolder: string;
      readonly ipv4?: PortHolders;
      readonly ipv6?: PortHolders;
    };
    /** Only with --probe. */
    readonly probes?: { readonly socketPath: string; readonly results: readonly ProbeObservation[] };
  };
}

export const proxyUrl = (family: 4 | 6, d: DesiredNetwork): string =>
  family === 4 ? `http://${METADATA_IPV4}:80/` : `http://[${METADATA_IPV6}%${d.vethInside}]:80/`;

/**
 * Why a request to the metadata address from inside the namespace cannot be
 * meaningful (namespace or veth missing or down, the address absent), or
 * undefined when it should be made.
 */
export function proxyPrerequisite(
  d: DesiredNetwork,
  p: ActualPlumbing | { readonly error: string },
  family: 4 | 6,
): string | undefined {
  if ('error' in p || p.namespace !== 'present') return 'not checked: see namespace';
  if (!isSoundPair(p) || !p.inside!.up || !p.root!.up) return 'not checked: see veth';
  const address = family === 4 ? `${METADATA_IPV4}/32` : `${METADATA_IPV6}/128`;
  if (!p.inside!.addresses.includes(address)) return `not checked: ${address} is missing (see addresses)`;
  return undefined;
}

export function judgeNetwork(o: NetworkObservation): NetworkReport {
  const checks: Check[] = [metadataPortCheck(o.intent)];
  const s = o.served;
  if (o.intent.kind !== 'serve' || s === undefined) return { id: o.id, checks };
  const d = o.intent.network;

  for (const t of s.traces) checks.push(traceCheck(t.port, d.metadataPort, t.obs));

  checks.push(
    ...plumbingChecks({ desired: d, plumbing: s.plumbing, ovs: s.ovs, checksumFill: s.checksumFill }),
  );
  const ovsPort = ovsPortCheck(d, s.ovs);
  checks.push(ovsPort);
  const rootMissing = !('error' in s.plumbing) && s.plumbing.root === undefined;
  checks.push(
    ovsPort.status !== 'pass'
      ? { name: 'localport-bound', status: 'skip', reason: 'not checked: see ovs-port' }
      : rootMissing
        ? { name: 'localport-bound', status: 'skip', reason: 'not checked: see veth' }
        : localportCheck(d.vethRoot, d.metadataPort, s.ovs, s.flows),
  );

  for (const [family, name, obs] of [
    [4, 'proxy-ipv4', s.proxy.ipv4],
    [6, 'proxy-ipv6', s.proxy.ipv6],
  ] as const) {
    if (family === 6 && !d.ipv6) continue;
    const why = proxyPrerequisite(d, s.plumbing, family);
    if (why !== undefined || obs === undefined) {
      checks.push({ name, status: 'skip', reason: why ?? 'not checked' });
    } else {
      const holders = s.holders?.[family === 4 ? 'ipv4' : 'ipv6'];
      checks.push(
        proxyCheck(
          name,
          proxyUrl(family, d),
          d.namespace,
          obs,
          holders && { holders, listenerHolder: s.holders!.listenerHolder },
        ),
      );
    }
  }

  for (const p of s.probes?.results ?? []) {
    checks.push(probeCheck(p.port, p.sourceIp, p.instanceId, s.probes!.socketPath, p.obs));
  }
  return { id: o.id, checks };
}
