// devstack/plugin.sh and devstack/settings, run phase by phase the way
// stack.sh, unstack.sh and clean.sh source them, against a stub of
// devstack's functions that records every call (test/unit/devstack/stub).
// devstack itself cannot run here; what it would be asked to do can be read.
import { spawnSync } from 'node:child_process';
import { access, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOsloIni } from '../../../src/agent/config/oslo-ini.js';

/** section -> option -> value, through the agent's own oslo parser. */
function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [section, options] of parseOsloIni(text)) {
    out[section] = Object.fromEntries([...options].map(([k, v]) => [k, v.value]));
  }
  return out;
}
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/agent/config/index.js';
import {
  callsTo,
  indexOfCall,
  makeDevstackHost,
  registryArch,
  repoRoot,
  type DevstackHost,
  type HostOptions,
} from './devstack-host.js';

const CHASSIS = ['ovn-controller', 'ovs-vswitchd', 'ovsdb-server'];
const CONTROLLER = ['ovn-northd', 'q-svc', 'n-api', 'n-api-meta', 'n-cpu'];
const ALL_IN_ONE = [...CONTROLLER, ...CHASSIS, 'q-ovn-metadata-agent'];

const hosts: DevstackHost[] = [];
async function host(options: HostOptions): Promise<DevstackHost> {
  const h = await makeDevstackHost(options);
  hosts.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.remove()));
});

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

/** The ENABLED_SERVICES the stub saw right after settings was sourced. */
function servicesAfterSettings(calls: readonly (readonly string[])[]): string[] {
  const line = callsTo(calls, 'settings')[0];
  expect(line, 'settings was sourced').toBeDefined();
  return line![1]!.replace(/^ENABLED_SERVICES=/, '').split(',');
}

describe('devstack/settings', () => {
  it('swaps neutron’s OVN metadata agent for ovnmeta-agent on a chassis', async () => {
    const h = await host({ services: ALL_IN_ONE });
    const { code, calls } = await h.run('stack', 'pre-install');
    expect(code).toBe(0);
    expect(callsTo(calls, 'disable_service')).toEqual([
      ['disable_service', 'q-ovn-metadata-agent', 'neutron-ovn-metadata-agent'],
    ]);
    expect(callsTo(calls, 'enable_service')).toEqual([['enable_service', 'ovnmeta-agent']]);
    const services = servicesAfterSettings(calls);
    expect(services).toContain('ovnmeta-agent');
    expect(services).not.toContain('q-ovn-metadata-agent');
  });

  it('keeps q-ovn-agent and its extension list when it has other extensions', async () => {
    const h = await host({
      services: [...CONTROLLER, ...CHASSIS, 'q-ovn-agent'],
      env: { OVN_AGENT_EXTENSIONS: 'qos_hwol,metadata' },
    });
    const { calls } = await h.run('stack', 'pre-install');
    // devstack writes q-ovn-agent's ini only when the list names metadata;
    // post-config takes it out of the ini (below).
    expect(callsTo(calls, 'settings')[0]![2]).toBe('OVN_AGENT_EXTENSIONS=qos_hwol,metadata');
    expect(servicesAfterSettings(calls)).toEqual(expect.arrayContaining(['q-ovn-agent', 'ovnmeta-agent']));
  });

  it('disables q-ovn-agent when metadata was its only extension', async () => {
    const h = await host({
      services: [...CONTROLLER, ...CHASSIS, 'q-ovn-agent'],
      env: { OVN_AGENT_EXTENSIONS: 'metadata' },
    });
    const { calls } = await h.run('stack', 'pre-install');
    expect(callsTo(calls, 'disable_service')).toEqual([
      ['disable_service', 'q-ovn-metadata-agent', 'neutron-ovn-metadata-agent'],
      ['disable_service', 'q-ovn-agent', 'neutron-ovn-agent'],
    ]);
    const services = servicesAfterSettings(calls);
    expect(services).not.toContain('q-ovn-agent');
    expect(services).toContain('ovnmeta-agent');
  });

  it('leaves a node without ovn-controller alone, in every phase', async () => {
    const h = await host({ services: CONTROLLER });
    for (const [mode, phase] of [
      ['stack', 'pre-install'],
      ['stack', 'install'],
      ['stack', 'post-config'],
      ['stack', 'extra'],
      ['unstack'],
      ['clean'],
    ] as const) {
      const { code, calls } = await h.run(mode, phase);
      expect(code, `${mode} ${phase ?? ''}`).toBe(0);
      expect(calls.map((c) => c[0])).toEqual(['settings', 'finished']);
    }
  });

  it('keeps neutron’s agent when the operator disabled ovnmeta-agent', async () => {
    const h = await host({ services: ALL_IN_ONE, env: { DISABLED_SERVICES: 'ovnmeta-agent' } });
    const { calls } = await h.run('stack', 'extra');
    expect(callsTo(calls, 'disable_service')).toEqual([]);
    expect(servicesAfterSettings(calls)).toContain('q-ovn-metadata-agent');
    expect(callsTo(calls, 'run_process')).toEqual([]);
  });
});

