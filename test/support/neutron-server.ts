// Debian's real neutron-server (neutron 21, ML2 with the OVN mechanism
// driver and the ovn-router L3 plugin) against a sandbox chassis' NB/SB, for
// the e2e ring driven through neutron's REST API. Everything lives in one
// temp dir: its own MariaDB (mariadb-install-db + mariadbd on its own unix
// socket and pid file, no TCP port: skip-networking, so it never meets a
// system MariaDB), `neutron-db-manage upgrade heads` (neutron 21's
// migrations fail on SQLite), then neutron-server with its own config and
// log. Both servers run in their own process group and are stopped by
// that group id (SIGTERM, SIGKILL after a grace), never by name.
//
// Settings that work here: auth_strategy = noauth (every request is admin
// in project fake_project_id, so binding:host_id may be set),
// transport_url = fake:/, api_workers = 1, rpc_workers = 0,
// rpc_state_report_workers = 0, no nova notifications. Debian's tools run
// with /usr/bin/python3 and a PATH that puts /usr/bin first (another
// python3 may come first on PATH). neutron binds a port only to a host with
// a live OVN Controller agent, i.e. a Chassis whose hostname is the port's
// binding:host_id (the sandbox sets OVS external_ids:hostname = chassis.name).
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, run, sleep, waitFor, type Chassis } from '../../src/sandbox/index.js';

const PYTHON = '/usr/bin/python3';
const ENV = { PATH: '/usr/bin:/usr/sbin:/bin:/sbin' };
const REQUIRED = ['/usr/bin/neutron-server', '/usr/bin/neutron-db-manage', '/usr/sbin/mariadbd'];

/** Why neutron-server cannot run here, or undefined when it can. */
export function neutronServerMissing(): string | undefined {
  const path = REQUIRED.find((p) => !existsSync(p));
  return path && `${path} is missing: run scripts/install-deps.sh`;
}

/** A process leading its own group, stopped by the group id. */
class Group {
  constructor(
    readonly name: string,
    readonly process: ResultPromise,
    readonly pgid: number,
  ) {}

  async stop(graceMs = 10_000): Promise<void> {
    if (!isAlive(this.pgid) && this.process.exitCode !== null) return;
    signal(-this.pgid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(this.pgid) && Date.now() < deadline) await sleep(50);
    signal(-this.pgid, 'SIGKILL');
    await this.process.catch(() => undefined);
  }
}

const live = new Set<Group>();
process.once('exit', () => {
  for (const g of live) signal(-g.pgid, 'SIGKILL');
});

