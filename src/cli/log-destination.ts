// Where the agent's JSON log lines go, as oslo.log's `_setup_logging_from_conf`
// decides it (oslo_log/log.py), so neutron's files place ovnmeta's log where
// they placed neutron's agent's:
//  - [DEFAULT] log_file / log_dir: a file (`_get_log_file_path`: log_file
//    alone is the path; with log_dir it is joined to it; log_dir alone means
//    <log_dir>/<binary>.log);
//  - use_stderr: standard error;
//  - use_journal: the systemd journal;
//  - standard output when none of those three is set;
//  - use_syslog, in addition: syslog (/dev/log) at syslog_log_facility.
// Every one receives the same JSON lines. The journal and syslog are reached
// through util-linux's `logger` and systemd's `systemd-cat`, each one
// long-lived child fed the lines on its standard input, every line prefixed
// with its syslog severity (`<N>`), so no datagram socket code lives here.
import { spawn } from 'node:child_process';
import { existsSync, openSync, writeSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pino, type DestinationStream, type Level, type StreamEntry } from 'pino';
import { AgentConfigError, optionSource, type AgentConfig } from '../agent/index.js';

const BINARY = 'ovnmeta';
/** Where journald and a syslog daemon listen (sd-journal, syslog(3)). */
export const JOURNAL_STREAM_SOCKET = '/run/systemd/journal/stdout';
export const SYSLOG_SOCKET = '/dev/log';

/** syslog(3) facilities by the names oslo's `_find_facility` accepts. */
const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

export type LogSink =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdout' | 'stderr' | 'journal' }
  | { readonly kind: 'syslog'; readonly facility: string };

type LogOptions = Pick<
  AgentConfig['DEFAULT'],
  'log_file' | 'log_dir' | 'use_stderr' | 'use_journal' | 'use_syslog' | 'syslog_log_facility'
>;

/** The log file's path, or undefined for none. Pure. */
export function logFilePath(cfg: { DEFAULT: Pick<LogOptions, 'log_file' | 'log_dir'> }): string | undefined {
  const { log_file: file, log_dir: dir } = cfg.DEFAULT;
  if (file !== '') return dir !== '' && !isAbsolute(file) ? join(dir, file) : file;
  return dir !== '' ? join(dir, `${BINARY}.log`) : undefined;
}

/** oslo's `_find_facility`: `LOG_LOCAL0`, `local0` (any case); undefined when unknown. Pure. */
export function syslogFacility(name: string): string | undefined {
  const bare = name.toLowerCase().replace(/^log_/, '');
  return bare in FACILITIES ? bare : undefined;
}

/** Every destination of the log lines, in oslo.log's order. Pure. */
export function logSinks(cfg: { DEFAULT: LogOptions }): LogSink[] {
  const d = cfg.DEFAULT;
  const sinks: LogSink[] = [];
  const path = logFilePath(cfg);
  if (path !== undefined) sinks.push({ kind: 'file', path });
  if (d.use_stderr) sinks.push({ kind: 'stderr' });
  if (d.use_journal) sinks.push({ kind: 'journal' });
  if (sinks.length === 0) sinks.push({ kind: 'stdout' });
  if (d.use_syslog) sinks.push({ kind: 'syslog', facility: syslogFacility(d.syslog_log_facility) ?? '?' });
  return sinks;
}

/** The longest a log line waits before it is handed to the file (ms). */
export const LOG_FLUSH_MS = 20;
/** Lines waiting beyond this many characters are handed over at once. */
export const LOG_FLUSH_CHARS = 64 * 1024;

/**
 * An asynchronous pino destination on `fd` that hands the lines logged
 * within LOG_FLUSH_MS to one write(2). Under load every request ends with its
 * access line; one asynchronous write per line (pino's plain asynchronous
 * destination) cost ~10 µs of agent CPU per request, and one per event-loop
 * turn still cost one write, one libuv pool hand-off and one more wake-up of
 * the event loop per request when requests are spread out (a VM's answers
 * rarely share a turn). A line waits at most LOG_FLUSH_MS (one timer, armed
 * by the first line of a batch), or not at all once LOG_FLUSH_CHARS are
 * waiting; what a write in flight holds back goes out with the next one; on
 * exit, what is left is written synchronously after pino's own flush of the
 * stream. A kill -9 loses at most the lines of the last LOG_FLUSH_MS, as it
 * loses those of a write in flight.
 */
