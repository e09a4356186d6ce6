// Writes docs/configuration.md from the option schema.
//   npx vite-node scripts/gen-config-doc.ts           # write
//   npx vite-node scripts/gen-config-doc.ts --check   # exit 1 if it is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc } from '../src/agent/config/doc.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const text = renderConfigDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is stale too
  }
  if (current !== text) {
    process.stderr.write(`${target} is stale: run npx vite-node scripts/gen-config-doc.ts\n`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