describe('stack pre-install / install: Node and the build', () => {
  it('fails early and says how out when only an old Node exists and fetching is off', async () => {
    const h = await host({
      services: ALL_IN_ONE,
      pathNode: 'v18.19.1',
      env: { OVNMETA_NODE_FROM_NPM: 'False' },
    });
    const { code, stderr, calls } = await h.run('stack', 'pre-install');
    expect(code).not.toBe(0);
    expect(callsTo(calls, 'die')).toEqual([
      ['die', 'ovnmeta needs Node >= 20.18.1: set OVNMETA_NODE to its binary, or OVNMETA_NODE_FROM_NPM=True'],
    ]);
    expect(stderr).toContain('OVNMETA_NODE');
  });

  it('refuses an explicit OVNMETA_NODE that is too old rather than pick another', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v22.11.0' });
    const old = path.join(h.dir, 'node18');
    await writeFile(old, '#!/bin/bash\necho v18.20.4\n', { mode: 0o755 });
    const { code, calls } = await h.run('stack', 'install', { OVNMETA_NODE: old });
    expect(code).not.toBe(0);
    expect(callsTo(calls, 'die')).toEqual([
      ['die', `OVNMETA_NODE=${old} is Node v18.20.4; ovnmeta needs >= 20.18.1`],
    ]);
    expect(callsTo(calls, 'npm-binary')).toEqual([]);
  });

  it('fetches Node from the npm registry when the host’s is too old, then builds with it', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v18.19.1' });
    const { code, calls } = await h.run('stack', 'install');
    expect(code).toBe(0);
    const npm = callsTo(calls, 'npm-binary');
    expect(npm.map((c) => c[1])).toEqual([
      `pack --silent node-linux-${registryArch()}@20.18.1`,
      'ci --no-audit --no-fund',
      'run build',
    ]);
    // The build runs in the checkout, under the fetched node.
    for (const build of npm.slice(1)) {
      expect(build[2]).toBe(`cwd=${h.checkout}`);
      expect(build[3]).toBe(`node=${h.fetchedNode}`);
    }
    expect(await exists(h.fetchedNode)).toBe(true);
    expect(callsTo(calls, 'install_package')).toEqual([]);
  });

  it('uses a recent enough node from PATH as it is', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v22.11.0' });
    const { code, calls } = await h.run('stack', 'install');
    expect(code).toBe(0);
    const npm = callsTo(calls, 'npm-binary');
    expect(npm.map((c) => c[1])).toEqual(['ci --no-audit --no-fund', 'run build']);
    expect(npm[0]![3]).toBe(`node=${path.join(h.dir, 'bin/node')}`);
  });

  it('installs the distribution’s npm only when npm is missing', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v20.18.1', npm: false });
    const { code, calls } = await h.run('stack', 'install');
    expect(code).toBe(0);
    expect(callsTo(calls, 'install_package')).toEqual([['install_package', 'npm']]);
    expect(callsTo(calls, 'npm-binary')).toHaveLength(2);
  });
});

