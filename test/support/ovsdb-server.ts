// Real ovsdb-server processes for tests and benches: standalone (unix + tcp),
// SSL (certificates from ovs-pki) and a 3-member Raft cluster, each in its own
// temp dir with its own pid file, unixctl socket and log (see
// /work/shared/reference/ovn-test-env.md). Built on daemon.ts; no vitest here.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Daemon, sleep } from './daemon.js';

export const SCHEMAS = {
  sb: '/usr/share/ovn/ovn-sb.ovsschema',
  ovs: '/usr/share/openvswitch/vswitch.ovsschema',
} as const;

export interface SslFiles {
  readonly privateKey: string;
  readonly certificate: string;
  readonly caCert: string;
}

export interface OvsdbServerOptions {
  /** 'sb', 'ovs' or a path to a .ovsschema file. Default 'sb'. */
  readonly schema?: keyof typeof SCHEMAS | string;
  /** Also listen on ptcp:0:127.0.0.1 (default true). */
  readonly tcp?: boolean;
  /** Listen on pssl:0:127.0.0.1 with ovs-pki certificates (default false). */
  readonly ssl?: boolean;
  /** Parent temp dir (default: a fresh one). */
  readonly dir?: string;
}

/** One ovsdb-server process (standalone or a cluster member). */
export class OvsdbServer {
  #daemon: Daemon;
  /** Resolved listening port of the tcp/ssl remote, kept across restarts. */
  #port = 0;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly dbFile: string,
    readonly database: string,
    private readonly mode: { tcp: boolean; ssl: SslFiles | undefined; server: SslFiles | undefined },
  ) {
    this.#daemon = this.#makeDaemon();
  }

  get ctl(): string {
    return join(this.dir, `${this.name}.ctl`);
  }
  get sock(): string {
    return join(this.dir, `${this.name}.sock`);
  }
  get logFile(): string {
    return join(this.dir, `${this.name}.log`);
  }
  get pid(): number {
    return this.#daemon.pid;
  }
  get running(): boolean {
    return this.#daemon.running;
  }
  get unixRemote(): string {
    return `unix:${this.sock}`;
  }
  get port(): number {
    return this.#port;
  }
  get tcpRemote(): string {
    if (!this.mode.tcp) throw new Error(`${this.name}: started without tcp`);
    return `tcp:127.0.0.1:${this.#port}`;
  }
  get sslRemote(): string {
    if (!this.mode.ssl) throw new Error(`${this.name}: started without ssl`);
    return `ssl:127.0.0.1:${this.#port}`;
  }
  /** Client-side key, certificate and CA for the ssl remote. */
  get sslFiles(): SslFiles {
    if (!this.mode.ssl) throw new Error(`${this.name}: started without ssl`);
    return this.mode.ssl;
  }

  /** @internal use startOvsdbServer / startOvsdbCluster. */
  static async create(
    name: string,
    dir: string,
    dbFile: string,
    schemaFile: string,
    opts: { tcp: boolean; ssl: boolean },
  ): Promise<OvsdbServer> {
    const database = (JSON.parse(await readFile(schemaFile, 'utf8')) as { name: string }).name;
    let ssl: SslFiles | undefined;
    let server: SslFiles | undefined;
    if (opts.ssl) ({ client: ssl, server } = await makePki(dir));
    return new OvsdbServer(name, dir, dbFile, database, { tcp: opts.tcp, ssl, server });
  }

  #makeDaemon(): Daemon {
    const { dir, name } = this;
    const args = [
      this.dbFile,
      `--remote=punix:${this.sock}`,
      `--pidfile=${join(dir, `${name}.pid`)}`,
      `--unixctl=${this.ctl}`,
      `--log-file=${this.logFile}`,
      '--detach',
    ];
    if (this.mode.tcp) args.push(`--remote=ptcp:${this.#port}:127.0.0.1`);
    if (this.mode.server) {
      const s = this.mode.server;
      args.push(
        `--remote=pssl:${this.#port}:127.0.0.1`,
        `--private-key=${s.privateKey}`,
        `--certificate=${s.certificate}`,
        `--ca-cert=${s.caCert}`,
      );
    }
    return new Daemon({
      name: `${name}-ovsdb-server`,
      command: 'ovsdb-server',
      args,
      pidFile: join(dir, `${name}.pid`),
      logFile: this.logFile,
    });
  }

  async start(): Promise<this> {
    // Rebuilt each time so that a restart listens on the port pinned below.
    if (!this.#daemon.running) this.#daemon = this.#makeDaemon();
    await this.#daemon.start();
    if ((this.mode.tcp || this.mode.ssl) && this.#port === 0) this.#port = await this.#readPort();
    return this;
  }

  // The log says "0:127.0.0.1: listening on port N" (lib/socket-util.c) once
  // the passive socket is bound; the port is then pinned for restarts.
  async #readPort(): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '');
      const m = [...log.matchAll(/listening on port (\d+)/g)].at(-1);
      if (m) return Number(m[1]);
      await sleep(10);
    }
    throw new Error(`${this.name}: no "listening on port" line in ${this.logFile}`);
  }

  async stop(): Promise<void> {
    await this.#daemon.stop();
  }
  async kill(): Promise<void> {
    await this.#daemon.kill();
  }
  sigstop(): void {
    this.#daemon.sigstop();
  }
  sigcont(): void {
    this.#daemon.sigcont();
  }
  /** Stops and starts again on the same socket path and tcp/ssl port. */
  async restart(): Promise<this> {
    await this.#daemon.stop();
    return this.start();
  }

  async appctl(...args: string[]): Promise<string> {
    const { stdout } = await execa('ovs-appctl', ['-t', this.ctl, ...args]);
    return stdout;
  }

  /** `ovsdb-client transact` over the unix socket; returns the parsed reply. */
  async transact(operations: readonly unknown[]): Promise<unknown[]> {
    const { stdout } = await execa('ovsdb-client', [
      'transact',
      this.unixRemote,
      JSON.stringify([this.database, ...operations]),
    ]);
    return JSON.parse(stdout) as unknown[];
  }
}

