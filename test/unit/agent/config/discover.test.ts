// Which files are read, by oslo.config's rules (oslo_config/cfg.py
// _get_config_dirs, find_config_files, find_config_dirs,
// _parse_config_files, ConfigDirAction), over an in-memory file system.
import { describe, expect, test } from 'vitest';
import {
  AgentConfigDirNotFoundError,
  configSearchDirs,
  resolveConfigFiles,
  type ConfigSearch,
  type DiscoveryFs,
} from '../../../../src/agent/index.js';

/** Paths ending in '/' are directories; the rest files. Parents are implied. */
function memFs(paths: string[]): DiscoveryFs {
  const files = new Set(paths.filter((p) => !p.endsWith('/')));
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.replace(/\/$/, '').split('/');
    for (let i = 1; i < (p.endsWith('/') ? parts.length + 1 : parts.length); i++)
      dirs.add(parts.slice(0, i).join('/') || '/');
  }
  return {
    kind: (p) => (files.has(p) ? 'file' : dirs.has(p) ? 'dir' : undefined),
    list: (d) =>
      [...files, ...dirs]
        .filter((p) => p !== d && p.startsWith(`${d}/`) && !p.slice(d.length + 1).includes('/'))
        .map((p) => p.slice(d.length + 1)),
  };
}

const search = (paths: string[], extra: Partial<ConfigSearch> = {}): ConfigSearch => ({
  home: '/home/op',
  root: '/',
  fs: memFs(paths),
  ...extra,
});

describe('default discovery (no --config-file, no --config-dir)', () => {
  test('search dirs are ~/.neutron, ~, /etc/neutron, /etc, then the snap ones', () => {
    expect(configSearchDirs({ home: '/home/op' })).toEqual([
      '/home/op/.neutron',
      '/home/op',
      '/etc/neutron',
      '/etc',
    ]);
    expect(
      configSearchDirs({ home: '/h', root: '/r', env: { SNAP: '/snap/x/1', SNAP_COMMON: '/var/snap/x' } }),
    ).toEqual([
      '/h/.neutron',
      '/h',
      '/r/etc/neutron',
      '/r/etc',
      '/r/var/snap/x/etc/neutron',
      '/r/snap/x/1/etc/neutron',
    ]);
  });

  test('EDPM host: /etc/neutron/neutron.conf then neutron.conf.d/*.conf sorted', () => {
    const s = search([
      '/etc/neutron/neutron.conf',
      '/etc/neutron/neutron.conf.d/10-ovn.conf',
      '/etc/neutron/neutron.conf.d/01-rootwrap.conf',
      '/etc/neutron/neutron.conf.d/README',
      '/etc/neutron/neutron.conf.d/.hidden.conf',
      '/etc/neutron/neutron_ovn_metadata_agent.ini',
    ]);
    expect(resolveConfigFiles([], s)).toEqual([
      '/etc/neutron/neutron.conf',
      '/etc/neutron/neutron.conf.d/01-rootwrap.conf',
      '/etc/neutron/neutron.conf.d/10-ovn.conf',
    ]);
  });

  test('each name is taken from the first search dir that has it; progs after the project', () => {
    const s = search([
      '/home/op/.neutron/neutron.conf',
      '/etc/neutron/neutron.conf',
      '/etc/neutron-ovn-agent.conf',
      '/home/op/neutron-ovn-metadata-agent.conf',
      '/etc/neutron/neutron-ovn-agent.conf.d/a.conf',
      '/etc/neutron.conf.d/z.conf',
      '/etc/neutron/neutron.conf.d/y.conf',
    ]);
    expect(resolveConfigFiles([], s)).toEqual([
      '/home/op/.neutron/neutron.conf',
      '/home/op/neutron-ovn-metadata-agent.conf',
      '/etc/neutron-ovn-agent.conf',
      '/etc/neutron/neutron.conf.d/y.conf',
      '/etc/neutron/neutron-ovn-agent.conf.d/a.conf',
    ]);
  });

  test('nothing there: no files, no error', () => {
    expect(resolveConfigFiles([], search(['/etc/passwd']))).toEqual([]);
  });
});

describe('command line', () => {
  const host = [
    '/etc/neutron/neutron.conf',
    '/etc/neutron/neutron.conf.d/50-x.conf',
    '/srv/conf.d/b.conf',
    '/srv/conf.d/a.conf',
    '/srv/empty/',
  ];

  test('--config-file only: its files replace the default files, default dirs still apply first', () => {
    expect(resolveConfigFiles([{ kind: 'file', path: '/srv/m.ini' }], search(host))).toEqual([
      '/etc/neutron/neutron.conf.d/50-x.conf',
      '/srv/m.ini',
    ]);
  });

  test('--config-dir only: default files first, then the dir (sorted); default dirs are not read', () => {
    expect(resolveConfigFiles([{ kind: 'dir', path: '/srv/conf.d' }], search(host))).toEqual([
      '/etc/neutron/neutron.conf',
      '/srv/conf.d/a.conf',
      '/srv/conf.d/b.conf',
    ]);
  });

  test('files and dirs are applied in command-line order', () => {
    expect(
      resolveConfigFiles(
        [
          { kind: 'dir', path: '/srv/conf.d' },
          { kind: 'file', path: '/srv/last.ini' },
          { kind: 'dir', path: '/srv/empty' },
          { kind: 'file', path: '~/x.conf' },
        ],
        search(host),
      ),
    ).toEqual(['/srv/conf.d/a.conf', '/srv/conf.d/b.conf', '/srv/last.ini', '/home/op/x.conf']);
  });

  test('a --config-dir that does not exist is AGENT_CONFIG_DIR_NOT_FOUND naming it', () => {
    const run = () => resolveConfigFiles([{ kind: 'dir', path: '/srv/nope' }], search(host));
    expect(run).toThrow(AgentConfigDirNotFoundError);
    expect(run).toThrow('--config-dir /srv/nope does not exist');
  });
});
