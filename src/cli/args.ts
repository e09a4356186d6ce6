// Command-line parsing shared by every ovnmeta command: neutron's
// `--config-file FILE` and `--config-dir DIR` (repeatable, order kept, as
// oslo.config applies them), plus each command's own options. Any mistake
// is a CliUsageError: one line naming the option, exit 2, no stack.
import { homedir } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveConfigFiles, type ConfigArg } from '../agent/index.js';

export class CliUsageError extends Error {
  readonly code = 'CLI_USAGE';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliUsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

const configOptions = {
  'config-file': { type: 'string', multiple: true },
  'config-dir': { type: 'string', multiple: true },
} as const satisfies Options;

/** One line for node's parseArgs errors, naming the option or argument. */
export function usageLine(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // "Option '--config-file <value>' argument missing" / "... does not take an argument"
      // "Option '--config-dir <value>' argument missing", "... argument is
      // ambiguous" (the next word starts with '-'), "... does not take an argument"
      return /does not take/.test(e.message ?? '')
        ? `option ${quoted?.split(' ')[0] ?? ''} takes no value`
        : `option ${quoted?.split(' ')[0] ?? ''} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? ''}`.trim();
    default:
      return (e.message ?? String(err)).split('\n')[0] as string;
  }
}

export interface ParsedCommand<V> {
  readonly values: V;
  /** --config-file / --config-dir in command-line order. */
  readonly configArgs: readonly ConfigArg[];
}

/**
 * Parses `argv` of `command` with its own `options` plus the config ones.
 * Throws CliUsageError on anything parseArgs refuses, and on an empty value.
 */
export function parseCommand<const O extends Options>(command: string, argv: readonly string[], options: O) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...configOptions, ...options },
      allowPositionals: false,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw new CliUsageError(`ovnmeta ${command}: ${usageLine(err)}`, { cause: err });
  }
  const configArgs: ConfigArg[] = [];
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    if (typeof t.value === 'string' && t.value === '')
      throw new CliUsageError(`ovnmeta ${command}: option ${t.rawName} needs a value`);
    if (t.name === 'config-file' || t.name === 'config-dir')
      configArgs.push({ kind: t.name === 'config-file' ? 'file' : 'dir', path: t.value as string });
  }
  return { values: parsed.values, configArgs } as const;
}

/** The files a command reads: the command line, or oslo's defaults (discover.ts). */
export function configFilesFor(configArgs: readonly ConfigArg[]): string[] {
  return resolveConfigFiles(configArgs, { home: homedir(), env: process.env });
}
