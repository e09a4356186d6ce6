// ensurePlumbing against the real kernel: fresh creation, convergence with
// zero mutating spawns, adoption (same netns inode), repair of every
// half-made state, IPv6, checksum fill, removal and concurrent networks.
// Needs root. Every name is unique to this run (host.ts PREFIX) and deleted
// in afterEach, pass or fail.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  applyPlumbing,
  ensurePlumbing,
  inspectPlumbing,
  listNamespaces,
  namespaceInode,
  NetnsKernelError,
  removePlumbing,
  type DesiredPlumbing,
} from '../../../src/namespace/index.js';
import { parseCidr } from '../../../src/common/address.js';
import {
  cidrsOf,
  cleanup,
  CountingHost,
  fakeNetwork,
  linksIn,
  PREFIX,
  rootLink,
  sh,
  track,
  v6,
} from './host.js';

afterEach(cleanup);
afterAll(cleanup);

const sorted = (a: readonly string[]) => [...a].sort();

/** Asserts with plain iproute2 (not our inspect) that the host matches `d`. */
async function expectConverged(d: DesiredPlumbing): Promise<void> {
  const links = await linksIn(d.namespace);
  const inside = links.get(d.vethInside);
  expect(inside, `${d.vethInside} in ${d.namespace}`).toBeDefined();
  expect(inside!.address).toBe(d.mac.toLowerCase());
  if (d.mtu !== undefined) expect(inside!.mtu).toBe(d.mtu);
  expect(inside!.flags).toContain('UP');
  expect(cidrsOf(inside)).toEqual(sorted(d.addresses.map((a) => parseCidr(a)!.text)));
  expect(links.get('lo')!.flags).toContain('UP');
  const root = await rootLink(d.vethRoot);
  expect(root, `${d.vethRoot} in the root netns`).toBeDefined();
  expect(root!.flags).toContain('UP');
  if (d.mtu !== undefined) expect(root!.mtu).toBe(d.mtu);
}

async function ensureTwice(d: DesiredPlumbing, host: CountingHost, first: string): Promise<void> {
  expect(await ensurePlumbing(d, host.env)).toBe(first);
  await expectConverged(d);
  host.reset();
  expect(await ensurePlumbing(d, host.env)).toBe('unchanged');
  expect(host.mutating).toEqual([]);
}

