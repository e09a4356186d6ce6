// The data of `ovnmeta verify`: what was observed on the chassis and the
// checks judged from it. The checks (checks-*.ts) are pure functions from
// the desired state (src/agent desiredNetwork) and these observations; the
// gatherers (gather-*.ts) are the only code that reads the host.
import type { ActualPlumbing } from '../namespace/index.js';

export type CheckName =
  // Southbound side
  | 'metadata-port'
  | 'localport-bound'
  | 'ovn-trace'
  // host side
  | 'namespace'
  | 'veth'
  | 'mac'
  | 'mtu'
  | 'addresses'
  | 'checksum-fill'
  | 'ovs-port'
  // the proxy
  | 'proxy-ipv4'
  | 'proxy-ipv6'
  | 'probe'
  // the chassis as a whole
  | 'ovs-db'
  | 'southbound'
  | 'chassis'
  | 'registration';

/**
 * One judged check. `skip`: not judged because something it needs failed
 * (named in `reason`); a skip only ever accompanies a failure, so it never
 * turns a report green.
 */
export interface Check {
  readonly name: CheckName;
  /** What the check is about when a network has several: the VM port of `ovn-trace` and `probe`. */
  readonly subject?: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** Why it failed or was skipped; names the object and what was wanted. */
  readonly reason?: string;
  /** What a pass saw, for the human table. */
  readonly detail?: string;
}

export interface NetworkReport {
  readonly id: string;
  readonly checks: readonly Check[];
}

/** Which neutron agent the configuration makes ovnmeta (src/agent/agent-role.ts). */
export interface ReportIdentity {
  /** 'metadata-agent' | 'ovn-neutron-agent' */
  readonly role: string;
  /** neutron's agent_type: 'OVN Metadata agent' | 'OVN Neutron agent' */
  readonly agentType: string;
  readonly binary: string;
  /** Why the configuration gives that role. */
  readonly reason: string;
  /** The agent id it writes, once the chassis is known. */
  readonly agentId?: string;
}

export interface VerifyReport {
  readonly identity?: ReportIdentity;
  /** Checks about the chassis, not one network (databases reachable, Chassis row). */
  readonly chassis: readonly Check[];
  readonly networks: readonly NetworkReport[];
}

/** The integration bridge as the local OVS database shows it, for one network. */
export interface OvsObservation {
  readonly bridge: string;
  /** Whether the integration bridge has a Bridge row. */
  readonly bridgeExists: boolean;
  /** Bridges whose `ports` hold the Port named vethRoot (none: no such Port). */
  readonly bridgesOfPort: readonly string[];
  /** The Interface named vethRoot, when a Port of that name holds it. */
  readonly iface?: {
    readonly ifaceId: string | undefined;
    /** Interface.ofport; -1 when vswitchd could not open the device, undefined before it tried. */
    readonly ofport: number | undefined;
    readonly error: string | undefined;
  };
  /** Other Interfaces with external_ids:iface-id = the metadata port, and their bridges. */
  readonly duplicates: readonly { readonly iface: string; readonly bridges: readonly string[] }[];
}

/**
 * The OpenFlow ports of the integration bridge that ovn-controller gave a
 * table 0 (physical-to-logical) flow, or the reason they could not be read.
 */
export type FlowObservation =
  | { readonly kind: 'read'; readonly inPorts: ReadonlySet<number> }
  | { readonly kind: 'unreadable'; readonly reason: string };

/**
 * The result of one `ovn-trace --minimal` (and, when it missed the metadata
 * port, a `--detailed` one that says where the packet ended), or why none ran.
 */
export type TraceObservation =
  | {
      readonly kind: 'traced';
      readonly sourceIp: string;
      /** `169.254.169.254:80` or `[fe80::a9fe:a9fe]:80`. */
      readonly destination: string;
      readonly minimal: string;
      readonly detailed?: string;
    }
  | { readonly kind: 'error'; readonly reason: string };

/** One HTTP request: the status line, or why none came. */
export type HttpObservation =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'no-answer'; readonly reason: string };

/** Everything observed for one served network (host side may be absent when it was not read). */
export interface HostObservation {
  readonly plumbing: ActualPlumbing | { readonly error: string };
  readonly ovs: OvsObservation;
  readonly flows: FlowObservation;
}
