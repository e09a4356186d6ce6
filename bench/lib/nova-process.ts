// The fake nova (src/sandbox/fake-nova.ts: checks the signature, 403
// otherwise) in its own process, so that it does not share an event loop with
// the bench or the agent. `node nova-process.js SECRET` prints its port on
// stdout and serves until killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startFakeNova } from '../../src/sandbox/index.js';

const SCRIPT = fileURLToPath(import.meta.url);

export class NovaProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static start(secret: string): Promise<NovaProcess> {
    const child = spawn(process.execPath, [SCRIPT, secret], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(new NovaProcess(child, Number(out.trim())));
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`fake nova exited (${code}) before listening`)));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

if (process.argv[1] === SCRIPT) {
  const nova = await startFakeNova({ secret: process.argv[2] ?? '', record: false });
  process.stdout.write(`${nova.port}\n`);
}
