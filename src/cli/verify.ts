// `ovnmeta verify --config-file FILE [...] [--network ID]... [--json] [--probe]`:
// checks, read-only, that metadata works on this chassis (docs/verify.md).
// Exit 0 when every check passed, 1 when some failed, 2 on a usage or
// configuration error.
import { parseArgs } from 'node:util';
import { AgentConfigError, loadConfig, type AgentConfig } from '../agent/index.js';
import { exitCode, renderJson, renderTable, verifyChassis, VerifyUsageError } from '../verify/index.js';

const usage = `usage: ovnmeta verify --config-file FILE [...] [--network ID]... [--json] [--probe]

  --config-file FILE  neutron ini file(s) of the agent (later files win)
  --network ID        check only this network (repeatable); default every
                      network with VM ports bound to this chassis
  --json              machine-readable report
  --probe             also fetch instance-id through metadata_proxy_socket
                      for every local VM port (exercises nova and the secret)

exit status: 0 all checks passed, 1 some check failed, 2 usage or config error
`;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        'config-file': { type: 'string', multiple: true },
        network: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        probe: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    }).values;
  } catch (err) {
    throw new VerifyUsageError(`${(err as Error).message}\n\n${usage}`, { cause: err });
  }
}

export async function verify(argv: string[]): Promise<void> {
  let values: ReturnType<typeof parse>;
  let config: AgentConfig;
  try {
    values = parse(argv);
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    config = await loadConfig({ files: values['config-file'] ?? [], env: process.env });
  } catch (err) {
    if (err instanceof VerifyUsageError || err instanceof AgentConfigError || isConfigError(err)) {
      process.stderr.write(`ovnmeta verify: ${(err as Error).message}\n`);
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

const isConfigError = (err: unknown): boolean =>
  typeof (err as { code?: unknown })?.code === 'string' &&
  (err as { code: string }).code.startsWith('AGENT_CONFIG');
