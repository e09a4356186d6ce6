#!/usr/bin/env node
// `npm run bench -- NAME [args…]` runs bench/NAME.ts.
//
// Benches are compiled with tsc into .bench/ (git-ignored) and run by plain
// node, so that their timings and memory figures are those of the compiled
// code that ships, with no TypeScript loader in the measured process. tsc
// follows each bench's imports (src/, test/support/) by itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));

if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args…]\nbenches: ${available.join(', ')}`);
  process.exit(2);
}

const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bench.json'],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  },
);
const compiled = join(root, '.bench/bench', `${name}.js`);
if (tsc.status !== 0) {
  // Type errors elsewhere (another bench, a file in progress) do not stop
  // tsc from emitting; only a missing output is fatal.
  const mine = tsc.stdout.split('\n').filter((l) => l.startsWith(`bench/${name}.ts`));
  if (mine.length > 0 || !existsSync(compiled)) {
    console.error(tsc.stdout || tsc.stderr);
    process.exit(1);
  }
}
const run = spawnSync(process.execPath, [compiled, ...args], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
