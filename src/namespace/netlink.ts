// rtnetlink (NETLINK_ROUTE) messages for the plumbing steps, and the
// decoding of link and address dumps: pure bytes, no socket (kernel.ts sends
// them). What each step encodes is what `ip` sends for the same batch line
// (batchLine in apply.ts, kept as the step's description):
//
//   link add R [mtu M] type veth peer name I netns NS address MAC [mtu M]
//       RTM_NEWLINK CREATE|EXCL: IFLA_IFNAME R, IFLA_MTU, IFLA_LINKINFO {
//       KIND "veth", DATA { VETH_INFO_PEER: ifinfomsg, IFLA_IFNAME I,
//       IFLA_NET_NS_FD <fd of NS>, IFLA_ADDRESS, IFLA_MTU } }
//   link set dev L [address A] [mtu M] [addrgenmode none] [up]
//       RTM_SETLINK by IFLA_IFNAME; IFF_UP in ifi_flags/ifi_change;
//       IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE NONE } }
//   link delete dev L          RTM_DELLINK by IFLA_IFNAME
//   addr replace C dev L [nodad]
//       RTM_NEWADDR CREATE|REPLACE: ifaddrmsg (IFA_F_NODAD for IPv6),
//       IFA_LOCAL, IFA_ADDRESS
//   addr del C dev L           RTM_DELADDR: ifaddrmsg, IFA_LOCAL, IFA_ADDRESS
//
// Two values are only known where the message is sent, in the namespace it
// acts on: an address's link index, and the fd of the namespace a veth peer
// goes to. The encoder leaves a u32 there and says where (`patch`); kernel.ts
// writes it just before sending. Every request asks for an ACK: the kernel
// answers each with an NLMSG_ERROR whose error is 0 or -errno.
import { formatIpValue, ipValue, parseCidr } from '../common/address.js';
import type { PlumbingStep } from './types.js';

const NLMSG_HDRLEN = 16;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_SETLINK = 19;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_LINKINFO = 18;
const IFLA_AF_SPEC = 26;
const IFLA_NET_NS_FD = 28;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_F_NODAD = 0x02;

/** A u32 in the message that only the sender can fill in. */
export type NetlinkPatch =
  /** ifindex of this link, looked up in the namespace the message is sent in. */
  | { readonly offset: number; readonly kind: 'ifindex'; readonly link: string }
  /** fd of this namespace file, opened by the sender. */
  | { readonly offset: number; readonly kind: 'netns-fd'; readonly path: string };

export interface NetlinkRequest {
  readonly bytes: Uint8Array;
  readonly patch?: NetlinkPatch;
}

