import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import {
  AGENT_CONFIG_ERROR_CODES,
  AgentConfigDirNotFoundError,
  AgentConfigError,
  AgentConfigFileNotFoundError,
  AgentConfigFileUnreadableError,
  AgentConfigSyntaxError,
  optionEntries,
  renderConfigDoc,
} from '../../../../src/agent/config/index.js';

const docPath = new URL('../../../../docs/configuration.md', import.meta.url);

test('docs/configuration.md is the generated text (npx vite-node scripts/gen-config-doc.ts)', async () => {
  const onDisk = await readFile(docPath, 'utf8');
  expect(onDisk).toBe(renderConfigDoc());
});

test('the reference lists every option with its env variable, and no secret default', () => {
  const text = renderConfigDoc();
  for (const { option, spec } of optionEntries) {
    expect(text).toContain(`| \`${option}\` |`);
    expect(text).toContain(`\`${spec.env}\``);
  }
  expect(text).toContain('## [metadata_rate_limiting]');
});

test('docs/errors.md lists every AGENT_CONFIG_ code with its class, and the classes agree', async () => {
  const text = await readFile(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
  const samples = [
    new AgentConfigError([]),
    new AgentConfigFileNotFoundError('/x'),
    new AgentConfigFileUnreadableError('/x', { cause: new Error('EACCES') }),
    new AgentConfigSyntaxError('/x', 1, 'empty key'),
    new AgentConfigDirNotFoundError('/x'),
  ];
  expect(samples.map((e) => e.code).sort()).toEqual([...AGENT_CONFIG_ERROR_CODES].sort());
  for (const e of samples) {
    expect(e.retryable).toBe(false);
    expect(e.name).toBe(e.constructor.name);
    expect(text).toContain(`| \`${e.code}\` | \`${e.name}\` | no |`);
  }
});
