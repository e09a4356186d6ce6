// The data the namespace layer works on: what one network's plumbing should
// be (DesiredPlumbing, computed by the agent), what the host has
// (ActualPlumbing, read by inspectPlumbing) and the steps between them
// (PlumbingStep, computed by planPlumbing, run by applyPlumbing).

/** docs/architecture.md "src/namespace". */
export interface DesiredPlumbing {
  /** `ovnmeta-<network id>` (names.ts namespaceName). */
  readonly namespace: string;
  /** `tap<first 10 of id>0`, in the root netns, plugged into br-int. */
  readonly vethRoot: string;
  /** `tap<first 10 of id>1`, inside the namespace. */
  readonly vethInside: string;
  /** The metadata port's MAC, set on the inside end. */
  readonly mac: string;
  /** `neutron:mtu`, set on both ends; undefined leaves the MTU as it is. */
  readonly mtu?: number;
  /**
   * CIDRs wanted on the inside end, exactly: 169.254.169.254/32, the metadata
   * port's IPv4 CIDRs, and with IPv6 fe80::a9fe:a9fe/128 plus
   * `${eui64LinkLocal(mac)}/64`. Anything else found there is removed.
   */
  readonly addresses: readonly string[];
  /** netdev (userspace) datapath: TCP checksums must be filled in software. */
  readonly checksumFill: boolean;
}

/** The root end of the veth as sysfs shows it (/sys/class/net/<name>). */
export interface RootLink {
  readonly ifindex: number;
  /** iflink: the peer's ifindex for a veth, the link's own for most others. */
  readonly peerIfindex: number;
  readonly mtu: number;
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
}

/** The inside end as the namespace's rtnetlink dumps report it (what `ip -n NS -d addr show` prints). */
export interface InsideLink {
  readonly ifindex: number;
  /** IFLA_LINK: the peer's ifindex (in the peer's netns); undefined for unpaired kinds. */
  readonly peerIfindex?: number;
  /** IFLA_LINK_NETNSID present: the peer lives in another netns. */
  readonly peerInOtherNetns: boolean;
  /** IFLA_INFO_KIND, e.g. 'veth'. */
  readonly kind?: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** Canonical CIDRs (cidr.ts), in kernel order. */
  readonly addresses: readonly string[];
}

export interface ActualPlumbing {
  /**
   * 'stale': /run/netns/<name> exists but is no netns mount (a crash between
   * `ip netns add`'s create and bind mount, or a leftover after a reboot
   * with a persistent /run); setns(2) cannot enter it.
   */
  readonly namespace: 'absent' | 'present' | 'stale';
  /** Undefined: no link of that name in the root netns. */
  readonly root?: RootLink;
  /** Undefined when the namespace is not present. */
  readonly loopbackUp?: boolean;
  /** Undefined: no link of that name in the namespace (or no namespace). */
  readonly inside?: InsideLink;
  /**
   * tx checksum offload of the inside end; read only when checksumFill is
   * wanted and the pair is sound, else undefined.
   */
  readonly txChecksumOffload?: boolean;
  /** The kernel has IPv6 (not booted with ipv6.disable=1). */
  readonly ipv6: boolean;
}

/**
 * One change to the host. `namespace` undefined means the root netns. Each
 * step is one in-process kernel call (kernel.ts): an rtnetlink request, a
 * netns add or delete, or SIOCETHTOOL for `tx-checksum-off`; batchLine
 * (apply.ts) says each as the `ip` or `ethtool` line it stands for.
 */
export type PlumbingStep =
  | { readonly op: 'netns-delete'; readonly namespace: string }
  | { readonly op: 'netns-add'; readonly namespace: string }
  | { readonly op: 'link-delete'; readonly namespace?: string; readonly link: string }
  | {
      readonly op: 'veth-add';
      readonly root: string;
      readonly inside: string;
      /** The inside end is created directly in this namespace. */
      readonly namespace: string;
      /** MAC of the inside end. */
      readonly mac: string;
      /** MTU of both ends. */
      readonly mtu?: number;
    }
  | {
      readonly op: 'link-set';
      readonly namespace?: string;
      readonly link: string;
      readonly mac?: string;
      readonly mtu?: number;
      /** No kernel-made IPv6 addresses (the SLAAC/EUI-64 link-local). */
      readonly addrgenmodeNone?: true;
      readonly up?: true;
    }
  | { readonly op: 'addr-delete'; readonly namespace: string; readonly link: string; readonly cidr: string }
  | { readonly op: 'addr-add'; readonly namespace: string; readonly link: string; readonly cidr: string }
  | { readonly op: 'tx-checksum-off'; readonly namespace: string; readonly link: string };

export type PlumbingOutcome = 'unchanged' | 'created' | 'updated';
