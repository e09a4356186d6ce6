// Configuration failures. None is retryable: the files must be fixed.
// Messages name the option, its section and where the value came from, and
// never contain the value of a sensitive option.
import { CodedError } from '../../common/coded-error.js';

/** The base of the agent's AGENT_* errors. */
export abstract class AgentError extends CodedError {
  abstract override readonly code: `AGENT_${string}`;
}

/** Every code of this module, for the catalogue test against docs/errors.md. */
export const AGENT_CONFIG_ERROR_CODES = [
  'AGENT_CONFIG_INVALID',
  'AGENT_CONFIG_FILE_NOT_FOUND',
  'AGENT_CONFIG_FILE_UNREADABLE',
  'AGENT_CONFIG_SYNTAX',
  'AGENT_CONFIG_DIR_NOT_FOUND',
] as const;

/** Where an option's effective value came from. */
export type ValueSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string; readonly line: number }
  | { readonly kind: 'env'; readonly name: string };

export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'the default';
    case 'file':
      return source.file;
    case 'env':
      return `environment variable ${source.name}`;
  }
}

/** One bad option value. */
export interface ConfigProblem {
  readonly section: string;
  readonly option: string;
  readonly source: ValueSource;
  /** "must be a port number (1-65535)" */
  readonly expected: string;
  /** The text as written, or undefined for a sensitive option. */
  readonly raw: string | undefined;
}

function problemLine(p: ConfigProblem): string {
  const shown = p.raw === undefined ? '(sensitive, not shown)' : JSON.stringify(p.raw);
  return `[${p.section}] ${p.option} = ${shown} in ${describeSource(p.source)}: ${p.expected}`;
}

/**
 * AGENT_CONFIG_INVALID: one or more options have values that do not parse.
 * All bad options are reported at once, one per line, so that one edit fixes
 * them all.
 */
export class AgentConfigError extends AgentError {
  readonly code = 'AGENT_CONFIG_INVALID';
  readonly retryable = false;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(problemLine);
    super(
      lines.length === 1 ? (lines[0] as string) : `${lines.length} invalid options:\n  ${lines.join('\n  ')}`,
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** AGENT_CONFIG_FILE_NOT_FOUND: a --config-file that does not exist. */
export class AgentConfigFileNotFoundError extends AgentError {
  readonly code = 'AGENT_CONFIG_FILE_NOT_FOUND';
  readonly retryable = false;

  constructor(
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`config file ${file} does not exist`, options);
  }
}

/** AGENT_CONFIG_FILE_UNREADABLE: it exists but cannot be read (permissions, a directory…). */
export class AgentConfigFileUnreadableError extends AgentError {
  readonly code = 'AGENT_CONFIG_FILE_UNREADABLE';
  readonly retryable = false;

  constructor(
    readonly file: string,
    options: { cause: unknown },
  ) {
    const reason = (options.cause as NodeJS.ErrnoException | undefined)?.code ?? String(options.cause);
    super(`config file ${file} cannot be read (${reason})`, options);
  }
}

/** AGENT_CONFIG_DIR_NOT_FOUND: a --config-dir that does not exist (oslo's ConfigDirNotFoundError). */
export class AgentConfigDirNotFoundError extends AgentError {
  readonly code = 'AGENT_CONFIG_DIR_NOT_FOUND';
  readonly retryable = false;

  constructor(readonly dir: string) {
    super(`--config-dir ${dir} does not exist`);
  }
}

/** AGENT_CONFIG_SYNTAX: a line that oslo.config would refuse too. */
export class AgentConfigSyntaxError extends AgentError {
  readonly code = 'AGENT_CONFIG_SYNTAX';
  readonly retryable = false;

  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    // The line's text is not quoted: it may be a secret written wrongly.
    super(`config file ${file} line ${line}: ${reason}`, options);
  }
}

export type AgentConfigFailure =
  | AgentConfigError
  | AgentConfigDirNotFoundError
  | AgentConfigFileNotFoundError
  | AgentConfigFileUnreadableError
  | AgentConfigSyntaxError;
