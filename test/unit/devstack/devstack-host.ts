// A throwaway "devstack host" for testing devstack/plugin.sh: a scratch
// directory with devstack's variables, fake `node` and `npm` first on PATH,
// a scratch ovnmeta checkout, and test/unit/devstack/stub/run-phase.sh to
// play one stack.sh phase against the stub of devstack's functions.
//
// PATH holds only the fake binaries and symlinks to the few system tools the
// plugin uses, so the machine's own node and npm can never be picked up.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const runPhaseScript = path.join(repoRoot, 'test/unit/devstack/stub/run-phase.sh');

/** System tools that plugin.sh, settings and the stub call. */
const TOOLS = [
  'bash',
  'awk',
  'cat',
  'chmod',
  'cp',
  'dirname',
  'grep',
  'gzip',
  'install',
  'mkdir',
  'mktemp',
  'readlink',
  'rm',
  'sort',
  'tar',
  'touch',
  'uname',
];

/** One recorded call: the function (or fake binary) name, then its arguments. */
export type Call = readonly string[];

export interface PhaseResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Calls recorded during this phase only. */
  readonly calls: readonly Call[];
}

export interface HostOptions {
  /** ENABLED_SERVICES. */
  readonly services: readonly string[];
  /** `node --version` of the node on PATH; null: no node on PATH. */
  readonly pathNode?: string | null;
  /** Whether npm is on PATH from the start (else install_package npm provides it). */
  readonly npm?: boolean;
  /** Extra devstack variables (override the defaults below). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface DevstackHost {
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  /** The scratch ovnmeta checkout (OVNMETA_DIR). */
  readonly checkout: string;
  readonly ovnmetaConf: string;
  readonly ml2Conf: string;
  readonly novaConf: string;
  readonly fetchedNode: string;
  /** Plays `mode [phase]`; `extraEnv` adds variables for this run only. */
  run(mode: string, phase?: string, extraEnv?: Readonly<Record<string, string>>): Promise<PhaseResult>;
  read(file: string): Promise<string>;
  remove(): Promise<void>;
}

function which(tool: string): string {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const candidate = path.join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next directory
    }
  }
  throw new Error(`the devstack tests need ${tool} in /usr/bin or /bin`);
}

/** A fake node: answers --version, records any other invocation. */
export function fakeNodeScript(version: string): string {
  return `#!/bin/bash
if [[ $1 == --version ]]; then echo ${version}; exit 0; fi
(IFS=$'\\t'; printf 'node-binary\\t%s\\t%s\\n' "$0" "$*") >>"$STUB_LOG"
`;
}

/**
 * A fake npm: records its arguments, working directory and the node it would
 * run under; \`npm pack node-linux-<arch>@<v>\` writes a package tarball
 * whose bin/node is a fake node (packages/node.template) reporting v<v>.
 */
const fakeNpmScript = `#!/bin/bash
printf 'npm-binary\\t%s\\tcwd=%s\\tnode=%s\\n' "$*" "$PWD" "$(command -v node)" >>"$STUB_LOG"
if [[ $1 == pack ]]; then
    spec=\${*: -1}
    name=\${spec%@*}
    version=\${spec##*@}
    pkg=$(mktemp -d)
    mkdir -p "$pkg/package/bin"
    template=$(<"$STUB_PACKAGES/node.template")
    printf '%s\\n' "\${template//@VERSION@/v$version}" >"$pkg/package/bin/node"
    chmod +x "$pkg/package/bin/node"
    tar -czf "$name-$version.tgz" -C "$pkg" package
    rm -rf "$pkg"
    echo "$name-$version.tgz"
fi
`;

async function writeExecutable(file: string, text: string): Promise<void> {
  await writeFile(file, text);
  await chmod(file, 0o755);
}

function parseCalls(log: string): Call[] {
  return log
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}

