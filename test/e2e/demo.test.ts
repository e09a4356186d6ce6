// `ovnmeta demo` (issue 5), as the README runs it: the built command, end to
// end, leaving nothing behind — also when interrupted with Ctrl-C.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

function leftovers(output: string): string[] {
  const names = [...output.matchAll(/\b(ovnmeta-[0-9a-f-]{36}|sbx-vm-[0-9a-f]+)\b/g)].map((m) => m[1]!);
  return [...new Set(names)].filter((n) => existsSync(`/run/netns/${n}`));
}

describe('ovnmeta demo', () => {
  test('--once: two VMs fetch their own metadata, then everything is torn down', async () => {
    expect(existsSync(MAIN), 'run `npm run build` first').toBe(true);
    const r = await execa('node', [MAIN, 'demo', '--once'], { reject: false, timeout: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('All VMs got their own metadata.');
    expect(r.stdout.match(/\[HTTP 200,/g)).toHaveLength(2);
    const dir = /in (\/tmp\/ovn-sandbox-\w+)/.exec(r.stdout)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    expect(leftovers(r.stdout)).toEqual([]);
  });

  test('Ctrl-C tears everything down', async () => {
    const child = execa('node', [MAIN, 'demo'], { reject: false, timeout: 120_000 });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Press Ctrl-C')) child.kill('SIGINT');
    });
    const r = await child;
    expect(out).toContain('done: no namespace, link or daemon of the demo is left.');
    expect(r.exitCode).toBe(130);
    expect(leftovers(out)).toEqual([]);
  });
});
