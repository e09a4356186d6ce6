// Runs the ovnmeta agent against a sandbox chassis, for end-to-end tests:
// in-process (fast, with access to its metrics) or as a real `ovnmeta agent`
// process (for kill -9 and restart). Both read the same ini text, written the
// way an operator would.
import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { Agent, parseConfig } from '../../src/agent/index.js';
import { ListenerHolder } from '../../src/proxy/index.js';
import type { Chassis } from '../../src/sandbox/index.js';
import { waitFor } from '../../src/sandbox/index.js';

export const SECRET = `s3cret-${randomBytes(4).toString('hex')}`;

export interface AgentIni {
  readonly novaPort: number;
  /** Extra ini lines, appended. */
  readonly extra?: string;
  /** Leave [ovn] ovn_sb_connection unset: the agent must use ovn-remote. */
  readonly sbFromOvnRemote?: boolean;
  /** [ovn] ovn_sb_connection; default the chassis' SB (`chassis.sbRemote`). */
  readonly sbConnection?: string;
}

export function agentIni(chassis: Chassis, o: AgentIni): string {
  return [
    '[DEFAULT]',
    'nova_metadata_host = 127.0.0.1',
    `nova_metadata_port = ${o.novaPort}`,
    `metadata_proxy_shared_secret = ${SECRET}`,
    `state_path = ${join(chassis.dir, 'state')}`,
    'debug = true',
    '[ovs]',
    `ovsdb_connection = ${chassis.ovsDbRemote}`,
    '[ovn]',
    o.sbFromOvnRemote ? '' : `ovn_sb_connection = ${o.sbConnection ?? chassis.sbRemote}`,
    'ovsdb_probe_interval = 5000',
    'ovsdb_retry_max_interval = 2',
    '[ovnmeta]',
    'metrics_bind =',
    o.extra ?? '',
  ].join('\n');
}

const holderEnded = new WeakSet<Chassis>();

/** The agents' listener holder (it outlives them) ends with the chassis. */
export function endHolderWithChassis(chassis: Chassis): void {
  if (holderEnded.has(chassis)) return;
  holderEnded.add(chassis);
  const path = join(chassis.dir, 'state', 'ovnmeta-listeners.sock');
  chassis.own({
    stop: () => {
      ListenerHolder.end(path);
      return Promise.resolve();
    },
  });
}

/** An agent in this process, logging to <chassis dir>/agent-N.log. */
export async function startAgent(chassis: Chassis, o: AgentIni): Promise<Agent> {
  await mkdir(join(chassis.dir, 'state'), { recursive: true });
  endHolderWithChassis(chassis);
  const config = parseConfig([{ name: 'e2e.ini', text: agentIni(chassis, o) }], {});
  const logFile = join(chassis.dir, `agent-${Date.now()}.log`);
  const logger = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true }));
  return Agent.start({ config, logger, admin: { host: '127.0.0.1', port: 0 } });
}

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

/** `ovnmeta agent --config-file …` as a child process (needs `npm run build`). */
export async function spawnAgent(
  chassis: Chassis,
  o: AgentIni,
): Promise<{ process: ResultPromise; logFile: string }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before the e2e tests`);
  await mkdir(join(chassis.dir, 'state'), { recursive: true });
  endHolderWithChassis(chassis);
  const ini = join(chassis.dir, `agent-${randomBytes(3).toString('hex')}.ini`);
  await writeFile(ini, agentIni(chassis, o), { mode: 0o600 });
  const logFile = join(chassis.dir, `agent-proc-${Date.now()}.log`);
  const child = execa('node', [MAIN, 'agent', '--config-file', ini], {
    stdout: { file: logFile },
    stderr: { file: `${logFile}.err` },
    reject: false,
  });
  return { process: child, logFile };
}

export { waitFor };