describe('stack post-config', () => {
  const secret = 'n0t-in-any-log';

  it('writes the agent’s ini from devstack’s variables, loadable by the agent', async () => {
    const h = await host({ services: ALL_IN_ONE, env: { METADATA_PROXY_SHARED_SECRET: secret } });
    const { code, calls } = await h.run('stack', 'post-config');
    expect(code).toBe(0);
    const conf = h.ovnmetaConf;
    expect(callsTo(calls, 'iniset').filter((c) => c[1] === conf)).toEqual([
      ['iniset', conf, 'DEFAULT', 'debug', 'True'],
      ['iniset', conf, 'DEFAULT', 'state_path', path.join(h.env.DATA_DIR!, 'neutron')],
      ['iniset', conf, 'DEFAULT', 'nova_metadata_host', '10.0.0.5'],
      ['iniset', conf, 'DEFAULT', 'nova_metadata_port', '8775'],
      ['iniset', conf, 'ovs', 'ovsdb_connection', 'unix:/var/run/openvswitch/db.sock'],
      ['iniset', conf, 'ovn', 'ovn_sb_connection', 'tcp:10.0.0.5:6642'],
      ['iniset', conf, 'ovnmeta', 'metrics_bind', '127.0.0.1:9105'],
      ['iniset', conf, 'DEFAULT', 'metadata_proxy_shared_secret', secret],
    ]);
    expect((await stat(conf)).mode & 0o777, 'it holds the secret').toBe(0o600);
    const text = await h.read(conf);
    const config = parseConfig([{ name: conf, text }]);
    expect(config.DEFAULT.nova_metadata_host).toBe('10.0.0.5');
    expect(config.DEFAULT.nova_metadata_port).toBe(8775);
    expect(config.DEFAULT.debug).toBe(true);
    expect(config.ovn.ovn_sb_connection).toBe('tcp:10.0.0.5:6642');
    expect(config.ovs.ovsdb_connection).toBe('unix:/var/run/openvswitch/db.sock');
    expect(config.ovnmeta.metrics_bind).toEqual({ host: '127.0.0.1', port: 9105 });
    expect(config.DEFAULT.metadata_proxy_socket).toBe(path.join(h.env.DATA_DIR!, 'neutron/metadata_proxy'));
  });

  it('turns on neutron’s ovn_metadata_enabled (ML2 file) and nova’s service_metadata_proxy', async () => {
    const h = await host({ services: ALL_IN_ONE, env: { METADATA_PROXY_SHARED_SECRET: secret } });
    await writeFile(
      h.ml2Conf,
      '[ovn]\novn_metadata_enabled = False\novn_sb_connection = tcp:10.0.0.5:6642\n',
    );
    const { calls } = await h.run('stack', 'post-config');
    expect(indexOfCall(calls, ['iniset', h.ml2Conf, 'ovn', 'ovn_metadata_enabled', 'True'])).toBeGreaterThan(
      -1,
    );
    expect(parseIni(await h.read(h.ml2Conf)).ovn).toEqual({
      ovn_metadata_enabled: 'True',
      ovn_sb_connection: 'tcp:10.0.0.5:6642',
    });
    // nova.conf is edited in the background by stack.sh: wait for it first.
    const wait = indexOfCall(calls, ['async_wait', 'configure_neutron_nova']);
    const proxy = indexOfCall(calls, ['iniset', h.novaConf, 'neutron', 'service_metadata_proxy', 'True']);
    const shared = indexOfCall(calls, [
      'iniset',
      h.novaConf,
      'neutron',
      'metadata_proxy_shared_secret',
      secret,
    ]);
    expect(wait).toBeGreaterThan(-1);
    expect(proxy).toBeGreaterThan(wait);
    expect(shared).toBeGreaterThan(wait);
  });

  it('keeps the shared secret out of devstack’s xtrace log', async () => {
    const h = await host({ services: ALL_IN_ONE, env: { METADATA_PROXY_SHARED_SECRET: secret } });
    const { stderr, stdout } = await h.run('stack', 'post-config');
    expect(stderr, 'xtrace is on').toMatch(/^\+.*nova_metadata_host/m);
    expect(stderr).not.toContain(secret);
    expect(stdout).not.toContain(secret);
  });

  it('takes nova’s secret when METADATA_PROXY_SHARED_SECRET is not set', async () => {
    const h = await host({ services: ALL_IN_ONE });
    await writeFile(h.novaConf, '[neutron]\nmetadata_proxy_shared_secret = from-nova\n');
    const { calls } = await h.run('stack', 'post-config');
    expect(callsTo(calls, 'iniset').filter((c) => c[4] === 'from-nova')).toEqual([
      ['iniset', h.ovnmetaConf, 'DEFAULT', 'metadata_proxy_shared_secret', 'from-nova'],
    ]);
  });

  it('on a compute-only chassis writes only its own ini', async () => {
    const h = await host({ services: [...CHASSIS, 'n-cpu', 'q-ovn-metadata-agent'] });
    const { code, calls } = await h.run('stack', 'post-config');
    expect(code).toBe(0);
    expect(new Set(callsTo(calls, 'iniset').map((c) => c[1]))).toEqual(new Set([h.ovnmetaConf]));
    expect(callsTo(calls, 'async_wait')).toEqual([]);
  });

  it('points the agent at devstack’s certificates under tls-proxy', async () => {
    const h = await host({
      services: [...ALL_IN_ONE, 'tls-proxy'],
      env: { OVN_SB_REMOTE: 'ssl:10.0.0.5:6642' },
    });
    const { calls } = await h.run('stack', 'post-config');
    const ca = h.env.INT_CA_DIR!;
    const ovn = callsTo(calls, 'iniset').filter((c) => c[1] === h.ovnmetaConf && c[2] === 'ovn');
    expect(ovn).toEqual([
      ['iniset', h.ovnmetaConf, 'ovn', 'ovn_sb_connection', 'ssl:10.0.0.5:6642'],
      ['iniset', h.ovnmetaConf, 'ovn', 'ovn_sb_ca_cert', `${ca}/ca-chain.pem`],
      ['iniset', h.ovnmetaConf, 'ovn', 'ovn_sb_certificate', `${ca}/devstack-cert.crt`],
      ['iniset', h.ovnmetaConf, 'ovn', 'ovn_sb_private_key', `${ca}/private/devstack-cert.key`],
    ]);
  });

  it('strips the metadata extension from an existing q-ovn-agent ini', async () => {
    const h = await host({
      services: [...CONTROLLER, ...CHASSIS, 'q-ovn-agent'],
      env: { OVN_AGENT_EXTENSIONS: 'metadata,qos_hwol' },
    });
    await writeFile(h.env.OVN_AGENT_CONF!, '[agent]\nextensions = metadata,qos_hwol\n');
    await h.run('stack', 'post-config');
    expect(parseIni(await h.read(h.env.OVN_AGENT_CONF!)).agent).toEqual({ extensions: 'qos_hwol' });
  });

  it('rewrites the ini from scratch on every stack', async () => {
    const h = await host({ services: ALL_IN_ONE });
    await writeFile(h.ovnmetaConf, '[DEFAULT]\nnova_metadata_port = 9999\nstale = yes\n');
    await h.run('stack', 'post-config');
    const ini = parseIni(await h.read(h.ovnmetaConf));
    expect(ini.DEFAULT!.nova_metadata_port).toBe('8775');
    expect(ini.DEFAULT!.stale).toBeUndefined();
  });
});

