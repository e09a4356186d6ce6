// planPlumbing on data: every way one network's plumbing can be found on a
// host, and the exact steps (and kernel batches) that repair it.
import { describe, expect, it } from 'vitest';
import { eui64LinkLocal } from '../../../src/common/address.js';
import {
  planPlumbing,
  plumbingBatches,
  type ActualPlumbing,
  type DesiredPlumbing,
  type PlumbingStep,
} from '../../../src/namespace/index.js';

const NS = 'ovnmeta-76af9baf-9fa4-4631-8f1d-5610ef87a036';
const ROOT = 'tap76af9baf-90';
const IN = 'tap76af9baf-91';
const MAC = 'fa:16:3e:9d:cc:52';
const LL = `${eui64LinkLocal(MAC)}/64`;

const desired: DesiredPlumbing = {
  namespace: NS,
  vethRoot: ROOT,
  vethInside: IN,
  mac: MAC,
  mtu: 1442,
  addresses: ['169.254.169.254/32', '172.16.100.2/24'],
  checksumFill: false,
};

/** The host exactly as `desired` wants it. */
const right: ActualPlumbing = {
  namespace: 'present',
  ipv6: true,
  loopbackUp: true,
  root: { ifindex: 40, peerIfindex: 2, mtu: 1442, up: true },
  inside: {
    ifindex: 2,
    peerIfindex: 40,
    peerInOtherNetns: true,
    kind: 'veth',
    mac: MAC,
    mtu: 1442,
    up: true,
    addresses: ['169.254.169.254/32', '172.16.100.2/24'],
  },
};

const withInside = (patch: Partial<NonNullable<ActualPlumbing['inside']>>): ActualPlumbing => ({
  ...right,
  inside: { ...right.inside!, ...patch },
});
const withRoot = (patch: Partial<NonNullable<ActualPlumbing['root']>>): ActualPlumbing => ({
  ...right,
  root: { ...right.root!, ...patch },
});

const loUp: PlumbingStep = { op: 'link-set', namespace: NS, link: 'lo', up: true };
const vethAdd: PlumbingStep = { op: 'veth-add', root: ROOT, inside: IN, namespace: NS, mac: MAC, mtu: 1442 };
const rootUp: PlumbingStep = { op: 'link-set', link: ROOT, up: true };
const insideUp: PlumbingStep = { op: 'link-set', namespace: NS, link: IN, up: true };
const noAddrgen: PlumbingStep = { op: 'link-set', namespace: NS, link: IN, addrgenmodeNone: true };
const add = (cidr: string): PlumbingStep => ({ op: 'addr-add', namespace: NS, link: IN, cidr });
const del = (cidr: string): PlumbingStep => ({ op: 'addr-delete', namespace: NS, link: IN, cidr });
const txOff: PlumbingStep = { op: 'tx-checksum-off', namespace: NS, link: IN };
/** What a new pair in an existing, sound namespace gets after the root batch. */
const freshInside = [noAddrgen, add('169.254.169.254/32'), add('172.16.100.2/24'), insideUp];

describe('planPlumbing: fresh', () => {
  const fresh: ActualPlumbing = { namespace: 'absent', ipv6: true };

  it('creates namespace, pair, addresses and links up, in two kernel batches', () => {
    const steps = planPlumbing(desired, fresh);
    expect(steps).toEqual([{ op: 'netns-add', namespace: NS }, vethAdd, rootUp, loUp, ...freshInside]);
    expect(plumbingBatches(steps).map(({ namespace, lines }) => ({ namespace, lines }))).toEqual([
      {
        namespace: undefined,
        lines: [
          `netns add ${NS}`,
          `link add ${ROOT} mtu 1442 type veth peer name ${IN} netns ${NS} address ${MAC} mtu 1442`,
          `link set dev ${ROOT} up`,
        ],
      },
      {
        namespace: NS,
        lines: [
          'link set dev lo up',
          `link set dev ${IN} addrgenmode none`,
          `addr replace 169.254.169.254/32 dev ${IN}`,
          `addr replace 172.16.100.2/24 dev ${IN}`,
          `link set dev ${IN} up`,
        ],
      },
    ]);
  });

  it('checksum fill adds the tx offload step to the namespace batch (still two batches)', () => {
    const steps = planPlumbing({ ...desired, checksumFill: true }, fresh);
    expect(steps.at(-1)).toEqual(txOff);
    const batches = plumbingBatches(steps);
    expect(batches.map((b) => b.namespace)).toEqual([undefined, NS]);
    expect(batches[1]!.lines.at(-1)).toBe(`ethtool -K ${IN} tx off`);
    expect(batches[1]!.ops.at(-1)).toEqual({ op: 'ethtool', link: IN, set: false });
  });

  it('leaves addrgenmode alone on a kernel without IPv6', () => {
    expect(planPlumbing(desired, { namespace: 'absent', ipv6: false })).not.toContainEqual(noAddrgen);
  });

  it('leaves the MTU to the kernel when none is wanted', () => {
    const { mtu: _mtu, ...noMtu } = desired;
    const steps = planPlumbing(noMtu, fresh);
    expect(steps[1]).toEqual({ op: 'veth-add', root: ROOT, inside: IN, namespace: NS, mac: MAC });
    expect(plumbingBatches(steps)[0]!.lines[1]).toBe(
      `link add ${ROOT} type veth peer name ${IN} netns ${NS} address ${MAC}`,
    );
  });

  it('adds IPv6 addresses without DAD', () => {
    const v6 = { ...desired, addresses: [...desired.addresses, 'fe80::a9fe:a9fe/128', LL] };
    const lines = plumbingBatches(planPlumbing(v6, fresh))[1]!.lines;
    expect(lines).toContain(`addr replace fe80::a9fe:a9fe/128 dev ${IN} nodad`);
    expect(lines).toContain(`addr replace fe80::f816:3eff:fe9d:cc52/64 dev ${IN} nodad`);
    // addrgenmode none comes before up, never on the same line
    expect(lines.indexOf(`link set dev ${IN} addrgenmode none`)).toBeLessThan(
      lines.indexOf(`link set dev ${IN} up`),
    );
  });
});

