// Where the agent's JSON log lines go, as oslo.log decides it from
// [DEFAULT] log_file and log_dir (oslo_log/log.py `_get_log_file_path`):
// log_file alone is the path; with log_dir it is joined to it; log_dir
// alone means <log_dir>/<binary>.log. Neither: standard output.
import { openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { AgentConfigError, optionSource, type AgentConfig } from '../agent/index.js';

const BINARY = 'ovnmeta';

/** The log file's path, or undefined for standard output. Pure. */
export function logFilePath(cfg: Pick<AgentConfig, 'DEFAULT'>): string | undefined {
  const { log_file: file, log_dir: dir } = cfg.DEFAULT;
  if (file !== '') return dir !== '' && !isAbsolute(file) ? join(dir, file) : file;
  return dir !== '' ? join(dir, `${BINARY}.log`) : undefined;
}

/**
 * pino's destination for the agent: a descriptor opened for append (checked
 * now, so a path the agent cannot write is a configuration error naming the
 * option and its file, exit 2), or 1 (standard output).
 */
export function openLogDestination(cfg: AgentConfig): number {
  const path = logFilePath(cfg);
  if (path === undefined) return 1;
  try {
    return openSync(path, 'a', 0o640);
  } catch (error) {
    const option = cfg.DEFAULT.log_file !== '' ? 'log_file' : 'log_dir';
    throw new AgentConfigError([
      {
        section: 'DEFAULT',
        option,
        source: optionSource(cfg, 'DEFAULT', option),
        expected: `the log file ${path} cannot be opened for append (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        raw: cfg.DEFAULT[option],
      },
    ]);
  }
}