export async function makeDevstackHost(options: HostOptions): Promise<DevstackHost> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ovnmeta-devstack-'));
  const bin = path.join(dir, 'bin');
  const sysbin = path.join(dir, 'sysbin');
  const packages = path.join(dir, 'packages');
  const checkout = path.join(dir, 'opt/stack/ovnmeta');
  const neutronConfDir = path.join(dir, 'etc/neutron');
  const dataDir = path.join(dir, 'opt/stack/data');
  await Promise.all(
    [
      bin,
      sysbin,
      packages,
      path.join(checkout, 'bin'),
      path.join(neutronConfDir, 'plugins/ml2'),
      path.join(dir, 'etc/nova'),
      dataDir,
    ].map((d) => mkdir(d, { recursive: true })),
  );
  await Promise.all(TOOLS.map((tool) => symlink(which(tool), path.join(sysbin, tool))));
  await writeFile(path.join(checkout, 'bin/ovnmeta.js'), '// scratch checkout\n');
  if (options.pathNode !== null)
    await writeExecutable(path.join(bin, 'node'), fakeNodeScript(options.pathNode ?? 'v20.18.1'));
  // install_package <name> "installs" packages/<name> into bin.
  await writeExecutable(path.join(packages, 'npm'), fakeNpmScript);
  await writeFile(path.join(packages, 'node.template'), fakeNodeScript('@VERSION@'));
  if (options.npm !== false) await writeExecutable(path.join(bin, 'npm'), fakeNpmScript);

  const log = path.join(dir, 'calls.log');
  await writeFile(log, '');
  const ml2Conf = path.join(neutronConfDir, 'plugins/ml2/ml2_conf.ini');
  const env: Record<string, string> = {
    PATH: `${bin}:${sysbin}`,
    HOME: dir,
    LANG: 'C',
    STUB_LOG: log,
    STUB_BIN: bin,
    STUB_PACKAGES: packages,
    OVNMETA_DIR: checkout,
    ENABLED_SERVICES: options.services.join(','),
    DEST: path.join(dir, 'opt/stack'),
    DATA_DIR: dataDir,
    STACK_USER: userInfo().username,
    NEUTRON_CONF_DIR: neutronConfDir,
    NEUTRON_CONF: path.join(neutronConfDir, 'neutron.conf'),
    Q_PLUGIN_CONF_FILE: ml2Conf.slice(1), // devstack's is relative to /
    OVN_AGENT_CONF: path.join(neutronConfDir, 'plugins/ml2/ovn_agent.ini'),
    NOVA_CONF: path.join(dir, 'etc/nova/nova.conf'),
    OVN_META_DATA_HOST: '10.0.0.5',
    OVN_SB_REMOTE: 'tcp:10.0.0.5:6642',
    OVS_RUNDIR: '/var/run/openvswitch',
    ENABLE_DEBUG_LOG_LEVEL: 'True',
    INT_CA_DIR: path.join(dir, 'data/CA/int-ca'),
    DEVSTACK_CERT_NAME: 'devstack-cert',
    ...options.env,
  };
  let seen = 0;

  const host: DevstackHost = {
    dir,
    env,
    checkout,
    ovnmetaConf: path.join(neutronConfDir, 'ovnmeta.ini'),
    ml2Conf,
    novaConf: env.NOVA_CONF!,
    fetchedNode: path.join(dataDir, 'ovnmeta/node/bin/node'),
    async run(mode, phase, extraEnv = {}) {
      const args = [runPhaseScript, repoRoot, mode, ...(phase === undefined ? [] : [phase])];
      const { code, stdout, stderr } = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>((resolve, reject) => {
        const child = spawn(path.join(sysbin, 'bash'), args, { env: { ...env, ...extraEnv }, cwd: dir });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('error', reject);
        child.on('close', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
      });
      const all = parseCalls(await readFile(log, 'utf8'));
      const calls = all.slice(seen);
      seen = all.length;
      return { code, stdout, stderr, calls };
    },
    read: (file) => readFile(file, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  return host;
}

/** The calls to one function, in order. */
export function callsTo(calls: readonly Call[], name: string): Call[] {
  return calls.filter((call) => call[0] === name);
}

/** Index of the first call equal to `call`, or -1. */
export function indexOfCall(calls: readonly Call[], call: Call): number {
  return calls.findIndex((c) => c.length === call.length && c.every((arg, i) => arg === call[i]));
}

/** `process.arch` as the npm registry's node-linux-<arch> package names it. */
export function registryArch(): string {
  const names: Record<string, string> = { x64: 'x64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };
  const arch = names[process.arch];
  if (arch === undefined) throw new Error(`no node-linux package for ${process.arch}`);
  return arch;
}
