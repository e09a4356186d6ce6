// Which files the agent reads: oslo.config's rules (oslo_config/cfg.py:
// _get_config_dirs, find_config_files, find_config_dirs,
// ConfigOpts._parse_config_files, _ConfigDirOpt.ConfigDirAction), so that a
// deployment that starts neutron's agent with `--config-dir`, or with no
// arguments at all, starts ovnmeta the same way.
//
//  - With no --config-file on the command line, the default files are read
//    first: `neutron.conf`, then each prog's `<prog>.conf`, each from the
//    first of ~/.neutron/, ~/, /etc/neutron/, /etc/ (then $SNAP_COMMON/etc/
//    neutron, $SNAP/etc/neutron) that has it.
//  - With no --config-dir, the default directories follow: `neutron.conf.d`
//    and `<prog>.conf.d`, found the same way; each one's `*.conf`, sorted.
//    A default directory that does not exist is skipped.
//  - Then the command line, in its order: a --config-file is read where it
//    stands, a --config-dir's `*.conf` (sorted) where it stands; a
//    --config-dir that does not exist is an error (oslo's
//    ConfigDirNotFoundError). Later files win per option.
//
// oslo searches for one prog (the basename of argv[0]); ovnmeta stands in for
// two, so it searches both, the legacy agent first: neutron-ovn-metadata-agent
// then neutron-ovn-agent. The filesystem is injected (root, home) for tests.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AgentConfigDirNotFoundError } from './errors.js';

/** One --config-file or --config-dir, in command-line order. */
export interface ConfigArg {
  readonly kind: 'file' | 'dir';
  readonly path: string;
}

export const CONFIG_PROJECT = 'neutron';
/** The programs ovnmeta replaces, whose default files it reads. */
export const CONFIG_PROGS = ['neutron-ovn-metadata-agent', 'neutron-ovn-agent'] as const;

export interface ConfigSearch {
  /** The user's home (oslo: expanduser('~')). */
  readonly home: string;
  /** Prefix of every absolute search path (not of `home`); '/' on a host. */
  readonly root?: string;
  /** $SNAP and $SNAP_COMMON, as oslo reads them. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly project?: string;
  readonly progs?: readonly string[];
  /** File system probes; node:fs by default. */
  readonly fs?: DiscoveryFs;
}

export interface DiscoveryFs {
  /** 'file', 'dir', or undefined when nothing is there. */
  kind(path: string): 'file' | 'dir' | 'other' | undefined;
  /** Names of the entries of a directory ([] when it cannot be listed). */
  list(dir: string): string[];
}

export const nodeDiscoveryFs: DiscoveryFs = {
  kind(path) {
    try {
      const st = statSync(path);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return undefined;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/** oslo _get_config_dirs(project), with `root` prefixed to /etc and $SNAP paths. */
export function configSearchDirs(search: ConfigSearch): string[] {
  const project = search.project ?? CONFIG_PROJECT;
  const root = search.root ?? '/';
  const snap = search.env?.['SNAP'];
  const snapCommon = search.env?.['SNAP_COMMON'];
  return [
    join(search.home, `.${project}`),
    join(search.home),
    join(root, 'etc', project),
    join(root, 'etc'),
    ...(snapCommon ? [join(root, snapCommon, 'etc', project)] : []),
    ...(snap ? [join(root, snap, 'etc', project)] : []),
  ];
}

/** oslo _search_dirs: the first `dir/name` that exists (any kind, as os.path.exists). */
function firstExisting(dirs: readonly string[], name: string, fs: DiscoveryFs): string | undefined {
  for (const d of dirs) {
    const p = join(d, name);
    if (fs.kind(p) !== undefined) return p;
  }
  return undefined;
}

function names(search: ConfigSearch): string[] {
  return [search.project ?? CONFIG_PROJECT, ...(search.progs ?? CONFIG_PROGS)];
}

/** oslo find_config_files: `<project>.conf` and each `<prog>.conf`, at most one each. */
export function findConfigFiles(search: ConfigSearch): string[] {
  const fs = search.fs ?? nodeDiscoveryFs;
  const dirs = configSearchDirs(search);
  return names(search).flatMap((n) => firstExisting(dirs, `${n}.conf`, fs) ?? []);
}

/** oslo find_config_dirs: `<project>.conf.d` and each `<prog>.conf.d`, at most one each. */
export function findConfigDirs(search: ConfigSearch): string[] {
  const fs = search.fs ?? nodeDiscoveryFs;
  const dirs = configSearchDirs(search);
  return names(search).flatMap((n) => firstExisting(dirs, `${n}.conf.d`, fs) ?? []);
}

/**
 * A directory's `*.conf`, sorted as Python sorts glob's result (glob skips
 * names starting with a dot). Not filtered by kind: oslo then fails to read
 * a directory named x.conf, and so do we.
 */
function dirConfFiles(dir: string, fs: DiscoveryFs): string[] {
  return fs
    .list(dir)
    .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
    .map((n) => join(dir, n))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The files to read, in order (later wins), for this command line. A
 * --config-dir that does not exist throws AgentConfigDirNotFoundError;
 * a missing --config-file is left to the reader (AGENT_CONFIG_FILE_NOT_FOUND).
 */
export function resolveConfigFiles(args: readonly ConfigArg[], search: ConfigSearch): string[] {
  const fs = search.fs ?? nodeDiscoveryFs;
  const out: string[] = [];
  if (!args.some((a) => a.kind === 'file')) out.push(...findConfigFiles(search));
  if (!args.some((a) => a.kind === 'dir')) {
    for (const dir of findConfigDirs(search)) out.push(...dirConfFiles(dir, fs));
  }
  // oslo expands a leading `~` in both (_fixpath, os.path.expanduser).
  const expand = (p: string) => (p === '~' || p.startsWith('~/') ? join(search.home, p.slice(1)) : p);
  for (const arg of args) {
    if (arg.kind === 'file') {
      out.push(expand(arg.path));
      continue;
    }
    const dir = expand(arg.path);
    if (fs.kind(dir) === undefined) throw new AgentConfigDirNotFoundError(arg.path);
    out.push(...dirConfFiles(dir, fs));
  }
  return out;
}