describe('planPlumbing: converged', () => {
  it('plans nothing when everything is right', () => {
    expect(planPlumbing(desired, right)).toEqual([]);
  });

  it('plans nothing when checksum offload is already off', () => {
    expect(planPlumbing({ ...desired, checksumFill: true }, { ...right, txChecksumOffload: false })).toEqual(
      [],
    );
  });

  it('turns offload off when it is on, or was not read', () => {
    expect(planPlumbing({ ...desired, checksumFill: true }, { ...right, txChecksumOffload: true })).toEqual([
      txOff,
    ]);
    expect(planPlumbing({ ...desired, checksumFill: true }, right)).toEqual([txOff]);
  });

  it('leaves offload off when checksum fill is no longer wanted', () => {
    expect(planPlumbing(desired, { ...right, txChecksumOffload: false })).toEqual([]);
  });

  it('compares MACs and CIDRs in canonical form and ignores duplicates', () => {
    const shouty = {
      ...desired,
      mac: MAC.toUpperCase(),
      addresses: ['169.254.169.254/32', '172.16.100.2/24', '169.254.169.254/32', 'FE80:0::A9FE:A9FE/128'],
    };
    const v6right = withInside({ addresses: [...right.inside!.addresses, 'fe80::a9fe:a9fe/128'] });
    expect(planPlumbing(shouty, v6right)).toEqual([]);
  });

  it('keeps addresses in the kernel order it found', () => {
    expect(
      planPlumbing(desired, withInside({ addresses: ['172.16.100.2/24', '169.254.169.254/32'] })),
    ).toEqual([]);
  });
});