function spawnGroup(name: string, command: string, args: string[], logFile: string): Group {
  const child = execa(command, args, {
    detached: true,
    stdin: 'ignore',
    stdout: { file: logFile },
    stderr: { file: logFile },
    env: ENV,
    reject: false,
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const group = new Group(name, child, child.pid);
  live.add(group);
  return group;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: gone
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface NeutronResource {
  readonly id: string;
  readonly [key: string]: unknown;
}

/** A small client for neutron's v2.0 API (noauth: admin, plain fetch). */
export class NeutronApi {
  constructor(readonly url: string) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/v2.0/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`neutron ${method} /v2.0/${path}: HTTP ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async create(
    kind: 'network' | 'subnet' | 'port',
    attrs: Record<string, unknown>,
  ): Promise<NeutronResource> {
    const reply = await this.request<Record<string, NeutronResource>>('POST', `${kind}s`, { [kind]: attrs });
    return reply[kind]!;
  }

  async list(kinds: 'networks' | 'subnets' | 'ports' | 'agents', query = ''): Promise<NeutronResource[]> {
    const reply = await this.request<Record<string, NeutronResource[]>>(
      'GET',
      `${kinds}${query && `?${query}`}`,
    );
    return reply[kinds]!;
  }

  async remove(kind: 'network' | 'subnet' | 'port', id: string): Promise<void> {
    await this.request('DELETE', `${kind}s/${id}`);
  }
}

export class NeutronServer {
  constructor(
    readonly dir: string,
    readonly api: NeutronApi,
    readonly logFile: string,
    readonly groups: Group[],
  ) {}

  /** The tail of neutron-server's log, for failure messages. */
  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '(no log)');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Stops neutron-server then MariaDB, and removes the dir; tolerant. */
  async stop(): Promise<void> {
    for (const g of [...this.groups].reverse()) {
      await g.stop().catch(() => undefined);
      live.delete(g);
    }
    if (process.env.OVNMETA_SANDBOX_KEEP !== '1') await rm(this.dir, { recursive: true, force: true });
  }
}

/** MariaDB in `dir` with an empty `neutron` database; resolves with its socket. */
async function startMariadb(dir: string, groups: Group[]): Promise<string> {
  const data = join(dir, 'mysql');
  const socket = join(dir, 'mysql.sock');
  await run(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { timeoutMs: 120_000 },
  );
  groups.push(
    spawnGroup(
      'mariadbd',
      '/usr/sbin/mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        `--socket=${socket}`,
        `--pid-file=${join(dir, 'mysql.pid')}`,
        `--log-error=${join(dir, 'mysql.err')}`,
        '--skip-networking',
        '--skip-log-bin',
        // A throw-away database: durability buys nothing here.
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        '--innodb-buffer-pool-size=64M',
      ],
      join(dir, 'mysqld.out'),
    ),
  );
  await waitFor(
    async () =>
      (await run('mariadb', [
        '--no-defaults',
        '-S',
        socket,
        '-uroot',
        '-e',
        'CREATE DATABASE IF NOT EXISTS neutron',
      ])) !== undefined,
    60_000,
    'MariaDB accepting connections',
  );
  return socket;
}

function neutronConf(dir: string, chassis: Chassis, port: number, socket: string): string {
  return [
    '[DEFAULT]',
    'core_plugin = ml2',
    'service_plugins = ovn-router',
    'auth_strategy = noauth',
    'transport_url = fake:/',
    'api_workers = 1',
    'rpc_workers = 0',
    'rpc_state_report_workers = 0',
    'notify_nova_on_port_status_changes = false',
    'notify_nova_on_port_data_changes = false',
    'api_paste_config = /etc/neutron/api-paste.ini',
    'bind_host = 127.0.0.1',
    `bind_port = ${port}`,
    `state_path = ${join(dir, 'state')}`,
    `log_file = ${join(dir, 'neutron-server.log')}`,
    '[database]',
    `connection = mysql+pymysql://root@localhost/neutron?unix_socket=${socket}`,
    '[oslo_concurrency]',
    `lock_path = ${join(dir, 'state', 'lock')}`,
    '[ml2]',
    'mechanism_drivers = ovn',
    'type_drivers = local,flat,vlan,geneve',
    'tenant_network_types = geneve',
    'extension_drivers = port_security',
    '[ml2_type_geneve]',
    'vni_ranges = 1:65536',
    'max_header_size = 38',
    '[ovn]',
    `ovn_nb_connection = ${chassis.nbRemote}`,
    `ovn_sb_connection = ${chassis.sbRemote}`,
    'ovn_metadata_enabled = true',
    '',
  ].join('\n');
}

/**
 * MariaDB, the schema and neutron-server for `chassis`; resolves once the
 * API answers. On failure stops whatever had started.
 */
export async function startNeutronServer(chassis: Chassis): Promise<NeutronServer> {
  const dir = await mkdtemp(join(tmpdir(), 'neutron-server-'));
  const groups: Group[] = [];
  const logFile = join(dir, 'neutron-server.log');
  const port = await freePort();
  const server = new NeutronServer(dir, new NeutronApi(`http://127.0.0.1:${port}`), logFile, groups);
  try {
    await mkdir(join(dir, 'state', 'lock'), { recursive: true });
    const socket = await startMariadb(dir, groups);
    const conf = join(dir, 'neutron.conf');
    await writeFile(conf, neutronConf(dir, chassis, port, socket));
    await execa(PYTHON, ['/usr/bin/neutron-db-manage', '--config-file', conf, 'upgrade', 'heads'], {
      env: ENV,
      timeout: 180_000,
    });
    const neutron = spawnGroup(
      'neutron-server',
      PYTHON,
      ['/usr/bin/neutron-server', '--config-file', conf],
      join(dir, 'neutron-server.out'),
    );
    groups.push(neutron);
    await waitFor(
      async () => {
        if (neutron.process.exitCode !== null)
          throw new Error(`neutron-server exited:\n${await server.logTail()}`);
        return (await server.api.list('networks')) !== undefined;
      },
      90_000,
      'neutron-server API',
    );
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}
