// A metadata port already held in a namespace (a leftover haproxy, a
// neutron-haproxy-<ns> sidecar): src/namespace finds the process by the
// namespace's /proc/net/tcp and /proc/*/fd, and the agent's listen error
// names it (pid, command) instead of a bare EADDRINUSE. Root; no OVN.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainListenFailure } from '../../../src/agent/listen-failure.js';
import { portHolders } from '../../../src/namespace/index.js';
import {
  createMetadataProxy,
  IdentityIndex,
  ListenerHolder,
  type MetadataProxy,
} from '../../../src/proxy/index.js';
import { makeNetwork, removeAll, type TestNetwork } from '../proxy/netns.js';

const SQUAT =
  'import socket,time; s=socket.socket(); s.bind(("169.254.169.254",80)); s.listen(); print("up",flush=True); time.sleep(600)';

describe('who holds port 80 in a namespace', () => {
  let net: TestNetwork;
  let squatter: ChildProcess;
  let proxy: MetadataProxy;
  const dir = mkdtempSync(join(tmpdir(), 'ovnmeta-holders-'));

  beforeAll(async () => {
    net = await makeNetwork('h', 7, 'fa:16:3e:00:07:05');
    squatter = spawn('ip', ['netns', 'exec', net.namespace, 'python3', '-c', SQUAT], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => squatter.stdout!.once('data', resolve));
    proxy = await createMetadataProxy({
      identity: new IdentityIndex(),
      nova: { host: '127.0.0.1', port: 9, sharedSecret: 'x' },
    });
  });

  afterAll(async () => {
    squatter?.kill('SIGKILL');
    await proxy?.close();
    await removeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('portHolders names the process (pid, command) that listens there', async () => {
    const h = await portHolders(net.namespace, '169.254.169.254', 80);
    expect(h.sockets).toHaveLength(1);
    expect(h.sockets[0]).toMatchObject({ address: '169.254.169.254', port: 80 });
    // `ip netns exec` execs python3: same pid.
    expect(h.owners).toHaveLength(1);
    expect(h.owners[0]!.pid).toBe(squatter.pid);
    expect(h.owners[0]!.command.endsWith(`python3 -c ${SQUAT}`)).toBe(true);
    expect(await portHolders(net.namespace, '169.254.169.254', 81)).toEqual({ sockets: [], owners: [] });
  });

  it("ovnmeta's listener holder is found with its whole command line, which names its control socket (verify's test)", async () => {
    const path = join(dir, 'holder.sock');
    const holder = await ListenerHolder.connect(path, 5000);
    try {
      const opened = holder.open({
        key: 'k',
        namespace: `/run/netns/${net.namespace}`,
        host: '169.254.169.254',
        port: 8080,
        backlog: 5,
      });
      expect('fd' in opened).toBe(true);
      if ('fd' in opened) closeSync(opened.fd);
      const h = await portHolders(net.namespace, '169.254.169.254', 8080);
      expect(h.owners.map((o) => o.command.includes(path))).toEqual([true]);
    } finally {
      ListenerHolder.end(path);
    }
  });

  it("the agent's PROXY_LISTEN_FAILED names the holder", async () => {
    const err = await proxy.ensureListener({ network: net.network, namespace: net.namespace }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'PROXY_LISTEN_FAILED' });
    const explained = (await explainListenFailure(err, net.namespace)) as Error & { code: string };
    expect(explained.code).toBe('PROXY_LISTEN_FAILED');
    const [head, tail] = [
      `cannot listen on 169.254.169.254:80 in ${net.namespace}: bind: EADDRINUSE: held by pid ${squatter.pid} (`,
      `python3 -c ${SQUAT}); stop it (docs/deploy.md, migration)`,
    ];
    expect(explained.message.startsWith(head), explained.message).toBe(true);
    expect(explained.message.endsWith(tail), explained.message).toBe(true);
  });
});