/** Builds one message; nested attributes get their length when closed. */
class MessageWriter {
  #buf = Buffer.alloc(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #room(n: number): number {
    if (this.#len + n > this.#buf.length) {
      const bigger = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
      this.#buf.copy(bigger, 0, 0, this.#len);
      this.#buf = bigger;
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  u8(v: number): this {
    this.#buf.writeUInt8(v, this.#room(1));
    return this;
  }
  u16(v: number): this {
    this.#buf.writeUInt16LE(v, this.#room(2));
    return this;
  }
  u32(v: number): this {
    this.#buf.writeUInt32LE(v >>> 0, this.#room(4));
    return this;
  }
  i32(v: number): this {
    this.#buf.writeInt32LE(v, this.#room(4));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#buf.set(b, this.#room(b.length));
    return this;
  }
  #align(): void {
    const pad = (4 - (this.#len % 4)) % 4;
    this.#room(pad); // zero-filled by alloc
  }

  /** nlmsghdr; its length is set by done(). */
  header(type: number, flags: number): this {
    return this.u32(0).u16(type).u16(flags).u32(0).u32(0);
  }
  /** struct ifinfomsg */
  ifinfo(index: number, flags: number, change: number): this {
    return this.u8(AF_UNSPEC).u8(0).u16(0).i32(index).u32(flags).u32(change);
  }
  /** struct ifaddrmsg; returns the offset of ifa_index. */
  ifaddr(family: number, prefixlen: number, flags: number): number {
    this.u8(family).u8(prefixlen).u8(flags).u8(0);
    const at = this.#len;
    this.u32(0);
    return at;
  }

  /** Opens an attribute; close it with end(). */
  begin(type: number): number {
    const at = this.#len;
    this.u16(0).u16(type);
    return at;
  }
  end(at: number): this {
    this.#buf.writeUInt16LE(this.#len - at, at);
    this.#align();
    return this;
  }
  attr(type: number, payload: Uint8Array): this {
    const at = this.begin(type);
    this.bytes(payload);
    return this.end(at);
  }
  attrU32(type: number, v: number): number {
    const at = this.begin(type);
    const payload = this.#len;
    this.u32(v).end(at);
    return payload;
  }
  attrString(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`, 'latin1'));
  }

  done(): Uint8Array {
    this.#buf.writeUInt32LE(this.#len, 0);
    return this.#buf.subarray(0, this.#len);
  }
}

/** The rtnetlink request of one step (any step but netns-add, netns-delete and tx-checksum-off). */
export function stepRequest(
  step: Extract<PlumbingStep, { op: 'veth-add' | 'link-set' | 'link-delete' | 'addr-add' | 'addr-delete' }>,
  netnsDir: string,
): NetlinkRequest {
  const w = new MessageWriter();
  switch (step.op) {
    case 'veth-add': {
      w.header(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL).ifinfo(0, 0, 0);
      w.attrString(IFLA_IFNAME, step.root);
      if (step.mtu !== undefined) w.attrU32(IFLA_MTU, step.mtu);
      const info = w.begin(IFLA_LINKINFO);
      w.attrString(IFLA_INFO_KIND, 'veth');
      const data = w.begin(IFLA_INFO_DATA);
      const peer = w.begin(VETH_INFO_PEER);
      w.ifinfo(0, 0, 0);
      w.attrString(IFLA_IFNAME, step.inside);
      const fdAt = w.attrU32(IFLA_NET_NS_FD, 0);
      w.attr(IFLA_ADDRESS, macBytes(step.mac));
      if (step.mtu !== undefined) w.attrU32(IFLA_MTU, step.mtu);
      w.end(peer).end(data).end(info);
      return {
        bytes: w.done(),
        patch: { offset: fdAt, kind: 'netns-fd', path: `${netnsDir}/${step.namespace}` },
      };
    }
    case 'link-set': {
      const up = step.up === true ? IFF_UP : 0;
      w.header(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK).ifinfo(0, up, up);
      w.attrString(IFLA_IFNAME, step.link);
      if (step.mac !== undefined) w.attr(IFLA_ADDRESS, macBytes(step.mac));
      if (step.mtu !== undefined) w.attrU32(IFLA_MTU, step.mtu);
      if (step.addrgenmodeNone) {
        const spec = w.begin(IFLA_AF_SPEC);
        const inet6 = w.begin(AF_INET6);
        w.attr(IFLA_INET6_ADDR_GEN_MODE, Uint8Array.of(IN6_ADDR_GEN_MODE_NONE));
        w.end(inet6).end(spec);
      }
      return { bytes: w.done() };
    }
    case 'link-delete':
      w.header(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK).ifinfo(0, 0, 0);
      w.attrString(IFLA_IFNAME, step.link);
      return { bytes: w.done() };
    case 'addr-add':
    case 'addr-delete': {
      const cidr = parseCidr(step.cidr);
      if (cidr === undefined) throw new TypeError(`not a CIDR: ${step.cidr}`);
      const v6 = cidr.family === 6;
      const add = step.op === 'addr-add';
      w.header(
        add ? RTM_NEWADDR : RTM_DELADDR,
        NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0),
      );
      // IPv6 nodad: see batchLine in apply.ts.
      const indexAt = w.ifaddr(v6 ? AF_INET6 : AF_INET, cidr.prefixlen, add && v6 ? IFA_F_NODAD : 0);
      const addr = addressBytes(cidr.address);
      w.attr(IFA_LOCAL, addr).attr(IFA_ADDRESS, addr);
      return { bytes: w.done(), patch: { offset: indexAt, kind: 'ifindex', link: step.link } };
    }
  }
}

/** A dump of every link (RTM_GETLINK) or address (RTM_GETADDR) of the namespace it is sent in. */
export function dumpRequest(what: 'links' | 'addresses'): NetlinkRequest {
  const w = new MessageWriter();
  if (what === 'links') w.header(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP).ifinfo(0, 0, 0);
  else w.header(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).ifaddr(AF_UNSPEC, 0, 0);
  return { bytes: w.done() };
}

/** One link of a RTM_GETLINK dump. */
export interface DumpedLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly up: boolean;
  readonly mtu: number;
  /** Lower-case MAC text; '' when the link has none. */
  readonly mac: string;
  /** IFLA_LINK: a veth's peer ifindex (in the peer's namespace). */
  readonly link?: number;
  /** IFLA_LINK_NETNSID present: the peer is in another namespace. */
  readonly linkNetnsid?: number;
  /** IFLA_INFO_KIND, e.g. 'veth'. */
  readonly kind?: string;
}

/** One address of a RTM_GETADDR dump. */
export interface DumpedAddress {
  readonly ifindex: number;
  /** Canonical `addr/len` (IFA_LOCAL, else IFA_ADDRESS). */
  readonly cidr: string;
}

/**
 * The messages of a reply, one by one: [type, payload] over the
 * buffers kernel.ts received. Throws on a truncated or inconsistent message.
 */
function* messages(chunks: readonly Uint8Array[]): Generator<[number, Buffer]> {
  for (const chunk of chunks) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at + NLMSG_HDRLEN <= buf.length) {
      const len = buf.readUInt32LE(at);
      if (len < NLMSG_HDRLEN || at + len > buf.length)
        throw new RangeError(`netlink message of length ${len}`);
      yield [buf.readUInt16LE(at + 4), buf.subarray(at + NLMSG_HDRLEN, at + len)];
      at += align4(len);
    }
  }
}

/** Attributes from `start` to the end of `buf`: type (nested flag cleared) → payload. */
function attributes(buf: Buffer, start: number): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  let at = start;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt16LE(at);
    if (len < 4 || at + len > buf.length) throw new RangeError(`netlink attribute of length ${len}`);
    attrs.set(buf.readUInt16LE(at + 2) & 0x3fff, buf.subarray(at + 4, at + len));
    at += align4(len);
  }
  return attrs;
}

/** The links of a RTM_GETLINK dump reply. Throws RangeError on malformed bytes. */
export function decodeLinks(chunks: readonly Uint8Array[]): DumpedLink[] {
  const links: DumpedLink[] = [];
  for (const [type, body] of messages(chunks)) {
    if (type !== RTM_NEWLINK) continue;
    if (body.length < 16) throw new RangeError('short ifinfomsg');
    const a = attributes(body, 16);
    const name = a.get(IFLA_IFNAME);
    const mtu = a.get(IFLA_MTU);
    if (name === undefined || mtu === undefined) throw new RangeError('link without IFLA_IFNAME or IFLA_MTU');
    const kind = a.get(IFLA_LINKINFO) && attributes(a.get(IFLA_LINKINFO)!, 0).get(IFLA_INFO_KIND);
    const link = a.get(IFLA_LINK);
    const nsid = a.get(IFLA_LINK_NETNSID);
    const mac = a.get(IFLA_ADDRESS);
    links.push({
      ifindex: body.readInt32LE(4),
      ifname: cString(name),
      up: (body.readUInt32LE(8) & IFF_UP) !== 0,
      mtu: mtu.readUInt32LE(0),
      mac: mac === undefined ? '' : [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':'),
      ...(link === undefined ? {} : { link: link.readUInt32LE(0) }),
      ...(nsid === undefined ? {} : { linkNetnsid: nsid.readInt32LE(0) }),
      ...(kind === undefined ? {} : { kind: cString(kind) }),
    });
  }
  return links;
}

/** The IPv4 and IPv6 addresses of a RTM_GETADDR dump reply, in kernel order. */
export function decodeAddresses(chunks: readonly Uint8Array[]): DumpedAddress[] {
  const out: DumpedAddress[] = [];
  for (const [type, body] of messages(chunks)) {
    if (type !== RTM_NEWADDR) continue;
    if (body.length < 8) throw new RangeError('short ifaddrmsg');
    const family = body.readUInt8(0);
    if (family !== AF_INET && family !== AF_INET6) continue;
    const a = attributes(body, 8);
    const addr = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
    if (addr === undefined) continue;
    if (addr.length !== (family === AF_INET ? 4 : 16)) throw new RangeError('address of the wrong length');
    const text = addressText(addr);
    const cidr = parseCidr(`${text}/${body.readUInt8(1)}`);
    if (cidr === undefined) throw new RangeError(`unparsable address ${text}/${body.readUInt8(1)}`);
    out.push({ ifindex: body.readUInt32LE(4), cidr: cidr.text });
  }
  return out;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, nul === -1 ? b.length : nul);
}

function macBytes(mac: string): Uint8Array {
  const bytes = mac.split(':').map((h) => Number.parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => !(b >= 0 && b <= 255)))
    throw new TypeError(`not a MAC: ${mac}`);
  return Uint8Array.from(bytes);
}

function addressBytes(address: string): Uint8Array {
  const ip = ipValue(address);
  if (ip === undefined) throw new TypeError(`not an address: ${address}`);
  const out = new Uint8Array(ip.family === 4 ? 4 : 16);
  let v = ip.value;
  for (let i = out.length - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

function addressText(b: Buffer): string {
  let value = 0n;
  for (const byte of b) value = (value << 8n) | BigInt(byte);
  return formatIpValue({ family: b.length === 4 ? 4 : 6, value });
}