describe('planPlumbing: half made', () => {
  it('namespace without veth: adds the pair, keeps the namespace', () => {
    const actual: ActualPlumbing = { namespace: 'present', ipv6: true, loopbackUp: true };
    expect(planPlumbing(desired, actual)).toEqual([vethAdd, rootUp, ...freshInside]);
  });

  it('namespace without veth and lo down: brings lo up first', () => {
    const actual: ActualPlumbing = { namespace: 'present', ipv6: true, loopbackUp: false };
    expect(planPlumbing(desired, actual)).toEqual([vethAdd, rootUp, loUp, ...freshInside]);
  });

  it('veth without namespace (namespace deleted): recreates both', () => {
    const actual: ActualPlumbing = {
      namespace: 'absent',
      ipv6: true,
      root: { ...right.root!, peerIfindex: 41 },
    };
    expect(planPlumbing(desired, actual)).toEqual([
      { op: 'netns-add', namespace: NS },
      { op: 'link-delete', link: ROOT },
      vethAdd,
      rootUp,
      loUp,
      ...freshInside,
    ]);
  });

  it('root end whose peer never left the root netns: deletes and recreates the pair', () => {
    const actual: ActualPlumbing = { ...right, root: { ...right.root!, peerIfindex: 41 }, inside: undefined };
    const steps = planPlumbing(desired, actual);
    expect(steps).toEqual([{ op: 'link-delete', link: ROOT }, vethAdd, rootUp, ...freshInside]);
    expect(plumbingBatches(steps)).toHaveLength(2);
  });

  it('a link in the namespace that is not the peer: removed first (third batch), then a new pair', () => {
    const stray = withInside({ kind: undefined, peerIfindex: undefined, peerInOtherNetns: false });
    const steps = planPlumbing(desired, stray);
    expect(steps).toEqual([
      { op: 'link-delete', namespace: NS, link: IN },
      { op: 'link-delete', link: ROOT },
      vethAdd,
      rootUp,
      ...freshInside,
    ]);
    expect(plumbingBatches(steps).map((b) => b.namespace)).toEqual([NS, undefined, NS]);
  });

  it('inside veth paired inside the namespace itself (not across netns): replaced', () => {
    const local = withInside({ peerIfindex: 3, peerInOtherNetns: false });
    expect(planPlumbing(desired, local)[0]).toEqual({ op: 'link-delete', namespace: NS, link: IN });
  });

  it('root end missing but a same-named link inside: that link goes, the pair is made', () => {
    const actual: ActualPlumbing = { ...right, root: undefined };
    expect(planPlumbing(desired, actual)).toEqual([
      { op: 'link-delete', namespace: NS, link: IN },
      vethAdd,
      rootUp,
      ...freshInside,
    ]);
  });

  it('mismatched ifindex pairing (root end paired elsewhere) is not adopted', () => {
    const actual = withRoot({ peerIfindex: 7 });
    expect(planPlumbing(desired, actual)).toContainEqual({ op: 'link-delete', link: ROOT });
  });

  it('stale /run/netns entry: deleted and added again', () => {
    const actual: ActualPlumbing = { namespace: 'stale', ipv6: true };
    expect(planPlumbing(desired, actual).slice(0, 3)).toEqual([
      { op: 'netns-delete', namespace: NS },
      { op: 'netns-add', namespace: NS },
      vethAdd,
    ]);
  });

  it('links down: brings up lo, root and inside ends', () => {
    const actual: ActualPlumbing = {
      ...right,
      loopbackUp: false,
      root: { ...right.root!, up: false },
      inside: { ...right.inside!, up: false },
    };
    const steps = planPlumbing(desired, actual);
    expect(steps).toEqual([rootUp, loUp, noAddrgen, insideUp]);
    expect(plumbingBatches(steps)).toHaveLength(2);
    // without IPv6 in the kernel there is no addrgenmode to set
    expect(planPlumbing(desired, { ...actual, ipv6: false })).toEqual([rootUp, loUp, insideUp]);
  });
});

describe('planPlumbing: drift', () => {
  it('removes stale addresses, including an unwanted kernel link-local', () => {
    const actual = withInside({ addresses: [...right.inside!.addresses, '10.0.0.5/24', LL] });
    expect(planPlumbing(desired, actual)).toEqual([del('10.0.0.5/24'), del(LL)]);
  });

  it('keeps a kernel-made link-local when it is the wanted EUI-64 one', () => {
    const v6 = { ...desired, addresses: [...desired.addresses, 'fe80::a9fe:a9fe/128', LL] };
    const actual = withInside({ addresses: [LL, ...right.inside!.addresses] });
    expect(planPlumbing(v6, actual)).toEqual([add('fe80::a9fe:a9fe/128')]);
  });

  it('adds missing addresses', () => {
    const actual = withInside({ addresses: ['169.254.169.254/32'] });
    expect(planPlumbing(desired, actual)).toEqual([add('172.16.100.2/24')]);
  });

  it('a prefix length change deletes before it adds', () => {
    const actual = withInside({ addresses: ['169.254.169.254/32', '172.16.100.2/16'] });
    expect(planPlumbing(desired, actual)).toEqual([del('172.16.100.2/16'), add('172.16.100.2/24')]);
  });

  it('a subnet removed from the network: its address goes', () => {
    const actual = withInside({ addresses: ['169.254.169.254/32', '172.16.100.2/24', '10.1.0.2/24'] });
    expect(planPlumbing(desired, actual)).toEqual([del('10.1.0.2/24')]);
  });

  it('re-adds a kept IPv4 address of the same subnet as a deleted one (secondaries die with their primary)', () => {
    const actual = withInside({
      addresses: ['10.0.0.5/24', '169.254.169.254/32', '172.16.100.2/24', '10.0.0.2/24'],
    });
    const d = { ...desired, addresses: [...desired.addresses, '10.0.0.2/24'] };
    expect(planPlumbing(d, actual)).toEqual([del('10.0.0.5/24'), add('10.0.0.2/24')]);
    // a different prefix length is a different subnet for the kernel: nothing to re-add
    const other = withInside({
      addresses: ['10.0.0.5/16', '169.254.169.254/32', '172.16.100.2/24', '10.0.0.2/24'],
    });
    expect(planPlumbing(d, other)).toEqual([del('10.0.0.5/16')]);
  });

  it('MTU change: both ends, one batch each side', () => {
    const actual: ActualPlumbing = {
      ...right,
      root: { ...right.root!, mtu: 1500 },
      inside: { ...right.inside!, mtu: 1500 },
    };
    const steps = planPlumbing(desired, actual);
    expect(steps).toEqual([
      { op: 'link-set', link: ROOT, mtu: 1442 },
      { op: 'link-set', namespace: NS, link: IN, mtu: 1442 },
    ]);
    expect(plumbingBatches(steps).map((b) => b.lines)).toEqual([
      [`link set dev ${ROOT} mtu 1442`],
      [`link set dev ${IN} mtu 1442`],
    ]);
  });

  it('MTU drift on one end only', () => {
    expect(planPlumbing(desired, withRoot({ mtu: 9000 }))).toEqual([
      { op: 'link-set', link: ROOT, mtu: 1442 },
    ]);
  });

  it('MAC change: set in place, with MTU in the same line', () => {
    const actual = withInside({ mac: 'fa:16:3e:00:00:01', mtu: 1500 });
    expect(planPlumbing(desired, actual)).toEqual([
      { op: 'link-set', namespace: NS, link: IN, mac: MAC, mtu: 1442 },
    ]);
  });

  it('MAC change with IPv6: old link-local out, new one in', () => {
    const oldLL = `${eui64LinkLocal('fa:16:3e:00:00:01')}/64`;
    const v6 = { ...desired, addresses: [...desired.addresses, LL] };
    const actual = withInside({ mac: 'fa:16:3e:00:00:01', addresses: [...right.inside!.addresses, oldLL] });
    expect(planPlumbing(v6, actual)).toEqual([
      { op: 'link-set', namespace: NS, link: IN, mac: MAC },
      del(oldLL),
      add(LL),
    ]);
  });

  it('no MTU wanted: the MTU found is kept', () => {
    const { mtu: _mtu, ...noMtu } = desired;
    expect(planPlumbing(noMtu, { ...right, root: { ...right.root!, mtu: 1500 } })).toEqual([]);
  });
});

