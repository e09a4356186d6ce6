// How this layer runs iproute2. Everything that touches the host
// takes a CommandRunner, so tests can count spawns and the agent can wrap it
// (timing, logging) without this layer knowing.
import { execa } from 'execa';
import { NetnsSpawnError } from './errors.js';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface RunOptions {
  /** Written to the command's stdin (an `ip -batch -` script). */
  readonly input?: string;
}

export interface CommandRunner {
  /**
   * Runs `cmd args…` to completion. A non-zero exit is a result, not an
   * error; failing to start the process throws NetnsSpawnError.
   */
  run(cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** iproute2 messages are parsed and quoted; keep them untranslated. */
const ENV = { LC_ALL: 'C' } as const;

/** The production runner: execa, no shell, stdin only when there is input. */
export const execaRunner: CommandRunner = {
  async run(cmd, args, options) {
    const result = await execa(cmd, args, {
      reject: false,
      env: ENV,
      ...(options?.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      stripFinalNewline: false,
      timeout: 30_000,
    });
    if (result.exitCode === undefined) {
      // Spawn failure (ENOENT…) or killed by the timeout/a signal.
      if (result.signal !== undefined && result.signal !== null) {
        return { stdout: result.stdout, stderr: `${result.stderr}killed by ${result.signal}`, exitCode: 128 };
      }
      throw new NetnsSpawnError([cmd, ...args].join(' '), result.cause ?? result);
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  },
};
