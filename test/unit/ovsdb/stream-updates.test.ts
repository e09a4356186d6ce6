// The streamed monitor reply path: MonitorResultStream alone, then framer +
// RpcSession together, with the bytes cut at every offset.
import { describe, expect, it } from 'vitest';
import { OvsdbMalformedMessageError, OvsdbRpcError } from '../../../src/ovsdb/errors.js';
import { CLAIM_HEAD_BYTES, JsonFramer } from '../../../src/ovsdb/framing.js';
import { RpcSession } from '../../../src/ovsdb/jsonrpc.js';
import { MonitorResultStream, type BeginRows } from '../../../src/ovsdb/stream-updates.js';

const tricky = {
  Port_Binding: {
    'u-1': {
      initial: { name: 'a{b}[c]', s: 'quote \\" and \\\\ backslash\\\\', n: 3, m: ['map', [['k', 'v"}']]] },
    },
    'u-2': { initial: { name: 'ünïcødé 🚀', e: ['set', []], x: { nested: [1, [2, { y: '}' }]] } } },
    'u-3': { delete: null },
    'u-4': { initial: { big: 12345678901234567890n, small: -1.5e3 } },
  },
  Empty: {},
  'Odd\\"Näme': { 'u-5': { modify: { b: true, z: null } }, 'u-6': 'not an object', 'u-7': 42 },
};

/** JSON with bigints written as plain integers. */
const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `@@${x}@@` : x)).replace(
    /"@@(-?\d+)@@"/g,
    '$1',
  );

/** What the rows of `tricky` collect to (a table without rows yields none). */
const { Empty: _empty, ...trickyRows } = tricky;

/** Rows into a plain <table-updates>, so results compare with a plain parse. */
const collect: BeginRows = () => {
  const out: Record<string, Record<string, unknown>> = {};
  return { row: (t, u, update) => ((out[t] ??= {})[u] = update), result: () => out };
};

/** Feeds `bytes` cut at `cuts`; returns the result and the offset where it ended. */
function stream(
  method: 'monitor_cond_since' | 'monitor_cond',
  bytes: Buffer,
  cuts: number[],
): { result: unknown; end: number } {
  const s = new MonitorResultStream(method, collect);
  const edges = [0, ...cuts, bytes.length];
  for (let k = 0; k + 1 < edges.length; k++) {
    const chunk = bytes.subarray(edges[k], edges[k + 1]);
    const end = s.write(chunk, 0);
    if (end >= 0) return { result: s.result(), end: edges[k]! + end };
  }
  throw new Error('result never ended');
}

describe('MonitorResultStream', () => {
  const since = Buffer.from(`[false,"6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e",${json(tricky)}],"error":null}`);
  const sinceEnd = since.length - ',"error":null}'.length;
  const expected = [false, '6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e', trickyRows];

  it('yields what a plain parse yields, cut at every offset', () => {
    for (let cut = 0; cut <= since.length; cut++) {
      const { result, end } = stream('monitor_cond_since', since, [cut]);
      expect(result, `cut at ${cut}`).toEqual(expected);
      expect(end).toBe(sinceEnd);
    }
  });

  it('survives one-byte chunks and whitespace between tokens (monitor_cond)', () => {
    const text = ` { "T" : { "r1" : {"insert":{"a":"x\\\\"}} ,\n"r2":{"delete":null} } , "U":{} } ,"error":null}`;
    const bytes = Buffer.from(text);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    const { result, end } = stream('monitor_cond', bytes, cuts);
    expect(result).toEqual({ T: { r1: { insert: { a: 'x\\' } }, r2: { delete: null } } });
    expect(text.slice(end)).toBe(' ,"error":null}');
  });

  it('keeps integers beyond 2^53 exact', () => {
    const { result } = stream(
      'monitor_cond',
      Buffer.from('{"T":{"r":{"initial":{"n":9007199254740993}}}}'),
      [],
    );
    expect(result).toEqual({ T: { r: { initial: { n: 9007199254740993n } } } });
  });

  it('throws OVSDB_MALFORMED_MESSAGE on a result of another shape', () => {
    const bad: ['monitor_cond_since' | 'monitor_cond', string][] = [
      ['monitor_cond', '[1]'],
      ['monitor_cond', '{"T":[1]}'],
      ['monitor_cond', '{"T":{"r":{"a":1}} "x":{}}'],
      ['monitor_cond', '{"T":{"r" {"a":1}}}'],
      ['monitor_cond', '{"T":{"r":{"a":1},}}'],
      ['monitor_cond', '{"T":{"r":{"a":1}}]'],
      ['monitor_cond_since', '[1,"t",{}]'],
      ['monitor_cond_since', '[false,"t",{},{}]'],
      ['monitor_cond_since', '[false,"t"]'],
      ['monitor_cond', '{"T":{"r":nul }}'],
      ['monitor_cond', '{"T":{"r":{"a":tru}}}'],
    ];
    for (const [method, text] of bad) {
      expect(() => stream(method, Buffer.from(text), []), text).toThrow(OvsdbMalformedMessageError);
    }
  });
});

