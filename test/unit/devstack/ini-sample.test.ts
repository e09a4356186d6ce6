// etc/ovnmeta.ini.sample against the agent's own option schema: it loads,
// every commented line shows the real default, and no option is missing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionEntries, parseConfig, type AgentConfig } from '../../../src/agent/config/index.js';
import { repoRoot } from './devstack-host.js';

const samplePath = path.join(repoRoot, 'etc/ovnmeta.ini.sample');
const COMMENTED_OPTION = /^#([a-z_]+) =(?: (.*))?$/;

/** Section of every `option = value` or `#option = value` line. */
function optionLines(text: string): { section: string; option: string; commented: boolean }[] {
  let section = '';
  const out: { section: string; option: string; commented: boolean }[] = [];
  for (const line of text.split('\n')) {
    const header = /^\[([a-z_A-Z]+)\]$/.exec(line);
    if (header) section = header[1]!;
    const commented = COMMENTED_OPTION.exec(line);
    const active = /^([a-z_]+) =/.exec(line);
    if (commented) out.push({ section, option: commented[1]!, commented: true });
    else if (active) out.push({ section, option: active[1]!, commented: false });
  }
  return out;
}

const get = (config: AgentConfig, section: string, option: string): unknown =>
  (config as unknown as Record<string, Record<string, unknown>>)[section]![option];

describe('etc/ovnmeta.ini.sample', () => {
  it('loads as it is, with the values an operator must set', async () => {
    const text = await readFile(samplePath, 'utf8');
    const config = parseConfig([{ name: samplePath, text }]);
    expect(config.DEFAULT.nova_metadata_host).toBe('192.0.2.10');
    expect(config.DEFAULT.metadata_proxy_shared_secret).toBe('change-me');
    expect(config.ovs.ovsdb_connection).toBe('unix:/var/run/openvswitch/db.sock');
  });

  it('shows the real default on every commented option', async () => {
    const text = await readFile(samplePath, 'utf8');
    const uncommented = text
      .split('\n')
      .map((line) => (COMMENTED_OPTION.test(line) ? line.slice(1) : line))
      .join('\n');
    const defaults = parseConfig([]);
    const config = parseConfig([{ name: `${samplePath} (uncommented)`, text: uncommented }]);
    const commented = optionLines(text).filter((l) => l.commented);
    expect(commented.length).toBeGreaterThan(20);
    for (const { section, option } of commented) {
      expect(get(config, section, option), `[${section}] ${option}`).toEqual(get(defaults, section, option));
    }
  });

  it('mentions every option of the schema once, in its section', async () => {
    const lines = optionLines(await readFile(samplePath, 'utf8'));
    const inSample = lines.map((l) => `[${l.section}] ${l.option}`).sort();
    const inSchema = optionEntries.map((e) => `[${e.section}] ${e.option}`).sort();
    expect(inSample).toEqual(inSchema);
  });
});
