// The agent's log destination: stdout, asynchronous (pino's sonic-boom),
// with the lines logged in one turn of the event loop handed over together.
// Under load several requests finish per turn, each with its access line;
// one asynchronous write(2) per line cost ~10 µs of agent CPU per request, a
// tenth of the relay. Nothing waits longer than the turn it was logged in
// (the hand-over is a setImmediate, not a timer), and what a write in flight
// holds back goes out with the next one, as before.
import { pino } from 'pino';

/** A pino destination (anything with write(line)). */
export interface LogDestination {
  write(line: string): boolean;
}

export function coalescingDestination(fd = 1): LogDestination {
  let pending = '';
  const handOver = (): void => {
    const text = pending;
    pending = '';
    if (text !== '') stream.write(text);
  };
  // Registered before pino.destination registers its own exit flush, so
  // that lines of the last turn reach the stream before pino flushes it.
  process.on('exit', handOver);
  const stream = pino.destination({ dest: fd, sync: false });
  return {
    write(line: string): boolean {
      if (pending === '') setImmediate(handOver);
      pending += line;
      return true;
    },
  };
}
