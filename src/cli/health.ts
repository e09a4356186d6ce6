// `ovnmeta health [--config-file FILE ...] [--url URL] [--timeout S]`: asks
// the agent's admin endpoint (/readyz) whether it is ready. For container
// healthchecks (kolla, podman HEALTHCHECK, a Kubernetes exec probe): exit 0
// when ready, 1 with one line saying why otherwise, 2 on a usage or
// configuration error. The address is `[ovnmeta] metrics_bind` from the same
// files the agent reads, or --url.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { loadConfig, type ConfigArg } from '../agent/index.js';
import { configFilesFor } from './args.js';
import { formatHostPort } from '../common/address.js';
import { hasCode } from '../common/coded-error.js';

const usage = `usage: ovnmeta health [--config-file FILE ...] [--config-dir DIR ...] [--url URL] [--timeout SECONDS]

  --config-file FILE  the agent's ini file(s); the admin endpoint is [ovnmeta] metrics_bind
  --config-dir DIR    its *.conf files, sorted (oslo.config's), as the agent reads them
  --url URL           ask this /readyz instead (e.g. http://127.0.0.1:9105/readyz)
  --timeout SECONDS   give up after this long (default 5)

exit status: 0 ready, 1 not ready or no answer, 2 usage or config error
`;

class HealthUsageError extends Error {}

/** The /readyz URL for a metrics_bind address; a wildcard bind is asked on loopback. */
export function readyzUrl(bind: { host: string; port: number }): string {
  const host = bind.host === '0.0.0.0' ? '127.0.0.1' : bind.host === '::' ? '::1' : bind.host;
  return `http://${formatHostPort(host, bind.port)}/readyz`;
}

async function target(argv: string[]): Promise<{ url: string; timeoutMs: number } | undefined> {
  let values;
  let tokens;
  try {
    ({ values, tokens } = parseArgs({
      args: argv,
      tokens: true,
      options: {
        'config-file': { type: 'string', multiple: true },
        'config-dir': { type: 'string', multiple: true },
        url: { type: 'string' },
        timeout: { type: 'string', default: '5' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new HealthUsageError(`${(err as Error).message}\n\n${usage}`);
  }
  if (values.help) return undefined;
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new HealthUsageError(
      `--timeout ${JSON.stringify(values.timeout)}: must be a number of seconds > 0`,
    );
  }
  if (values.url !== undefined) {
    if (!/^http:\/\/[^/]+/.test(values.url)) {
      throw new HealthUsageError(`--url ${JSON.stringify(values.url)}: must be an http:// URL`);
    }
    return { url: values.url, timeoutMs: timeout * 1000 };
  }
  // --config-file and --config-dir in command-line order, as the agent reads them.
  const configArgs = tokens.flatMap((t): ConfigArg[] =>
    t.kind === 'option' && (t.name === 'config-file' || t.name === 'config-dir')
      ? [{ kind: t.name === 'config-file' ? 'file' : 'dir', path: t.value ?? '' }]
      : [],
  );
  const files = configArgs.length > 0 ? configFilesFor(configArgs) : [];
  const config = await loadConfig({ files, env: process.env });
  const bind = config.ovnmeta.metrics_bind;
  if (bind === null) {
    const where = files.length ? files.join(', ') : 'the defaults';
    throw new HealthUsageError(
      `[ovnmeta] metrics_bind is empty in ${where}: the admin endpoint is disabled, so there is nothing to ask (set it, or pass --url)`,
    );
  }
  return { url: readyzUrl(bind), timeoutMs: timeout * 1000 };
}

/** One GET; resolves with the status and first body line, or why there was no answer. */
function ask(url: string, timeoutMs: number): Promise<{ status: number; line: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.length < 4096 ? c : ''));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, line: body.trim().split('\n')[0] ?? '' }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

export async function health(argv: string[]): Promise<void> {
  let t: Awaited<ReturnType<typeof target>>;
  try {
    t = await target(argv);
  } catch (err) {
    if (err instanceof HealthUsageError || hasCode(err, 'AGENT_CONFIG')) {
      process.stderr.write(`ovnmeta health: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (t === undefined) {
    process.stdout.write(usage);
    return;
  }
  const answer = await ask(t.url, t.timeoutMs);
  if ('error' in answer) {
    process.stdout.write(`not ready: no answer from ${t.url}: ${answer.error} (is the agent running?)\n`);
    process.exitCode = 1;
  } else if (answer.status === 200) {
    process.stdout.write(`${answer.line || 'ready'}\n`);
  } else {
    process.stdout.write(`${answer.line || `not ready: HTTP ${answer.status}`} (${t.url})\n`);
    process.exitCode = 1;
  }
}
