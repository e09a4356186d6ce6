// The listener holder ends by itself after its idle limit with nothing held,
// and takes its control socket file with it (one killed test run used to
// leave a socket file in /tmp per private holder).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { LISTENER_HOLDER_SOURCE } from '../../../src/proxy/listener-holder.js';

describe('listener holder idle end', () => {
  it('exits after the idle limit and removes its control socket', async () => {
    const path = join(tmpdir(), `ovnmeta-holder-idle-${process.pid}.sock`);
    const koffi = createRequire(import.meta.url).resolve('koffi');
    const child = spawn(process.execPath, ['-e', LISTENER_HOLDER_SOURCE, koffi, path, '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout!.once('data', resolve)); // "ready"
    expect(existsSync(path)).toBe(true);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});