/** A standalone server with a fresh database. */
export async function startOvsdbServer(opts: OvsdbServerOptions = {}): Promise<OvsdbServer> {
  const schemaFile = schemaPath(opts.schema);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'ovsdbt-')));
  const dbFile = join(dir, 'db.db');
  await execa('ovsdb-tool', ['create', dbFile, schemaFile]);
  const server = await OvsdbServer.create('db', dir, dbFile, schemaFile, {
    tcp: opts.tcp ?? true,
    ssl: opts.ssl ?? false,
  });
  return server.start();
}

export interface OvsdbCluster {
  readonly dir: string;
  readonly database: string;
  readonly members: readonly OvsdbServer[];
  /** Comma list of the members' unix remotes (client `remote` option). */
  readonly unixRemote: string;
  readonly tcpRemote: string;
  /** Index of the current leader in `members` (polls cluster/status). */
  leader(): Promise<number>;
  /** Raft status text of one member. */
  status(member: number): Promise<string>;
  stop(): Promise<void>;
}

/** A Raft cluster of `size` members (default 3), all connected. */
export async function startOvsdbCluster(
  opts: { schema?: OvsdbServerOptions['schema']; size?: number } = {},
): Promise<OvsdbCluster> {
  const schemaFile = schemaPath(opts.schema);
  const size = opts.size ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'ovsdbc-'));
  const members: OvsdbServer[] = [];
  const raft = (i: number): string => `unix:${join(dir, `s${i}.raft`)}`;
  const db = (i: number): string => join(dir, `s${i}.db`);
  await execa('ovsdb-tool', ['create-cluster', db(1), schemaFile, raft(1)]);
  const name = (JSON.parse(await readFile(schemaFile, 'utf8')) as { name: string }).name;
  for (let i = 2; i <= size; i++) {
    await execa('ovsdb-tool', ['join-cluster', db(i), name, raft(i), raft(1)]);
  }
  for (let i = 1; i <= size; i++) {
    members.push(await OvsdbServer.create(`s${i}`, dir, db(i), schemaFile, { tcp: true, ssl: false }));
  }
  await Promise.all(members.map((m) => m.start()));
  await Promise.all(
    members.map((m) => execa('ovsdb-client', ['wait', m.unixRemote, name, 'connected'], { timeout: 30_000 })),
  );
  const status = (i: number): Promise<string> => members[i]!.appctl('cluster/status', name);
  return {
    dir,
    database: name,
    members,
    get unixRemote() {
      return members.map((m) => m.unixRemote).join(',');
    },
    get tcpRemote() {
      return members.map((m) => m.tcpRemote).join(',');
    },
    status,
    async leader() {
      for (let attempt = 0; attempt < 500; attempt++) {
        for (let i = 0; i < members.length; i++) {
          if (!members[i]!.running) continue;
          const text = await status(i).catch(() => '');
          if (/^Role: leader$/m.test(text)) return i;
        }
        await sleep(20);
      }
      throw new Error(`cluster in ${dir}: no leader`);
    },
    async stop() {
      await Promise.allSettled(members.map((m) => m.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Stops a standalone server and removes its directory. */
export async function destroyOvsdbServer(server: OvsdbServer | undefined): Promise<void> {
  if (!server) return;
  await server.stop();
  await rm(server.dir, { recursive: true, force: true });
}

function schemaPath(schema: OvsdbServerOptions['schema']): string {
  if (schema === undefined) return SCHEMAS.sb;
  return schema in SCHEMAS ? SCHEMAS[schema as keyof typeof SCHEMAS] : schema;
}

// OVS certificates carry no host name (ovs-pki(8)); clients verify the chain.
async function makePki(dir: string): Promise<{ server: SslFiles; client: SslFiles }> {
  const pki = join(dir, 'pki');
  await execa('ovs-pki', [`--dir=${pki}`, 'init', '--force']);
  for (const who of ['server', 'client']) {
    await execa('ovs-pki', [`--dir=${pki}`, 'req+sign', who, 'switch', '--force'], { cwd: dir });
  }
  const caCert = join(pki, 'switchca', 'cacert.pem');
  const files = (who: string): SslFiles => ({
    privateKey: join(dir, `${who}-privkey.pem`),
    certificate: join(dir, `${who}-cert.pem`),
    caCert,
  });
  return { server: files('server'), client: files('client') };
}