describe('framer + RpcSession: a claimed reply', () => {
  const reply = `{"id":1,"result":[true,"t-1",${json(tricky)}],"error":null}`;
  const notification = '{"id":null,"method":"update3","params":[null,"t-2",{}]}';

  function session(): { rpc: RpcSession; framer: JsonFramer; notes: string[]; claims: number[] } {
    const notes: string[] = [];
    const rpc = new RpcSession({ write: () => {}, onNotification: (m) => notes.push(m) });
    const claims: number[] = [];
    const framer = new JsonFramer({
      claim: (head) => {
        const sink = rpc.claim(head);
        if (sink) claims.push(head.length);
        return sink;
      },
    });
    return { rpc, framer, notes, claims };
  }

  function feed(framer: JsonFramer, rpc: RpcSession, bytes: Buffer, ...cuts: number[]): void {
    const edges = [0, ...cuts, bytes.length];
    for (let k = 0; k + 1 < edges.length; k++) {
      const chunk = bytes.subarray(edges[k], edges[k + 1]);
      const frames = framer.push(chunk);
      frames.forEach((f, i) => rpc.receive(f, framer.longNumbers[i]));
    }
  }

  it('resolves the call with the stream result, whole or cut anywhere, and delivers what follows', async () => {
    const bytes = Buffer.from(reply + notification);
    let streamed = 0;
    for (let cut = 1; cut < bytes.length; cut++) {
      const { rpc, framer, notes, claims } = session();
      const call = rpc.call('monitor_cond_since', [], {
        stream: () => new MonitorResultStream('monitor_cond_since', collect),
      });
      feed(framer, rpc, bytes, cut);
      // Streamed, rows are collected; received whole (cut inside the head),
      // the plain parse also keeps the empty table.
      expect(await call, `cut at ${cut}`).toEqual([true, 't-1', claims.length > 0 ? trickyRows : tricky]);
      expect(notes).toEqual(['update3']);
      expect(framer.inFrame).toBe(false);
      if (claims.length > 0) streamed++;
    }
    // Every cut leaving CLAIM_HEAD_BYTES or more of the reply in the first
    // chunk went through the stream.
    expect(streamed).toBe(Buffer.byteLength(reply) - CLAIM_HEAD_BYTES);
  });

  it('offers a reply whose head came in short chunks once CLAIM_HEAD_BYTES have arrived', async () => {
    const bytes = Buffer.from(reply);
    for (const cuts of [
      [5, 30, 100],
      [1, 2, 3, 64, 65],
      [63, 64, 300],
    ]) {
      const { rpc, framer, claims } = session();
      const call = rpc.call('monitor_cond_since', [], {
        stream: () => new MonitorResultStream('monitor_cond_since', collect),
      });
      feed(framer, rpc, bytes, ...cuts);
      expect(await call).toEqual([true, 't-1', trickyRows]);
      expect(claims).toEqual([cuts.find((c) => c >= CLAIM_HEAD_BYTES)]);
    }
  });

  it('rejects with OVSDB_RPC_ERROR when the claimed reply carries an error', async () => {
    const bytes = Buffer.from('{"id":1,"result":null,"error":{"error":"unknown method"}}');
    for (let cut = 1; cut < bytes.length; cut++) {
      const { rpc, framer } = session();
      const call = rpc.call('monitor_cond_since', [], {
        stream: () => new MonitorResultStream('monitor_cond_since', collect),
      });
      feed(framer, rpc, bytes, cut);
      await expect(call, `cut at ${cut}`).rejects.toBeInstanceOf(OvsdbRpcError);
    }
  });

  it('settles a streamed result with a non-null error as a failure', async () => {
    const bytes = Buffer.from('{"id":1,"result":{},"error":"boom"}');
    const { rpc, framer } = session();
    const call = rpc.call('monitor_cond', [], {
      stream: () => new MonitorResultStream('monitor_cond', collect),
    });
    feed(framer, rpc, bytes, 20);
    await expect(call).rejects.toBeInstanceOf(OvsdbRpcError);
  });
});