describe('fresh network', () => {
  it('creates everything in two spawns; the second ensure changes nothing', async () => {
    const d = fakeNetwork();
    const host = new CountingHost();
    expect(await ensurePlumbing(d, host.env)).toBe('created');
    // inspect: none (stat + sysfs); apply: root batch + namespace batch; no process started
    expect(host.ops).toEqual([
      ['netns-add', 'netlink', 'netlink'],
      ['netlink', 'netlink', 'netlink', 'netlink', 'netlink'],
    ]);
    expect(host.spawns).toEqual([]);
    await expectConverged(d);

    const actual = await inspectPlumbing(d);
    expect(actual).toMatchObject({
      namespace: 'present',
      loopbackUp: true,
      root: { mtu: 1442, up: true },
      inside: { kind: 'veth', mac: d.mac, mtu: 1442, up: true, peerInOtherNetns: true },
    });
    expect(sorted(actual.inside!.addresses)).toEqual(sorted(d.addresses));

    host.reset();
    expect(await ensurePlumbing(d, host.env)).toBe('unchanged');
    expect(host.ops).toEqual([['dump', 'dump']]); // links and addresses of the namespace
    expect(host.spawns).toEqual([]);
    expect(host.mutating).toEqual([]);
  });

  it('lets the kernel add no link-local of its own (addrgenmode none)', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    await new Promise((r) => setTimeout(r, 200));
    expect(cidrsOf((await linksIn(d.namespace)).get(d.vethInside))).toEqual(sorted(d.addresses));
    expect(await ensurePlumbing(d)).toBe('unchanged');
  });

  it('checksum fill: tx offload off on the inside end, set and read in-process (no spawn)', async () => {
    const d = fakeNetwork({ checksumFill: true });
    const host = new CountingHost();
    expect(await ensurePlumbing(d, host.env)).toBe('created');
    expect(host.ops).toHaveLength(2); // root batch + namespace batch (ending with the offload), as without checksum fill
    expect(host.ops[1]!.at(-1)).toBe('ethtool');
    expect(host.spawns).toEqual([]);
    // Checked with the real ethtool, not our own read.
    const features = await sh('ip', ['netns', 'exec', d.namespace, 'ethtool', '-k', d.vethInside]);
    expect(features).toMatch(/^tx-checksumming: off/m);
    expect(features).toMatch(/^\ttx-checksum-ip-generic: off/m);
    expect(await inspectPlumbing(d)).toMatchObject({ txChecksumOffload: false });
    host.reset();
    expect(await ensurePlumbing(d, host.env)).toBe('unchanged');
    expect(host.ops).toEqual([['dump', 'dump'], ['ethtool']]); // the offload read
    expect(host.mutating).toEqual([]);

    // Turned back on behind our back (as neutron's plumbing has it): the read
    // sees it and the next ensure turns it off again, still without a spawn.
    await sh('ip', ['netns', 'exec', d.namespace, 'ethtool', '-K', d.vethInside, 'tx', 'on']);
    expect(await inspectPlumbing(d)).toMatchObject({ txChecksumOffload: true });
    host.reset();
    expect(await ensurePlumbing(d, host.env)).toBe('updated');
    expect(host.ops).toEqual([['dump', 'dump'], ['ethtool'], ['ethtool']]); // read, read, set
    expect(host.mutating).toEqual([{ op: 'ethtool', link: d.vethInside, set: false }]);
    expect(host.spawns).toEqual([]);
    expect(await sh('ip', ['netns', 'exec', d.namespace, 'ethtool', '-k', d.vethInside])).toMatch(
      /^tx-checksumming: off/m,
    );
  });

  it('checksum fill on a link that is not there fails as NETNS_KERNEL_FAILED (ENODEV), retryable', async () => {
    const d = fakeNetwork({ checksumFill: true });
    await ensurePlumbing(d);
    await expect(
      applyPlumbing([{ op: 'tx-checksum-off', namespace: d.namespace, link: 'nosuchlink0' }]),
    ).rejects.toMatchObject({
      code: 'NETNS_KERNEL_FAILED',
      errno: 'ENODEV',
      retryable: true,
      step: 'ethtool -K nosuchlink0 tx off',
    });
  });

  it('IPv6: link-locals usable at once (nodad, never tentative), global address too', async () => {
    const d = fakeNetwork({
      addresses: ['169.254.169.254/32', ...v6('fa:16:3e:9d:cc:52'), '2001:db8:0:0::2/64'],
    });
    await ensureTwice(d, new CountingHost(), 'created');
    const inside = (await linksIn(d.namespace)).get(d.vethInside)!;
    expect(cidrsOf(inside)).toEqual(
      sorted(['169.254.169.254/32', 'fe80::a9fe:a9fe/128', 'fe80::f816:3eff:fe9d:cc52/64', '2001:db8::2/64']),
    );
    expect(inside.addr_info.filter((a) => a.tentative)).toEqual([]);
    // A listener can bind the metadata link-local immediately.
    await sh('ip', [
      'netns',
      'exec',
      d.namespace,
      'python3',
      '-c',
      `import socket; s = socket.socket(socket.AF_INET6); s.bind(('fe80::a9fe:a9fe', 0, 0, socket.if_nametoindex('${d.vethInside}')))`,
    ]);
  });

  it('twelve networks plumbed concurrently are all created, converge, and re-ensure as unchanged', async () => {
    const nets = Array.from({ length: 12 }, () => fakeNetwork());
    expect(await Promise.all(nets.map((d) => ensurePlumbing(d)))).toEqual(nets.map(() => 'created'));
    expect(await Promise.all(nets.map((d) => ensurePlumbing(d)))).toEqual(nets.map(() => 'unchanged'));
    for (const d of nets) await expectConverged(d);
  });
});

