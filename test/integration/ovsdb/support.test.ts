// The test harness itself: real servers start, answer, stop by pid, and a
// cluster elects a leader. Everything else in this folder builds on it.
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { isAlive, stopAllDaemons } from '../../support/daemon.js';
import { destroyOvsdbServer, startOvsdbCluster, startOvsdbServer } from '../../support/ovsdb-server.js';

afterAll(stopAllDaemons);

describe('test/support/ovsdb-server', () => {
  it('starts a standalone SB server on unix and tcp and stops it by pid', async () => {
    const server = await startOvsdbServer({ schema: 'sb' });
    try {
      expect(server.database).toBe('OVN_Southbound');
      expect(server.port).toBeGreaterThan(0);
      for (const remote of [server.unixRemote, server.tcpRemote]) {
        const { stdout } = await execa('ovsdb-client', ['list-dbs', remote]);
        expect(stdout.split('\n')).toContain('OVN_Southbound');
      }
      const pid = server.pid;
      await server.restart();
      expect(isAlive(pid)).toBe(false);
      const { stdout } = await execa('ovsdb-client', ['list-dbs', server.tcpRemote]);
      expect(stdout).toContain('OVN_Southbound');
    } finally {
      const pid = server.pid;
      await destroyOvsdbServer(server);
      expect(isAlive(pid)).toBe(false);
    }
  });

  it('starts an SSL server whose certificates ovsdb-client accepts', async () => {
    const server = await startOvsdbServer({ schema: 'ovs', tcp: false, ssl: true });
    try {
      const f = server.sslFiles;
      const { stdout } = await execa('ovsdb-client', [
        `--private-key=${f.privateKey}`,
        `--certificate=${f.certificate}`,
        `--ca-cert=${f.caCert}`,
        'list-dbs',
        server.sslRemote,
      ]);
      expect(stdout.split('\n')).toContain('Open_vSwitch');
    } finally {
      await destroyOvsdbServer(server);
    }
  });

  it('starts a 3-member Raft cluster with one leader', async () => {
    const cluster = await startOvsdbCluster({ schema: 'sb' });
    try {
      expect(cluster.members).toHaveLength(3);
      const leader = await cluster.leader();
      expect(await cluster.status(leader)).toMatch(/Role: leader/);
    } finally {
      await cluster.stop();
    }
  });
});
