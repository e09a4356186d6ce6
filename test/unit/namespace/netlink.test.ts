// netlink.ts on bytes: the requests of the plumbing steps, checked field by
// field against the rtnetlink layout (and one whole message byte for byte),
// and the decoding of dump replies captured from a real kernel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAddresses, decodeLinks, dumpRequest, stepRequest } from '../../../src/namespace/netlink.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/netlink-dump.json', import.meta.url), 'utf8'),
) as { links: string[]; addresses: string[] };
const hex = (chunks: string[]) => chunks.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

/** An independent reading of one request: header, fixed part and attributes (nested ones recursively). */
interface Attr {
  type: number;
  at: number;
  payload: Buffer;
}
function attrs(buf: Buffer, start: number, end: number): Attr[] {
  const out: Attr[] = [];
  for (let at = start; at < end;) {
    const len = buf.readUInt16LE(at);
    out.push({ type: buf.readUInt16LE(at + 2), at: at + 4, payload: buf.subarray(at + 4, at + len) });
    at += (len + 3) & ~3;
  }
  return out;
}
const find = (list: Attr[], type: number) => list.find((a) => a.type === type)!;
const str = (a: Attr) => a.payload.toString('latin1');

describe('stepRequest', () => {
  it('link delete: RTM_DELLINK by name, with an ACK asked, byte for byte', () => {
    const { bytes, patch } = stepRequest({ op: 'link-delete', link: 'tapabc' }, '/run/netns');
    expect(Buffer.from(bytes).toString('hex')).toBe(
      '2c000000' +
        '1100' +
        '0500' +
        '00000000' +
        '00000000' + // nlmsghdr: len 44, RTM_DELLINK, REQUEST|ACK
        '00000000' +
        '00000000' +
        '00000000' +
        '00000000' + // ifinfomsg: AF_UNSPEC, index 0
        '0b00' +
        '0300' +
        '74617061626300' +
        '00', // IFLA_IFNAME "tapabc\0", padded to 4
    );
    expect(patch).toBeUndefined();
  });

  it('veth add: the peer named, placed in the namespace by fd, with its MAC and both MTUs', () => {
    const { bytes, patch } = stepRequest(
      {
        op: 'veth-add',
        root: 'tapr0',
        inside: 'tapr1',
        namespace: 'ovnmeta-n',
        mac: 'fa:16:3e:00:00:01',
        mtu: 1442,
      },
      '/run/netns',
    );
    const buf = Buffer.from(bytes);
    expect(buf.readUInt32LE(0)).toBe(buf.length);
    expect(buf.readUInt16LE(4)).toBe(16); // RTM_NEWLINK
    expect(buf.readUInt16LE(6)).toBe(0x1 | 0x4 | 0x400 | 0x200); // REQUEST|ACK|CREATE|EXCL
    const top = attrs(buf, 32, buf.length);
    expect(str(find(top, 3))).toBe('tapr0\0');
    expect(find(top, 4).payload.readUInt32LE(0)).toBe(1442);
    const info = find(top, 18); // IFLA_LINKINFO
    const infoAttrs = attrs(buf, info.at, info.at + info.payload.length);
    expect(str(find(infoAttrs, 1))).toBe('veth\0');
    const data = find(infoAttrs, 2);
    const peer = find(attrs(buf, data.at, data.at + data.payload.length), 1); // VETH_INFO_PEER
    const peerAttrs = attrs(buf, peer.at + 16, peer.at + peer.payload.length); // after its ifinfomsg
    expect(str(find(peerAttrs, 3))).toBe('tapr1\0');
    expect(find(peerAttrs, 1).payload.toString('hex')).toBe('fa163e000001');
    expect(find(peerAttrs, 4).payload.readUInt32LE(0)).toBe(1442);
    const fd = find(peerAttrs, 28); // IFLA_NET_NS_FD
    expect(patch).toEqual({ offset: fd.at, kind: 'netns-fd', path: '/run/netns/ovnmeta-n' });
  });

  it('link set: by name, IFF_UP in flags and change; addrgenmode none nested under AF_INET6', () => {
    const up = Buffer.from(stepRequest({ op: 'link-set', namespace: 'n', link: 'lo', up: true }, '/x').bytes);
    expect(up.readUInt16LE(4)).toBe(19); // RTM_SETLINK
    expect([up.readUInt32LE(24), up.readUInt32LE(28)]).toEqual([1, 1]);
    const gen = Buffer.from(
      stepRequest({ op: 'link-set', namespace: 'n', link: 'tapx1', addrgenmodeNone: true }, '/x').bytes,
    );
    expect([gen.readUInt32LE(24), gen.readUInt32LE(28)]).toEqual([0, 0]); // not brought up with it
    const spec = find(attrs(gen, 32, gen.length), 26);
    const inet6 = find(attrs(gen, spec.at, spec.at + spec.payload.length), 10);
    expect(find(attrs(gen, inet6.at, inet6.at + inet6.payload.length), 8).payload).toEqual(Buffer.of(1));
  });

  it('addr replace: CREATE|REPLACE, the link index left to the sender, IPv6 without DAD', () => {
    const v6 = stepRequest(
      { op: 'addr-add', namespace: 'n', link: 'tapx1', cidr: 'fe80::f816:3eff:fe9d:cc52/64' },
      '/x',
    );
    const buf = Buffer.from(v6.bytes);
    expect(buf.readUInt16LE(4)).toBe(20); // RTM_NEWADDR
    expect(buf.readUInt16LE(6)).toBe(0x1 | 0x4 | 0x400 | 0x100);
    expect([buf[16], buf[17], buf[18]]).toEqual([10, 64, 0x02]); // AF_INET6, /64, IFA_F_NODAD
    expect(v6.patch).toEqual({ offset: 20, kind: 'ifindex', link: 'tapx1' });
    const a = attrs(buf, 24, buf.length);
    expect(find(a, 2).payload.toString('hex')).toBe('fe80000000000000f8163efffe9dcc52');
    expect(find(a, 1).payload).toEqual(find(a, 2).payload);

    const del = Buffer.from(
      stepRequest({ op: 'addr-delete', namespace: 'n', link: 'tapx1', cidr: '10.9.9.2/24' }, '/x').bytes,
    );
    expect(del.readUInt16LE(4)).toBe(21); // RTM_DELADDR
    expect(del.readUInt16LE(6)).toBe(0x1 | 0x4);
    expect([del[16], del[17], del[18]]).toEqual([2, 24, 0]);
    expect(find(attrs(del, 24, del.length), 2).payload).toEqual(Buffer.of(10, 9, 9, 2));
  });

  it('dumps ask for every link or address (NLM_F_DUMP)', () => {
    for (const [what, type] of [
      ['links', 18],
      ['addresses', 22],
    ] as const) {
      const buf = Buffer.from(dumpRequest(what).bytes);
      expect([buf.readUInt16LE(4), buf.readUInt16LE(6)]).toEqual([type, 0x301]);
    }
  });
});

