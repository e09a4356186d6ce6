// What etc/systemd/ovnmeta-agent.service grants, proven on this host.
//
// systemd starts a root service with CapabilityBoundingSet= and
// NoNewPrivileges=yes by setting the bounding set and exec'ing: root then has
// exactly those capabilities. `setpriv --bounding-set ... --no-new-privs` does
// the same here, and runs the agent's privileged operations (the iproute2
// commands of src/namespace; `ethtool -K … tx off` inside the netns, the
// SIOCETHTOOL that src/namespace/offload.ts now makes in-process after a
// setns(2), with the same capabilities; a listener on port 80 inside the
// netns). All of them must work with the unit's set, and each capability
// dropped in turn must break one of them.
//
// The second part shows why the unit has no ProtectSystem= and friends: in a
// mount namespace that receives but does not propagate mounts (what those
// settings create), `ip netns add` leaves the host an unusable file.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../unit/devstack/devstack-host.js';
import { readUnitFile, value, words } from '../../unit/devstack/unit-file.js';

const unitPath = path.join(repoRoot, 'etc/systemd/ovnmeta-agent.service');

/** The agent's privileged operations; each step announces itself first. */
const AGENT_OPERATIONS = `
set -e
echo "step: netns add" >&2;        ip netns add "$NS"
echo "step: veth add" >&2;         ip link add "$ROOT_DEV" type veth peer name "$NS_DEV"
echo "step: veth into netns" >&2;  ip link set "$NS_DEV" netns "$NS"
echo "step: addresses" >&2;        ip -n "$NS" addr add 169.254.169.254/32 dev "$NS_DEV"
echo "step: links up" >&2;         ip -n "$NS" link set lo up; ip -n "$NS" link set "$NS_DEV" up
echo "step: ethtool in netns" >&2; ip netns exec "$NS" ethtool -K "$NS_DEV" tx off >/dev/null
echo "step: bind port 80" >&2;     ip netns exec "$NS" "$NODE" -e '
  require("node:net").createServer().once("error", (e) => { console.error(e.code); process.exit(3); })
    .listen(80, "169.254.169.254", function () { this.close(); });'
echo "step: done" >&2
`;

interface Names {
  readonly ns: string;
  readonly rootDev: string;
  readonly nsDev: string;
}

const created: Names[] = [];
function names(): Names {
  // Unique per run; never the agent's ovnmeta- prefix.
  const id = randomBytes(4).toString('hex');
  const n = { ns: `capt-${process.pid}-${id}`, rootDev: `ct${id}a`, nsDev: `ct${id}b` };
  created.push(n);
  return n;
}

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
}

afterEach(() => {
  for (const n of created.splice(0)) {
    run('ip', ['netns', 'del', n.ns]);
    run('ip', ['link', 'del', n.rootDev]);
  }
});

/** Runs the agent's operations as root bounded to `caps`; returns the last step reached. */
function operateWith(caps: readonly string[]): { status: number | null; step: string; stderr: string } {
  const n = names();
  const bounding = ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
  const result = run(
    'setpriv',
    ['--bounding-set', bounding, '--no-new-privs', 'bash', '-c', AGENT_OPERATIONS],
    {
      NS: n.ns,
      ROOT_DEV: n.rootDev,
      NS_DEV: n.nsDev,
      NODE: process.execPath,
    },
  );
  const steps = [...result.stderr.matchAll(/^step: (.+)$/gm)].map((m) => m[1]!);
  return { status: result.status, step: steps.at(-1) ?? '', stderr: result.stderr };
}

let unitCaps: string[] = [];
beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test runs iproute2 as root: run it as root');
  for (const tool of ['setpriv', 'unshare', 'ip', 'ethtool']) {
    if (run(tool, ['--version']).error) throw new Error(`${tool} is missing (util-linux, iproute2, ethtool)`);
  }
  const unit = await readUnitFile(unitPath);
  unitCaps = words(unit, 'Service', 'CapabilityBoundingSet');
  expect(value(unit, 'Service', 'NoNewPrivileges')).toBe('yes');
});

describe('the unit’s capability set', () => {
  it('is enough for every privileged operation of the agent', () => {
    const { status, step, stderr } = operateWith(unitCaps);
    expect(step, stderr).toBe('done');
    expect(status).toBe(0);
  });

  it.each([
    ['CAP_SYS_ADMIN', 'netns add'],
    ['CAP_NET_ADMIN', 'veth add'],
    ['CAP_NET_BIND_SERVICE', 'bind port 80'],
  ])('needs %s (without it: %s fails)', (dropped, failingStep) => {
    expect(unitCaps).toContain(dropped);
    const { status, step } = operateWith(unitCaps.filter((c) => c !== dropped));
    expect(status).not.toBe(0);
    expect(step).toBe(failingStep);
  });
});

describe('netns and the service’s mount namespace', () => {
  it('a netns made where mounts do not propagate back is unusable on the host', () => {
    const n = names();
    const made = run('unshare', ['--mount', '--propagation', 'slave', 'ip', 'netns', 'add', n.ns]);
    expect(made.status, made.stderr).toBe(0);
    const used = run('ip', ['netns', 'exec', n.ns, 'true']);
    expect(used.status).not.toBe(0);
    expect(used.stderr).toMatch(/Invalid argument/);
  });

  it('one made where mounts propagate (no sandboxing) is the host’s', () => {
    const n = names();
    const made = run('unshare', ['--mount', '--propagation', 'shared', 'ip', 'netns', 'add', n.ns]);
    expect(made.status, made.stderr).toBe(0);
    const used = run('ip', ['netns', 'exec', n.ns, 'true']);
    expect(used.status, used.stderr).toBe(0);
  });
});