describe('adoption', () => {
  it('adopts a neutron-made namespace and veth without recreating them (same inode)', async () => {
    const d = fakeNetwork();
    // What neutron-ovn-metadata-agent leaves behind: pair moved into the
    // namespace, kernel link-local (addrgenmode eui64), a stale subnet address.
    await sh(
      'ip',
      ['-batch', '-'],
      `netns add ${d.namespace}\nlink add ${d.vethRoot} type veth peer name ${d.vethInside}\nlink set ${d.vethInside} netns ${d.namespace}\nlink set ${d.vethRoot} up\n`,
    );
    await sh(
      'ip',
      ['-n', d.namespace, '-batch', '-'],
      [
        `link set lo up`,
        `link set ${d.vethInside} address ${d.mac} mtu 1442`,
        `link set ${d.vethInside} up`,
        `addr add 169.254.169.254/32 dev ${d.vethInside}`,
        `addr add 172.16.100.2/24 dev ${d.vethInside}`,
        `addr add 10.9.9.2/24 dev ${d.vethInside}`,
        '',
      ].join('\n'),
    );
    await sh('ip', ['link', 'set', d.vethRoot, 'mtu', '1442']);
    const inode = await namespaceInode(d.namespace);
    const rootIndex = (await rootLink(d.vethRoot))!;
    expect(inode).toBeGreaterThan(0);
    const before = cidrsOf((await linksIn(d.namespace)).get(d.vethInside));
    expect(before).toContain('fe80::f816:3eff:fe9d:cc52/64'); // made by the kernel
    expect(before).toContain('10.9.9.2/24');

    const host = new CountingHost();
    expect(await ensurePlumbing(d, host.env)).toBe('updated');
    expect(host.ops.slice(1)).toEqual([['netlink', 'netlink']]); // one namespace batch removing two addresses
    expect(host.mutating).toHaveLength(2);
    await expectConverged(d); // the kernel's fe80 link-local and 10.9.9.2/24 are gone
    expect(await namespaceInode(d.namespace)).toBe(inode);
    expect((await rootLink(d.vethRoot))!.address).toBe(rootIndex.address); // same root link, not recreated
    expect(await ensurePlumbing(d)).toBe('unchanged');
  });
});

describe('adoption: kernel link-locals of veths we did not create', () => {
  /** A pair made the way neutron makes it: the kernel makes link-locals on it (addrgenmode eui64). */
  async function neutronPair(d: DesiredPlumbing, mac: string, up: boolean): Promise<void> {
    await sh('ip', ['netns', 'add', d.namespace]);
    await sh('ip', [
      'link',
      'add',
      d.vethRoot,
      'mtu',
      '1442',
      'type',
      'veth',
      'peer',
      'name',
      d.vethInside,
      'netns',
      d.namespace,
    ]);
    await sh('ip', ['link', 'set', d.vethRoot, 'up']);
    const lines = [`link set ${d.vethInside} address ${mac} mtu 1442`, 'link set lo up'];
    if (up) lines.push(`link set ${d.vethInside} up`);
    await sh('ip', ['-n', d.namespace, '-batch', '-'], `${lines.join('\n')}\n`);
  }

  it('down: bringing it up makes no link-local behind our back', async () => {
    const d = fakeNetwork();
    await neutronPair(d, d.mac, false);
    await ensureTwice(d, new CountingHost(), 'updated');
  });

  it('up with another MAC: one pass converges, IPv6 wanted or not', async () => {
    const d = fakeNetwork();
    await neutronPair(d, 'fa:16:3e:00:00:77', true);
    await ensureTwice(d, new CountingHost(), 'updated');
    const e = fakeNetwork({ addresses: ['169.254.169.254/32', ...v6('fa:16:3e:9d:cc:52')] });
    await neutronPair(e, 'fa:16:3e:00:00:78', true);
    await ensureTwice(e, new CountingHost(), 'updated');
  });
});

