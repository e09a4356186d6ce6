// The agent's stdout destination writes the lines of one event-loop turn in
// one write(2), and keeps none of them past that turn.
import { createRequire } from 'node:module';
import { mkdtempSync, openSync, readFileSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coalescingDestination } from '../../../src/cli/log-destination.js';

// sonic-boom (pino's destination) writes through the CommonJS fs module.
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const dir = mkdtempSync(join(tmpdir(), 'ovnmeta-log-'));
afterEach(() => vi.restoreAllMocks());

/** The file once it holds `expected` (writes complete on libuv's pool), or as it is after 5 s. */
async function settled(file: string, expected: string): Promise<string> {
  const deadline = Date.now() + 5_000;
  while (readFileSync(file, 'utf8') !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return readFileSync(file, 'utf8');
}

describe('coalescingDestination', () => {
  it('writes the lines of one turn together, in order, once the turn ends', async () => {
    const file = join(dir, 'a.log');
    const fd = openSync(file, 'w');
    const writes = vi.spyOn(fs, 'write');
    try {
      const dest = coalescingDestination(fd);
      dest.write('{"n":1}\n');
      dest.write('{"n":2}\n');
      dest.write('{"n":3}\n');
      expect(readFileSync(file, 'utf8')).toBe(''); // nothing during the turn
      expect(await settled(file, '{"n":1}\n{"n":2}\n{"n":3}\n')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
      expect(writes).toHaveBeenCalledTimes(1);

      dest.write('{"n":4}\n'); // a later turn: its own write, not held back
      expect(await settled(file, '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n')).toBe(
        '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n',
      );
      expect(writes).toHaveBeenCalledTimes(2);
    } finally {
      closeSync(fd);
    }
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