describe('decoding dump replies captured from the kernel', () => {
  it('links: lo, and the veth with its peer across namespaces, MAC, MTU and state', () => {
    const links = decodeLinks(hex(fixture.links));
    expect(links.map((l) => l.ifname)).toEqual(['lo', 'tapcap1']);
    expect(links[0]).toMatchObject({ ifindex: 1, up: true, mtu: 65536 });
    const veth = links[1]!;
    expect(veth).toMatchObject({ kind: 'veth', mac: 'fa:16:3e:9d:cc:52', mtu: 1442, up: true });
    expect(veth.link).toBeGreaterThan(0);
    expect(veth.linkNetnsid).toBeGreaterThanOrEqual(0);
    expect(links[0]!.linkNetnsid).toBeUndefined();
  });

  it('addresses: canonical CIDRs per link, in kernel order', () => {
    const veth = decodeLinks(hex(fixture.links))[1]!;
    const addresses = decodeAddresses(hex(fixture.addresses));
    expect(addresses.filter((a) => a.ifindex === veth.ifindex).map((a) => a.cidr)).toEqual([
      '169.254.169.254/32',
      '172.16.100.2/24',
      'fe80::a9fe:a9fe/128',
    ]);
    expect(addresses.filter((a) => a.ifindex === 1).map((a) => a.cidr)).toEqual(['127.0.0.1/8', '::1/128']);
  });

  it('a truncated reply is an error, not a shorter list', () => {
    const whole = Buffer.from(fixture.links[0]!, 'hex');
    expect(() => decodeLinks([whole.subarray(0, whole.length - 8)])).toThrow(RangeError);
    expect(() => decodeAddresses([Buffer.from('ff000000140002000000', 'hex')])).not.toThrow(); // short tail: ignored
  });
});