describe('repair', () => {
  it('namespace without veth', async () => {
    const d = fakeNetwork();
    await sh('ip', ['netns', 'add', d.namespace]);
    const inode = await namespaceInode(d.namespace);
    await ensureTwice(d, new CountingHost(), 'updated');
    expect(await namespaceInode(d.namespace)).toBe(inode);
  });

  it('veth without namespace (inside end never moved in)', async () => {
    const d = fakeNetwork();
    await sh('ip', ['link', 'add', d.vethRoot, 'type', 'veth', 'peer', 'name', d.vethInside]);
    expect((await inspectPlumbing(d)).root).toBeDefined();
    await ensureTwice(d, new CountingHost(), 'created');
    expect(await rootLink(d.vethInside)).toBeUndefined(); // the stray peer went with the old pair
  });

  it('namespace present, inside end still in the root netns', async () => {
    const d = fakeNetwork();
    await sh('ip', ['netns', 'add', d.namespace]);
    await sh('ip', ['link', 'add', d.vethRoot, 'type', 'veth', 'peer', 'name', d.vethInside]);
    await ensureTwice(d, new CountingHost(), 'updated');
    expect(await rootLink(d.vethInside)).toBeUndefined();
  });

  it('inside end moved to another namespace', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    const elsewhere = `${PREFIX}away${process.hrtime.bigint() % 100000n}`;
    track(elsewhere);
    await sh('ip', ['netns', 'add', elsewhere]);
    await sh('ip', ['-n', d.namespace, 'link', 'set', d.vethInside, 'netns', elsewhere]);
    const inode = await namespaceInode(d.namespace);
    await ensureTwice(d, new CountingHost(), 'updated');
    expect(await namespaceInode(d.namespace)).toBe(inode);
    expect((await linksIn(elsewhere)).has(d.vethInside)).toBe(false); // deleted with its old peer
  });

  it('a foreign link with the inside name in the namespace', async () => {
    const d = fakeNetwork();
    await sh('ip', ['netns', 'add', d.namespace]);
    await sh('ip', [
      '-n',
      d.namespace,
      'link',
      'add',
      d.vethInside,
      'type',
      'veth',
      'peer',
      'name',
      'other0',
    ]);
    const host = new CountingHost();
    await ensureTwice(d, host, 'updated');
    expect((await linksIn(d.namespace)).has('other0')).toBe(false);
  });

  it('stale /run/netns entry (not a namespace mount)', async () => {
    const d = fakeNetwork();
    await sh('touch', [`/run/netns/${d.namespace}`]);
    expect((await inspectPlumbing(d)).namespace).toBe('stale');
    expect(await namespaceInode(d.namespace)).toBeUndefined();
    await ensureTwice(d, new CountingHost(), 'created');
    expect(await namespaceInode(d.namespace)).toBeGreaterThan(0);
  });

  it('stale addresses', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    await sh(
      'ip',
      ['-n', d.namespace, '-batch', '-'],
      [
        `addr add 10.0.0.5/24 dev ${d.vethInside}`,
        `addr add 2001:db8::99/64 dev ${d.vethInside} nodad`,
        `addr del 172.16.100.2/24 dev ${d.vethInside}`,
        `addr add 172.16.100.2/16 dev ${d.vethInside}`,
        '',
      ].join('\n'),
    );
    await ensureTwice(d, new CountingHost(), 'updated');
  });

  it('a stale primary IPv4 address with a wanted secondary: one pass converges', async () => {
    const d = fakeNetwork();
    await sh('ip', ['netns', 'add', d.namespace]);
    await sh('ip', [
      'link',
      'add',
      d.vethRoot,
      'type',
      'veth',
      'peer',
      'name',
      d.vethInside,
      'netns',
      d.namespace,
    ]);
    await sh(
      'ip',
      ['-n', d.namespace, '-batch', '-'],
      [
        `addr add 172.16.100.9/24 dev ${d.vethInside}`, // primary, no longer wanted
        `addr add 172.16.100.2/24 dev ${d.vethInside}`, // secondary, wanted
        `link set ${d.vethInside} address ${d.mac} mtu 1442`,
        '',
      ].join('\n'),
    );
    await ensureTwice(d, new CountingHost(), 'updated');
  });

  it('wrong MTU on both ends', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    const inode = await namespaceInode(d.namespace);
    await sh('ip', ['link', 'set', d.vethRoot, 'mtu', '1300']);
    await sh('ip', ['-n', d.namespace, 'link', 'set', d.vethInside, 'mtu', '9000']);
    const host = new CountingHost();
    await ensureTwice(d, host, 'updated');
    expect(await namespaceInode(d.namespace)).toBe(inode);
  });

  it('MTU change of the network', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    await ensureTwice({ ...d, mtu: 1400 }, new CountingHost(), 'updated');
  });

  it('wrong MAC while the link is up (live change), with IPv6 link-local following it', async () => {
    const d = fakeNetwork({ addresses: ['169.254.169.254/32', ...v6('fa:16:3e:9d:cc:52')] });
    await ensurePlumbing(d);
    await sh('ip', ['-n', d.namespace, 'link', 'set', d.vethInside, 'address', 'fa:16:3e:00:00:99']);
    await ensureTwice(d, new CountingHost(), 'updated');
    // The port's MAC changes: the EUI-64 link-local moves with it.
    const moved = {
      ...d,
      mac: 'fa:16:3e:11:22:33',
      addresses: ['169.254.169.254/32', ...v6('fa:16:3e:11:22:33')],
    };
    await ensureTwice(moved, new CountingHost(), 'updated');
  });

  it('links down', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    await sh('ip', ['link', 'set', d.vethRoot, 'down']);
    await sh('ip', ['-n', d.namespace, '-batch', '-'], `link set lo down\nlink set ${d.vethInside} down\n`);
    await ensureTwice(d, new CountingHost(), 'updated');
  });
});

