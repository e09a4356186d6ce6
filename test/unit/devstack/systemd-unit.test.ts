// etc/systemd/ovnmeta-agent.service: what it grants, what it must not set,
// and systemd's own verdict (systemd-analyze verify). That the capabilities
// are needed and enough is proven on a real host by
// test/integration/devstack/unit-capabilities.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './devstack-host.js';
import { parseUnitFile, readUnitFile, value, values, words } from './unit-file.js';

const unitPath = path.join(repoRoot, 'etc/systemd/ovnmeta-agent.service');

/**
 * Settings that put the service in its own mount namespace, which receives
 * but never propagates mounts (systemd.exec(5), MountFlags=): a netns created
 * there is not usable on the host and dies with the service.
 */
const MOUNT_NAMESPACE_SETTINGS = [
  'ProtectSystem',
  'ProtectHome',
  'PrivateTmp',
  'PrivateDevices',
  'PrivateMounts',
  'PrivateNetwork',
  'ProtectKernelTunables',
  'ProtectKernelModules',
  'ProtectKernelLogs',
  'ProtectControlGroups',
  'ProtectProc',
  'ProcSubset',
  'ReadWritePaths',
  'ReadOnlyPaths',
  'InaccessiblePaths',
  'TemporaryFileSystem',
  'BindPaths',
  'BindReadOnlyPaths',
  'RootDirectory',
  'RootImage',
  'MountFlags',
  'RuntimeDirectory',
  'StateDirectory',
  'NetworkNamespacePath',
];

/** Recursively lists .ts files under src/. */
async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? sourceFiles(path.join(dir, e.name))
        : Promise.resolve(e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

describe('etc/systemd/ovnmeta-agent.service', () => {
  it('runs `ovnmeta agent` with a --config-file list operators can replace', async () => {
    const unit = await readUnitFile(unitPath);
    expect(value(unit, 'Service', 'ExecStart')).toBe('/usr/local/bin/ovnmeta agent $OVNMETA_ARGS');
    expect(values(unit, 'Service', 'Environment')).toEqual([
      '"OVNMETA_ARGS=--config-file /etc/ovnmeta/ovnmeta.ini"',
      'NODE_OPTIONS=--max-semi-space-size=4',
    ]);
    expect(values(unit, 'Service', 'EnvironmentFile')).toEqual(['-/etc/default/ovnmeta-agent']);
    expect(value(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('grants root exactly CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE', async () => {
    const unit = await readUnitFile(unitPath);
    expect(words(unit, 'Service', 'CapabilityBoundingSet').sort()).toEqual([
      'CAP_NET_ADMIN',
      'CAP_NET_BIND_SERVICE',
      'CAP_SYS_ADMIN',
    ]);
    // Root: the bounding set is what it gets. Another user would need
    // AmbientCapabilities= and still could not write /run/netns.
    expect(values(unit, 'Service', 'User')).toEqual([]);
    expect(values(unit, 'Service', 'AmbientCapabilities')).toEqual([]);
    expect(value(unit, 'Service', 'NoNewPrivileges')).toBe('yes');
  });

  it('sets nothing that would create a mount namespace', async () => {
    const unit = await readUnitFile(unitPath);
    const service = [...(unit.get('Service')?.keys() ?? [])];
    expect(service.filter((key) => MOUNT_NAMESPACE_SETTINGS.includes(key))).toEqual([]);
  });

  it('lets the agent make and enter network namespaces, and nothing else', async () => {
    const unit = await readUnitFile(unitPath);
    expect(words(unit, 'Service', 'RestrictNamespaces').sort()).toEqual(['mnt', 'net']);
    expect(words(unit, 'Service', 'RestrictAddressFamilies').sort()).toEqual([
      'AF_INET',
      'AF_INET6',
      'AF_NETLINK',
      'AF_UNIX',
    ]);
  });

  it('signals only the agent on stop (its listener holder stays) and replaces neutron’s agent', async () => {
    const unit = await readUnitFile(unitPath);
    expect(value(unit, 'Service', 'KillMode')).toBe('process');
    expect(value(unit, 'Unit', 'Conflicts')).toBe('neutron-ovn-metadata-agent.service');
  });

  it('claims Type=notify only if the agent sends READY=1', async () => {
    const unit = await readUnitFile(unitPath);
    const type = value(unit, 'Service', 'Type');
    const sources = await sourceFiles(path.join(repoRoot, 'src'));
    const texts = await Promise.all(sources.map((f) => readFile(f, 'utf8')));
    const notifies = texts.some((t) => t.includes('NOTIFY_SOCKET') || t.includes('systemd-notify'));
    expect(type).toBe(notifies ? 'notify' : 'simple');
  });

  it('passes systemd-analyze verify', async () => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error)
      throw new Error('systemd-analyze is missing: it comes with the Debian package `systemd`');
    // verify checks that ExecStart's binary exists; the package is not
    // installed here, so point it at one that is.
    const dir = await mkdtemp(path.join(tmpdir(), 'ovnmeta-unit-'));
    try {
      const text = (await readFile(unitPath, 'utf8')).replace(
        /^ExecStart=\/usr\/local\/bin\/ovnmeta /m,
        `ExecStart=${process.execPath} `,
      );
      expect(text).toContain(`ExecStart=${process.execPath} agent`);
      const copy = path.join(dir, 'ovnmeta-agent.service');
      await writeFile(copy, text);
      const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(result.stderr + result.stdout).toBe('');
      expect(result.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseUnitFile', () => {
  it('keeps repeated keys, skips comments, joins continuations', () => {
    const unit = parseUnitFile('# c\n[Service]\n; c\nA=1\nA=2 \\\n  3\n[Install]\nB = x\n');
    expect(values(unit, 'Service', 'A')).toEqual(['1', '2    3']);
    expect(words(unit, 'Service', 'A')).toEqual(['1', '2', '3']);
    expect(value(unit, 'Install', 'B')).toBe('x');
    expect(() => value(unit, 'Service', 'A')).toThrow(/appears 2 times/);
    expect(() => parseUnitFile('A=1\n')).toThrow(/line 1/);
  });
});
