import { describe, expect, it } from 'vitest';
import { RpcSession } from '../../../src/ovsdb/jsonrpc.js';

function session() {
  const sent: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const notes: [string, readonly unknown[]][] = [];
  const problems: string[] = [];
  const rpc = new RpcSession({
    remote: 'unix:/test.sock',
    write: (text) => {
      raw.push(text);
      sent.push(JSON.parse(text) as Record<string, unknown>);
    },
    onNotification: (method, params) => notes.push([method, params]),
    onProblem: (e) => problems.push(e.code),
  });
  return { rpc, sent, raw, notes, problems };
}

describe('RpcSession (JSON-RPC 1.0, RFC 7047 §4)', () => {
  it('matches replies to calls by id, out of order', async () => {
    const { rpc, sent } = session();
    const a = rpc.call('get_schema', ['OVN_Southbound']);
    const b = rpc.call('list_dbs', []);
    expect(sent).toEqual([
      { method: 'get_schema', params: ['OVN_Southbound'], id: 1 },
      { method: 'list_dbs', params: [], id: 2 },
    ]);
    expect(rpc.pendingCalls).toBe(2);
    rpc.receive('{"id":2,"result":["OVN_Southbound"],"error":null}');
    rpc.receive('{"id":1,"result":{"name":"OVN_Southbound"},"error":null}');
    await expect(b).resolves.toEqual(['OVN_Southbound']);
    await expect(a).resolves.toEqual({ name: 'OVN_Southbound' });
    expect(rpc.pendingCalls).toBe(0);
  });

  it('rejects a call whose reply carries an error with OVSDB_RPC_ERROR', async () => {
    const { rpc } = session();
    const p = rpc.call('monitor_cond_since', []);
    rpc.receive('{"id":1,"result":null,"error":{"error":"unknown method","details":"no such method"}}');
    await expect(p).rejects.toMatchObject({
      code: 'OVSDB_RPC_ERROR',
      error: 'unknown method',
      details: 'no such method',
      method: 'monitor_cond_since',
      retryable: false,
    });
  });

  it('dispatches notifications and answers echo requests with the same params', () => {
    const { rpc, sent, notes } = session();
    rpc.receive('{"id":null,"method":"update2","params":["mon",{"T":{}}]}');
    rpc.receive('{"method":"echo","params":["x",1],"id":"echo"}');
    rpc.receive('{"method":"lock","params":[],"id":9}');
    expect(notes).toEqual([['update2', ['mon', { T: {} }]]]);
    expect(sent).toEqual([
      { result: ['x', 1], error: null, id: 'echo' },
      { result: null, error: 'unknown method', id: 9 },
    ]);
  });

  it('reports stray replies and non-objects as problems, throws on non-JSON', () => {
    const { rpc, problems } = session();
    rpc.receive('{"id":77,"result":1,"error":null}');
    rpc.receive('[1,2]');
    expect(problems).toEqual(['OVSDB_MALFORMED_MESSAGE', 'OVSDB_MALFORMED_MESSAGE']);
    expect(() => rpc.receive('{"id":1,')).toThrow(
      expect.objectContaining({ code: 'OVSDB_MALFORMED_MESSAGE' }),
    );
  });

  it('keeps integers beyond 2^53 exact both ways', async () => {
    const { rpc, raw } = session();
    const p = rpc.call('transact', ['db', { op: 'select', where: [['n', '==', 2n ** 62n + 1n]] }]);
    expect(raw[0]).toContain('["n","==",4611686018427387905]');
    rpc.receive('{"id":1,"result":[{"rows":[{"n":9223372036854775807}]}],"error":null}');
    await expect(p).resolves.toEqual([{ rows: [{ n: 9223372036854775807n }] }]);
  });

  it('failAll rejects pending calls with retryable OVSDB_DISCONNECTED, and later calls too', async () => {
    const { rpc, sent } = session();
    const a = rpc.call('transact', ['db']);
    rpc.failAll();
    await expect(a).rejects.toMatchObject({ code: 'OVSDB_DISCONNECTED', retryable: true });
    await expect(rpc.call('echo', [])).rejects.toMatchObject({ code: 'OVSDB_DISCONNECTED' });
    expect(sent).toHaveLength(1); // never resent
    rpc.receive('{"id":1,"result":[],"error":null}'); // a late reply is harmless
  });

  it('rejects a call whose write throws', async () => {
    const rpc = new RpcSession({
      write: () => {
        throw new Error('EPIPE');
      },
      onNotification: () => {},
    });
    await expect(rpc.call('echo', [])).rejects.toMatchObject({ code: 'OVSDB_DISCONNECTED' });
    expect(rpc.pendingCalls).toBe(0);
  });
});