export function coalescingDestination(fd: number): DestinationStream {
  // A batch goes to sonic-boom as bytes, encoded once here: given a string,
  // it measures it twice and encodes it twice (for the write, then again to
  // count what was written): ~0.5 µs more per line.
  const stream = pino.destination({ dest: fd, sync: false, contentMode: 'buffer' });
  const writeBytes = stream.write.bind(stream) as unknown as (bytes: Buffer) => boolean;
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const text = pending;
    pending = '';
    if (text !== '') writeBytes(Buffer.from(text, 'utf8'));
  };
  process.on('exit', () => {
    // Whichever of this and pino's exit handler runs first, the lines
    // queued in the stream go before those of the last batch.
    try {
      stream.flushSync();
    } catch {
      // not ready or already ended: nothing queued there
    }
    if (pending !== '') writeSync(fd, pending);
    pending = '';
  });
  return {
    write(line: string): void {
      pending += line;
      if (pending.length >= LOG_FLUSH_CHARS) handOver();
      else if (timer === undefined) {
        timer = setTimeout(handOver, LOG_FLUSH_MS);
        // A batch waiting does not keep the agent alive: 'exit' writes it.
        timer.unref();
      }
    },
  };
}

/** syslog severity of a pino level: debug 7, info 6, warning 4, err 3, crit 2. */
const SEVERITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/**
 * A pino destination that writes each line, prefixed with its severity, to
 * a child's standard input. The child ends when the agent does (EOF).
 */
function prefixedPipe(command: string, args: string[]): DestinationStream {
  const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  child.unref();
  const stdin = child.stdin;
  (stdin as unknown as { unref?: () => void }).unref?.();
  stdin.on('error', () => {}); // the child gone: its lines are lost, the agent goes on
  const stream = {
    lastLevel: 30,
    [Symbol.for('pino.metadata')]: true,
    write(line: string) {
      stdin.write(`<${SEVERITY[stream.lastLevel] ?? 6}>${line}`);
    },
  };
  return stream;
}

type LogOption = 'log_file' | 'log_dir' | 'use_journal' | 'use_syslog' | 'syslog_log_facility';

function configError(cfg: AgentConfig, option: LogOption, expected: string): AgentConfigError {
  const raw = String(cfg.DEFAULT[option]);
  return new AgentConfigError([
    { section: 'DEFAULT', option, source: optionSource(cfg, 'DEFAULT', option), expected, raw },
  ]);
}

/**
 * Opens every sink now, so that one the agent cannot use is a configuration
 * error naming its option and file (exit 2): a log file it cannot append to,
 * no journal or syslog socket, an unknown facility.
 */
function openSink(cfg: AgentConfig, sink: LogSink): DestinationStream {
  switch (sink.kind) {
    case 'stdout':
    case 'stderr':
      // Asynchronous, the lines of LOG_FLUSH_MS in one write(2).
      return coalescingDestination(sink.kind === 'stdout' ? 1 : 2);
    case 'file': {
      const option = cfg.DEFAULT.log_file !== '' ? 'log_file' : 'log_dir';
      try {
        return coalescingDestination(openSync(sink.path, 'a', 0o640));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        throw configError(cfg, option, `the log file ${sink.path} cannot be opened for append (${code})`);
      }
    }
    case 'journal':
      if (!existsSync(JOURNAL_STREAM_SOCKET)) {
        throw configError(cfg, 'use_journal', `a running systemd-journald (no ${JOURNAL_STREAM_SOCKET})`);
      }
      return prefixedPipe('systemd-cat', ['--identifier', BINARY, '--level-prefix=true']);
    case 'syslog':
      if (sink.facility === '?') {
        throw configError(
          cfg,
          'syslog_log_facility',
          `a syslog facility (${Object.keys(FACILITIES).join(', ')})`,
        );
      }
      if (!existsSync(SYSLOG_SOCKET)) {
        throw configError(cfg, 'use_syslog', `a syslog daemon listening on ${SYSLOG_SOCKET}`);
      }
      return prefixedPipe('logger', [
        '--socket',
        SYSLOG_SOCKET,
        '--socket-errors=off',
        '--tag',
        BINARY,
        `--id=${process.pid}`,
        '--priority',
        `${sink.facility}.info`,
        '--prio-prefix',
        '--size',
        '65536',
      ]);
  }
}

/** pino's destination for the agent: one stream, or every sink at once. */
export function openLogDestination(cfg: AgentConfig): DestinationStream {
  const streams = logSinks(cfg).map((sink) => openSink(cfg, sink));
  if (streams.length === 1) return streams[0]!;
  const level: Level = 'trace';
  return pino.multistream(streams.map((stream): StreamEntry => ({ stream, level })));
}