describe('planPlumbing: bad input', () => {
  it.each<[string, Partial<DesiredPlumbing>]>([
    ['namespace with a space', { namespace: 'ovnmeta-a b' }],
    ['namespace with a slash', { namespace: '../etc' }],
    ['namespace ..', { namespace: '..' }],
    ['empty namespace', { namespace: '' }],
    ['veth name too long', { vethRoot: 'tap76af9baf-9fa40' }],
    ['veth name with a quote', { vethInside: 'tap"x' }],
    ['veth name with #', { vethInside: 'tap#1' }],
    ['same names', { vethInside: ROOT }],
    ['short MAC', { mac: 'fa:16:3e:9d:cc' }],
    ['multicast MAC', { mac: '01:00:5e:00:00:01' }],
    ['zero MAC', { mac: '00:00:00:00:00:00' }],
    ['MTU too small', { mtu: 67 }],
    ['MTU too large', { mtu: 65536 }],
    ['fractional MTU', { mtu: 1500.5 }],
    ['bad CIDR', { addresses: ['169.254.169.254'] }],
    ['newline in a CIDR', { addresses: ['10.0.0.1/24\nnetns delete x'] }],
  ])('%s -> NETNS_INVALID_DESIRED', (_name, patch) => {
    expect(() => planPlumbing({ ...desired, ...patch }, right)).toThrow(
      expect.objectContaining({ code: 'NETNS_INVALID_DESIRED', retryable: false }),
    );
  });

  it('names the namespace and the field in the message', () => {
    expect(() => planPlumbing({ ...desired, mtu: 10 }, right)).toThrow(`${NS}: invalid mtu 10`);
  });
});

describe('plumbingBatches', () => {
  it('refuses hand-made steps with names the kernel would not take', () => {
    expect(() =>
      plumbingBatches([{ op: 'addr-add', namespace: NS, link: IN, cidr: '10.0.0.1/24\nnetns delete x' }]),
    ).toThrow(expect.objectContaining({ code: 'NETNS_INVALID_DESIRED' }));
    expect(() => plumbingBatches([{ op: 'link-delete', link: 'a#b' }])).toThrow(
      expect.objectContaining({ code: 'NETNS_INVALID_DESIRED' }),
    );
  });

  it('groups consecutive steps per netns and keeps their order', () => {
    const steps: PlumbingStep[] = [
      { op: 'link-set', link: ROOT, mtu: 1400 },
      { op: 'link-set', namespace: NS, link: IN, mtu: 1400 },
      { op: 'link-set', link: ROOT, up: true },
    ];
    expect(plumbingBatches(steps).map((b) => b.lines)).toEqual([
      [`link set dev ${ROOT} mtu 1400`],
      [`link set dev ${IN} mtu 1400`],
      [`link set dev ${ROOT} up`],
    ]);
  });
});
