// Detached daemons for tests: the sandbox's (src/sandbox/daemon.ts), plus a
// hook for test runs only — 'exit' does not run when a signal ends the
// process (a runner's timeout, Ctrl-C), so kill the daemons then and let the
// signal take its course. (The sandbox leaves signals to the demo and agent.)
import { killAllDaemons } from '../../src/sandbox/daemon.js';

export * from '../../src/sandbox/daemon.js';

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAllDaemons();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}
