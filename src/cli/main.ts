// ovnmeta command line: `agent`, `cleanup`, `demo`, `health`, `release`, `verify`.
import { pino } from 'pino';
import { Agent, checkProxyOwner, cleanupHost, loadConfig, type AgentConfig } from '../agent/index.js';
import { hasCode } from '../common/coded-error.js';
import { checkPropagation, namespaceEnv } from '../namespace/index.js';
import { ListenerHolder } from '../proxy/index.js';
import { CliUsageError, configFilesFor, parseCommand } from './args.js';
import { openLogDestination } from './log-destination.js';

const usage = `usage: ovnmeta <command> [options]

commands:
  agent [CONFIG]                     run the metadata agent on this chassis
  cleanup [CONFIG]                   remove every ovnmeta-* namespace, veth and OVS port
  demo [--once]                      throwaway OVN chassis, two VMs fetching metadata
  health [--config-file FILE ...] [--url URL]
                                     exit 0 when the agent's admin endpoint says ready
  release [CONFIG]                   end the listener holder: port 80 in every namespace
                                     is free (after stopping the agent for good)
  verify [CONFIG] [--network ID] [--probe] [--json]
                                     check, with ovn-trace, that metadata works here

CONFIG is oslo.config's: --config-file FILE and --config-dir DIR (its *.conf,
sorted), repeatable, applied in command-line order, later values win. Without
--config-file, neutron.conf, neutron-ovn-metadata-agent.conf and
neutron-ovn-agent.conf are looked for in ~/.neutron/, ~/, /etc/neutron/, /etc/;
without --config-dir, the same names with .conf.d. Options are neutron's
(neutron_ovn_metadata_agent.ini, neutron_ovn_agent.ini, neutron.conf).
See docs/configuration.md.
`;

async function config(command: string, argv: string[]): Promise<{ cfg: AgentConfig; files: string[] }> {
  const { values, configArgs } = parseCommand(command, argv, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const files = configFilesFor(configArgs);
  return { cfg: await loadConfig({ files, env: process.env }), files };
}

async function agent(argv: string[]): Promise<void> {
  const { cfg, files } = await config('agent', argv);
  checkProxyOwner(cfg);
  // Where oslo.log would send neutron's agent's lines (log_file, log_dir,
  // use_stderr, use_journal, use_syslog); standard output by default.
  const logger = pino(
    { level: cfg.DEFAULT.debug ? 'debug' : 'info', base: { service: 'ovnmeta' } },
    openLogDestination(cfg),
  );
  logger.info({ config_files: files }, 'configuration read');
  // Before any namespace is made: in a container, one made on a /run/netns
  // not shared with the host would be lost (NETNS_NOT_SHARED, exit 2).
  const netnsDir = namespaceEnv().netnsDir;
  try {
    logger.info({ netns_dir: netnsDir }, checkPropagation(netnsDir));
  } catch (err) {
    // In the log too (a container's log may be a file or the journal), written out before exit.
    logger.error({ code: (err as { code?: string }).code, netns_dir: netnsDir }, (err as Error).message);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    throw err;
  }
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
  const { cfg } = await config('cleanup', argv);
  const report = await cleanupHost(cfg.ovs.ovsdb_connection, cfg.ovnmeta.listener_holder_socket);
  process.stdout.write(
    `removed ${report.namespaces.length} namespaces, ${report.ovsPorts.length} OVS ports\n`,
  );
  for (const ns of report.namespaces) process.stdout.write(`  ${ns}\n`);
}

// The agent's stop leaves the listening sockets with the listener holder (a
// restart must not refuse a VM); stopping for good, e.g. to go back to
// neutron's agent, ends it. Namespaces stay.
async function release(argv: string[]): Promise<void> {
  const { cfg } = await config('release', argv);
  const held = ListenerHolder.end(cfg.ovnmeta.listener_holder_socket);
  process.stdout.write(
    held === undefined
      ? `no listener holder on ${cfg.ovnmeta.listener_holder_socket}\n`
      : `listener holder ended: ${held} listening sockets closed\n`,
  );
}

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  agent,
  cleanup,
  demo: async (argv) => (await import('./demo.js')).demo(argv),
  health: async (argv) => (await import('./health.js')).health(argv),
  release,
  verify: async (argv) => (await import('./verify.js')).verify(argv),
};

const [command, ...rest] = process.argv.slice(2);
const run = command === undefined ? undefined : commands[command];
if (!run) {
  process.stdout.write(usage);
  process.exitCode = command === undefined || command === '--help' || command === 'help' ? 0 : 2;
} else {
  run(rest).catch((err: unknown) => {
    if (err instanceof CliUsageError) {
      process.stderr.write(`${err.message} (ovnmeta --help)\n`);
      process.exit(2);
    }
    if (hasCode(err, 'AGENT_CONFIG') || hasCode(err, 'NETNS_NOT_SHARED')) {
      process.stderr.write(`ovnmeta: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`ovnmeta ${command}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
