// The mount-propagation trap (src/namespace/propagation.ts), judged on
// mountinfo text as the kernel writes it: a host, podman with and without
// `:shared`, `:slave`, Kubernetes Bidirectional, a container with no volume.
import { describe, expect, it } from 'vitest';
import { judgePropagation, mountAt, parseMountInfo } from '../../../src/namespace/propagation.js';
import { NetnsNotSharedError } from '../../../src/namespace/errors.js';

const common = [
  '21 26 0:20 / /proc rw,relatime - proc proc rw',
  '26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '30 26 0:25 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=4096k,mode=755',
];
// What `ip netns add` leaves on a host: /run/netns bind-mounted on itself, shared.
const hostAfterIpNetns = [
  ...common,
  '612 30 0:25 /netns /run/netns rw,nosuid,nodev shared:220 - tmpfs tmpfs rw',
];
// Inside a podman container; /run/netns from the host.
const container = (opt: string) =>
  [
    '701 640 0:77 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containers/l/A,upperdir=/u,workdir=/w',
    '702 701 0:79 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
    `715 701 0:25 /netns /run/netns rw,nosuid,nodev${opt} - tmpfs tmpfs rw,size=4096k,mode=755`,
  ].join('\n');
const contained = 'in a podman container (/run/.containerenv)';

describe('parseMountInfo', () => {
  it('reads mount point, root, optional fields and source, unescaping octal escapes', () => {
    const [m] = parseMountInfo(
      '90 26 0:44 /a\\040b /mnt/with\\040space rw shared:7 master:3 - ext4 /dev/sdb1 rw\n',
    );
    expect(m).toEqual({
      id: 90,
      root: '/a b',
      mountPoint: '/mnt/with space',
      optional: ['shared:7', 'master:3'],
      fsType: 'ext4',
      source: '/dev/sdb1',
    });
    expect(parseMountInfo('garbage\n\n')).toEqual([]);
  });

  it('takes the last of stacked mounts on one point (it covers the others)', () => {
    const mounts = parseMountInfo(
      [
        ...common,
        '40 30 0:25 /netns /run/netns rw shared:9 - tmpfs tmpfs rw',
        '41 40 0:25 /netns /run/netns rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    expect(mountAt(mounts, '/run/netns/')?.id).toBe(41);
  });
});

describe('judgePropagation', () => {
  it('on the host: passes whether /run/netns is missing, a plain directory, private or shared', () => {
    for (const mountinfo of [
      common.join('\n'),
      hostAfterIpNetns.join('\n'),
      [...common, '612 30 0:25 /netns /run/netns rw - tmpfs tmpfs rw'].join('\n'),
    ]) {
      expect(judgePropagation({ mountinfo, netnsDir: '/run/netns', contained: undefined }).ok).toBe(true);
    }
  });

  it('in a container: passes with -v /run/netns:/run/netns:shared (shared:N) and with Bidirectional (shared + master)', () => {
    expect(
      judgePropagation({ mountinfo: container(' shared:220'), netnsDir: '/run/netns', contained }),
    ).toEqual({
      ok: true,
      detail: '/run/netns is a shared mount (shared:220)',
    });
    expect(
      judgePropagation({ mountinfo: container(' shared:301 master:220'), netnsDir: '/run/netns', contained })
        .ok,
    ).toBe(true);
  });

  it("in a container: fails on a private volume (podman's default), naming the mount", () => {
    const v = judgePropagation({ mountinfo: container(''), netnsDir: '/run/netns', contained });
    expect(v).toEqual({
      ok: false,
      reason: expect.stringMatching(/^\/run\/netns is a private mount \(mount 715: \/netns of tmpfs\)/),
    });
  });

  it('in a container: fails on a slave volume (:slave, HostToContainer): mounts do not go back to the host', () => {
    const v = judgePropagation({ mountinfo: container(' master:220'), netnsDir: '/run/netns', contained });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(/is a slave mount/);
  });

  it('in a container: fails when /run/netns is no mount at all (the volume is missing)', () => {
    const mountinfo = container('').split('\n').slice(0, 2).join('\n');
    const v = judgePropagation({ mountinfo, netnsDir: '/run/netns', contained });
    expect(!v.ok && v.reason).toMatch(/^\/run\/netns is not a mount point/);
  });

  it('checks the directory in use, not /run/netns', () => {
    const v = judgePropagation({ mountinfo: container(' shared:1'), netnsDir: '/var/run/netns', contained });
    expect(v.ok).toBe(false);
  });

  it('the error names the mount, why the agent is contained and the fix', () => {
    const err = new NetnsNotSharedError(
      '/run/netns',
      contained,
      '/run/netns is a private mount (mount 715: /netns of tmpfs)',
    );
    expect(err.code).toBe('NETNS_NOT_SHARED');
    expect(err.message).toContain('/run/netns is a private mount (mount 715');
    expect(err.message).toContain(contained);
    expect(err.message).toContain('-v /run/netns:/run/netns:shared');
    expect(err.message).toContain('mountPropagation: Bidirectional');
  });
});
