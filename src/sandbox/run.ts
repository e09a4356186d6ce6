// Running the OVS/OVN/iproute2 command-line tools for the sandbox.
import { execa } from 'execa';
import { SandboxCommandError } from './errors.js';

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Text on stdin (`ip -batch -`). */
  readonly input?: string;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs a command; throws SandboxCommandError unless it exits 0. Returns stdout, trimmed. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const result = await runRaw(command, args, options);
  if (result.exitCode !== 0) {
    throw new SandboxCommandError(
      `${command} ${args.join(' ')}`,
      result.exitCode,
      result.stderr || result.stdout,
    );
  }
  return result.stdout;
}

/** Runs a command and reports its exit code instead of throwing. */
export async function runRaw(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await execa(command, [...args], {
    reject: false,
    env: options.env,
    input: options.input,
    timeout: options.timeoutMs ?? 30_000,
    stripFinalNewline: true,
  });
  if (result.failed && result.exitCode === undefined) {
    throw new SandboxCommandError(
      `${command} ${args.join(' ')}`,
      undefined,
      result.shortMessage ?? 'did not run',
      {
        cause: result,
      },
    );
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