describe('stack extra / unstack / clean', () => {
  it('runs the agent under devstack’s systemd as root with its config file', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v20.18.1' });
    const { code, calls } = await h.run('stack', 'extra');
    expect(code).toBe(0);
    expect(callsTo(calls, 'run_process')).toEqual([
      [
        'run_process',
        'ovnmeta-agent',
        `${path.join(h.dir, 'bin/node')} --max-semi-space-size=4 ${h.checkout}/bin/ovnmeta.js agent --config-file ${h.ovnmetaConf}`,
        '',
        'root',
      ],
    ]);
  });

  it('runs the fetched node when the host’s is too old', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v18.19.1' });
    await h.run('stack', 'install');
    const { calls } = await h.run('stack', 'extra');
    expect(callsTo(calls, 'run_process')[0]![2]).toMatch(new RegExp(`^${h.fetchedNode} `));
  });

  it('stops the agent on unstack and leaves everything else', async () => {
    const h = await host({ services: ALL_IN_ONE });
    const { code, calls } = await h.run('unstack');
    expect(code).toBe(0);
    expect(calls.map((c) => c[0])).toEqual([
      'disable_service',
      'enable_service',
      'settings',
      'stop_process',
      'finished',
    ]);
    expect(callsTo(calls, 'stop_process')).toEqual([['stop_process', 'ovnmeta-agent']]);
  });

  it('on clean runs `ovnmeta cleanup` and removes the config, the build and the fetched node', async () => {
    const h = await host({ services: ALL_IN_ONE, pathNode: 'v18.19.1' });
    expect((await h.run('stack', 'install')).code).toBe(0);
    expect((await h.run('stack', 'post-config')).code).toBe(0);
    await mkdir(path.join(h.checkout, 'dist/cli'), { recursive: true });
    await writeFile(path.join(h.checkout, 'dist/cli/main.js'), '');
    await mkdir(path.join(h.checkout, 'node_modules'));
    const { code, calls } = await h.run('clean');
    expect(code).toBe(0);
    const cleanup = [
      h.fetchedNode,
      `${h.checkout}/bin/ovnmeta.js`,
      'cleanup',
      '--config-file',
      h.ovnmetaConf,
    ];
    expect(callsTo(calls, 'sudo')).toEqual([['sudo', ...cleanup]]);
    expect(callsTo(calls, 'node-binary')).toEqual([['node-binary', ...cleanup]]);
    for (const gone of [
      h.ovnmetaConf,
      path.join(h.checkout, 'dist'),
      path.join(h.checkout, 'node_modules'),
      h.fetchedNode,
    ]) {
      expect(await exists(gone), gone).toBe(false);
    }
    expect(await exists(path.join(h.checkout, 'bin/ovnmeta.js')), 'the checkout stays').toBe(true);
  });
});

describe('the plugin’s files', () => {
  it('are shellcheck-clean (with the test stub)', () => {
    const files = [
      'devstack/plugin.sh',
      'devstack/settings',
      'test/unit/devstack/stub/functions',
      'test/unit/devstack/stub/run-phase.sh',
    ];
    const result = spawnSync('shellcheck', ['--external-sources', ...files], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'shellcheck is not installed: it is the Debian package `shellcheck` (scripts/install-deps.sh)',
      );
    }
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('list Debian packages one per line in devstack/files/debs/ovnmeta', async () => {
    const lines = (await readFile(path.join(repoRoot, 'devstack/files/debs/ovnmeta'), 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    for (const line of lines) expect(line).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(lines).toEqual(expect.arrayContaining(['iproute2', 'iptables', 'ethtool']));
  });
});