describe('removal and listing', () => {
  it('removes veth and namespace; again is unchanged', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    expect(await listNamespaces(PREFIX)).toContain(d.namespace);
    expect(await removePlumbing(d.namespace, d.vethRoot)).toBe('removed');
    expect(await listNamespaces(PREFIX)).not.toContain(d.namespace);
    expect(await rootLink(d.vethRoot)).toBeUndefined();
    expect(await removePlumbing(d.namespace, d.vethRoot)).toBe('unchanged');
  });

  it('removes the veth even while a process keeps the namespace alive', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    const { execa } = await import('execa');
    const holder = execa('ip', ['netns', 'exec', d.namespace, 'sleep', '30'], { reject: false });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(await removePlumbing(d.namespace, d.vethRoot)).toBe('removed');
      expect(await rootLink(d.vethRoot)).toBeUndefined();
      expect(await listNamespaces(PREFIX)).not.toContain(d.namespace);
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
  });

  it('listNamespaces filters by prefix', async () => {
    const a = fakeNetwork();
    const b = fakeNetwork();
    await Promise.all([ensurePlumbing(a), ensurePlumbing(b)]);
    const listed = await listNamespaces(PREFIX);
    expect(listed).toEqual(expect.arrayContaining([a.namespace, b.namespace]));
    expect(listed.every((n) => n.startsWith(PREFIX))).toBe(true);
    expect(await listNamespaces(`${PREFIX}no-such-`)).toEqual([]);
  });
});

describe('errors', () => {
  it('a failing step becomes NETNS_KERNEL_FAILED naming namespace, step and errno; the steps before it stay', async () => {
    const d = fakeNetwork();
    await ensurePlumbing(d);
    const err = await applyPlumbing([
      { op: 'addr-add', namespace: d.namespace, link: d.vethInside, cidr: '10.1.0.1/24' },
      { op: 'addr-add', namespace: d.namespace, link: 'nosuchlink0', cidr: '10.2.0.1/24' },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetnsKernelError);
    expect(err).toMatchObject({
      code: 'NETNS_KERNEL_FAILED',
      retryable: true,
      netns: d.namespace,
      step: 'addr replace 10.2.0.1/24 dev nosuchlink0',
      errno: 'ENODEV',
    });
    expect((err as Error).message).toContain('no link nosuchlink0');
    expect(cidrsOf((await linksIn(d.namespace)).get(d.vethInside))).toContain('10.1.0.1/24');
    // The plan carries on from where the failure left the host.
    expect(await ensurePlumbing(d)).toBe('updated');
    await expectConverged(d);
  });
});
