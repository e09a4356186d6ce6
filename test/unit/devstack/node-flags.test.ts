// The agent's V8 flags are set in three places that must agree: the
// launcher's #! line (bin/ovnmeta.js, what `ovnmeta` on PATH runs), the
// systemd unit's NODE_OPTIONS (for an ExecStart that runs node itself) and
// devstack's default OVNMETA_NODE_FLAGS (run_process starts node directly).
// The benches run the agent with the launcher's flags (bench/lib/agent-process.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './devstack-host.js';
import { readUnitFile, values } from './unit-file.js';

async function launcherFlags(): Promise<string[]> {
  const first = (await readFile(path.join(repoRoot, 'bin/ovnmeta.js'), 'utf8')).split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(first);
  expect(m, first).not.toBeNull();
  return (m![1] ?? '').trim().split(/\s+/).filter(Boolean);
}

describe('V8 flags of the agent', () => {
  it('the launcher sets a small young generation', async () => {
    expect(await launcherFlags()).toContain('--max-semi-space-size=4');
  });

  it('the systemd unit passes the same in NODE_OPTIONS', async () => {
    const unit = await readUnitFile(path.join(repoRoot, 'etc/systemd/ovnmeta-agent.service'));
    const env = values(unit, 'Service', 'Environment')
      .map((v) => v.replace(/^"|"$/g, ''))
      .find((v) => v.startsWith('NODE_OPTIONS='));
    expect(env?.slice('NODE_OPTIONS='.length).split(/\s+/)).toEqual(await launcherFlags());
  });

  it("devstack's default OVNMETA_NODE_FLAGS are the same", async () => {
    const settings = await readFile(path.join(repoRoot, 'devstack/settings'), 'utf8');
    const m = /^OVNMETA_NODE_FLAGS=\$\{OVNMETA_NODE_FLAGS:-(.*)\}$/m.exec(settings);
    expect(m?.[1]?.split(/\s+/)).toEqual(await launcherFlags());
  });
});
