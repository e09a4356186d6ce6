// Who holds 169.254.169.254:80 in a namespace (src/namespace/socket-owner.ts):
// /proc/net/tcp{,6} text as the kernel writes it, and the holders' message.
import { describe, expect, it } from 'vitest';
import {
  blockingListeners,
  describeHolders,
  parseTcpListeners,
  socketInode,
} from '../../../src/namespace/socket-owner.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const TCP = [
  HEADER,
  // 169.254.169.254:80, LISTEN
  '   0: FEA9FEA9:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51234 1 0000000000000000 100 0 0 10 0',
  // 127.0.0.1:9105, LISTEN
  '   1: 0100007F:2391 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51300 1 0000000000000000 100 0 0 10 0',
  // an established connection to 169.254.169.254:80 (not a listener)
  '   2: FEA9FEA9:0050 0A00510A:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 51400 1 0000000000000000 20 4 30 10 -1',
].join('\n');
const TCP6 = [
  HEADER,
  // [fe80::a9fe:a9fe]:80, LISTEN
  '   0: 000080FE0000000000000000FEA9FEA9:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61234 1 0000000000000000 100 0 0 10 0',
  // [::]:8080, LISTEN
  '   1: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61300 1 0000000000000000 100 0 0 10 0',
].join('\n');

describe('parseTcpListeners', () => {
  it('reads the LISTEN sockets of /proc/net/tcp: address, port and inode, skipping other states', () => {
    expect(parseTcpListeners(TCP)).toEqual([
      { address: '169.254.169.254', port: 80, inode: 51234 },
      { address: '127.0.0.1', port: 9105, inode: 51300 },
    ]);
  });

  it('reads /proc/net/tcp6, compressing the address as inet_ntop does', () => {
    expect(parseTcpListeners(TCP6)).toEqual([
      { address: 'fe80::a9fe:a9fe', port: 80, inode: 61234 },
      { address: '::', port: 8080, inode: 61300 },
    ]);
  });
});

describe('blockingListeners', () => {
  const all = [...parseTcpListeners(TCP), ...parseTcpListeners(TCP6)];

  it('the same address and port, with or without a %zone', () => {
    expect(blockingListeners(all, '169.254.169.254', 80).map((l) => l.inode)).toEqual([51234]);
    expect(blockingListeners(all, 'fe80::a9fe:a9fe%tapx1', 80).map((l) => l.inode)).toEqual([61234]);
  });

  it('a wildcard on the port blocks too; another port does not', () => {
    expect(blockingListeners(all, '10.0.0.1', 8080).map((l) => l.inode)).toEqual([61300]);
    expect(blockingListeners(all, '169.254.169.254', 81)).toEqual([]);
  });
});

describe('socket owners', () => {
  it('socketInode reads fd links', () => {
    expect(socketInode('socket:[51234]')).toBe(51234);
    expect(socketInode('pipe:[51234]')).toBeUndefined();
    expect(socketInode('/dev/null')).toBeUndefined();
  });

  it('describeHolders names each process, or says it cannot be seen', () => {
    const sockets = [{ address: '169.254.169.254', port: 80, inode: 51234 }];
    expect(
      describeHolders({
        sockets,
        owners: [{ pid: 4242, command: 'haproxy -f /var/lib/neutron/ovn-metadata-proxy/n1.conf' }],
      }),
    ).toBe('pid 4242 (haproxy -f /var/lib/neutron/ovn-metadata-proxy/n1.conf)');
    expect(describeHolders({ sockets, owners: [] })).toMatch(
      /^a process outside this PID namespace \(socket inode 51234;/,
    );
    expect(describeHolders({ sockets: [], owners: [] })).toBe('no listener found');
    expect(describeHolders({ sockets, owners: [{ pid: 1, command: 'x'.repeat(500) }] }).length).toBeLessThan(
      220,
    );
  });
});
