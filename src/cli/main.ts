// ovnmeta command line: `agent`, `cleanup`, `demo`, `verify`.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Agent, AgentConfigError, cleanupHost, loadConfig, type AgentConfig } from '../agent/index.js';

const usage = `usage: ovnmeta <command> [options]

commands:
  agent --config-file FILE [...]     run the metadata agent on this chassis
  cleanup --config-file FILE [...]   remove every ovnmeta-* namespace, veth and OVS port
  demo [--once]                      throwaway OVN chassis, two VMs fetching metadata
  verify --config-file FILE [...] [--network ID] [--probe] [--json]
                                     check, with ovn-trace, that metadata works here

Options are neutron's (neutron_ovn_metadata_agent.ini, neutron.conf); later
--config-file values win. See docs/configuration.md.
`;

async function config(argv: string[]): Promise<AgentConfig> {
  const { values } = parseArgs({
    args: argv,
    options: { 'config-file': { type: 'string', multiple: true } },
    allowPositionals: false,
  });
  return loadConfig({ files: values['config-file'] ?? [], env: process.env });
}

async function agent(argv: string[]): Promise<void> {
  const cfg = await config(argv);
  const logger = pino({ level: cfg.DEFAULT.debug ? 'debug' : 'info', base: { service: 'ovnmeta' } });
  const running = await Agent.start({ config: cfg, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    running.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function cleanup(argv: string[]): Promise<void> {
  const cfg = await config(argv);
  const report = await cleanupHost(cfg.ovs.ovsdb_connection);
  process.stdout.write(
    `removed ${report.namespaces.length} namespaces, ${report.ovsPorts.length} OVS ports\n`,
  );
  for (const ns of report.namespaces) process.stdout.write(`  ${ns}\n`);
}

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  agent,
  cleanup,
  demo: async (argv) => (await import('./demo.js')).demo(argv),
  verify: async (argv) => (await import('./verify.js')).verify(argv),
};

const [command, ...rest] = process.argv.slice(2);
const run = command === undefined ? undefined : commands[command];
if (!run) {
  process.stdout.write(usage);
  process.exitCode = command === undefined || command === '--help' || command === 'help' ? 0 : 2;
} else {
  run(rest).catch((err: unknown) => {
    if (err instanceof AgentConfigError || (err as { code?: string }).code?.startsWith('AGENT_CONFIG')) {
      process.stderr.write(`ovnmeta: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`ovnmeta ${command}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
