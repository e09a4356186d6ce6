import { describe, expect, it } from 'vitest';
import { parseRemote, parseRemotes } from '../../../src/ovsdb/transport.js';

describe('parseRemote (ovsdb-server(1) active remotes)', () => {
  it('parses tcp, ssl, unix and bracketed IPv6', () => {
    expect(parseRemote('tcp:10.0.0.1:6642')).toEqual({
      kind: 'tcp',
      host: '10.0.0.1',
      port: 6642,
      text: 'tcp:10.0.0.1:6642',
    });
    expect(parseRemote('ssl:ovn.example:6642')).toMatchObject({
      kind: 'ssl',
      host: 'ovn.example',
      port: 6642,
    });
    expect(parseRemote('tcp:[::1]:6641')).toMatchObject({ kind: 'tcp', host: '::1', port: 6641 });
    expect(parseRemote('tcp:[fd00::2]')).toMatchObject({ host: 'fd00::2', port: 6640 });
    expect(parseRemote('tcp:127.0.0.1')).toMatchObject({ port: 6640 });
    expect(parseRemote('unix:/var/run/ovn/ovnsb_db.sock')).toEqual({
      kind: 'unix',
      path: '/var/run/ovn/ovnsb_db.sock',
      text: 'unix:/var/run/ovn/ovnsb_db.sock',
    });
  });

  it('splits a comma list (cluster members), tolerating spaces', () => {
    expect(parseRemotes('tcp:10.0.0.1:6642, tcp:10.0.0.2:6642,tcp:[::1]:6642').map((r) => r.text)).toEqual([
      'tcp:10.0.0.1:6642',
      'tcp:10.0.0.2:6642',
      'tcp:[::1]:6642',
    ]);
  });

  it.each([
    ['', 'no remote'],
    ['10.0.0.1:6642', 'expected'],
    ['ptcp:6642', 'expected'],
    ['tcp::6642', 'missing host'],
    ['tcp:::1:6642', 'brackets'],
    ['tcp:[::1:6642', 'unclosed'],
    ['tcp:h:0', 'bad port'],
    ['tcp:h:70000', 'bad port'],
    ['tcp:h:', 'bad port'],
    ['tcp:h:x1', 'bad port'],
    ['unix:', 'socket path'],
  ])('rejects %j with OVSDB_BAD_REMOTE', (text, message) => {
    expect(() => parseRemotes(text)).toThrow(expect.objectContaining({ code: 'OVSDB_BAD_REMOTE' }));
    expect(() => parseRemotes(text)).toThrow(new RegExp(message));
  });
});
