// `ovnmeta verify --config-file FILE [...] [--network ID]... [--json] [--probe]`:
// checks, read-only, that metadata works on this chassis (docs/verify.md).
// Exit 0 when every check passed, 1 when some failed, 2 on a usage or
// configuration error.
import { loadConfig, type AgentConfig } from '../agent/index.js';
import { hasCode } from '../common/coded-error.js';
import { CliUsageError, configFilesFor, parseCommand } from './args.js';
import { exitCode, renderJson, renderTable, verifyChassis, VerifyUsageError } from '../verify/index.js';

const usage = `usage: ovnmeta verify [--config-file FILE] [--config-dir DIR] [--network ID]... [--json] [--probe]

  --config-file FILE  neutron ini file(s) of the agent (later files win)
  --config-dir DIR    every *.conf in DIR, sorted (oslo.config); without
                      either, oslo's default files (ovnmeta --help)
  --network ID        check only this network (repeatable); default every
                      network with VM ports bound to this chassis
  --json              machine-readable report
  --probe             also fetch instance-id through metadata_proxy_socket
                      for every local VM port (exercises nova and the secret)

exit status: 0 all checks passed, 1 some check failed, 2 usage or config error
`;

function parse(argv: string[]) {
  try {
    return parseCommand('verify', argv, {
      network: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      probe: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
  } catch (err) {
    if (err instanceof CliUsageError) throw new VerifyUsageError(err.message, { cause: err });
    throw err;
  }
}

export async function verify(argv: string[]): Promise<void> {
  let values: ReturnType<typeof parse>['values'];
  let config: AgentConfig;
  try {
    const parsed = parse(argv);
    values = parsed.values;
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    config = await loadConfig({ files: configFilesFor(parsed.configArgs), env: process.env });
  } catch (err) {
    if (err instanceof VerifyUsageError) {
      process.stderr.write(`${err.message} (ovnmeta verify --help)\n`);
      process.exitCode = 2;
      return;
    }
    if (hasCode(err, 'AGENT_CONFIG')) {
      process.stderr.write(`ovnmeta verify: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const report = await verifyChassis({
    config,
    ...(values.network ? { networks: values.network } : {}),
    probe: values.probe,
  });
  process.stdout.write(values.json ? renderJson(report) : renderTable(report));
  process.exitCode = exitCode(report);
}
