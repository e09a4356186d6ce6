// The one decoder of OVSDB bytes (src/ovsdb/decoder.ts): monitor replies
// row by row and every other message whole, with the bytes cut at every
// offset, every pair of offsets, byte by byte and in 64 KiB chunks; then
// RpcSession on top of it.
import { describe, expect, it } from 'vitest';
import {
  MessageDecoder,
  type BeginRows,
  type MessageHandler,
  type MonitorRows,
} from '../../../src/ovsdb/decoder.js';
import { OvsdbMalformedMessageError, OvsdbRpcError } from '../../../src/ovsdb/errors.js';
import { RpcSession } from '../../../src/ovsdb/jsonrpc.js';
import { portBindingDumpText, uuidOf } from '../../fixtures/port-binding-dump.js';

// Braces and brackets inside strings, escaped quotes and backslashes
// (also a string ending in an escaped backslash), 2-, 3- and 4-byte UTF-8,
// an integer beyond 2^53, row updates that are not objects.
const tricky = {
  Port_Binding: {
    'u-1': {
      initial: { name: 'a{b}[c]', s: 'quote \\" and \\\\ backslash\\\\', n: 3, m: ['map', [['k', 'v"}']]] },
    },
    'u-2': { initial: { name: 'ünïcødé 漢字 🚀', e: ['set', []], x: { nested: [1, [2, { y: '}' }]] } } },
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

/** A row sink collecting into a plain <table-updates>, resolving with [found, txn, rows]. */
function collector(method: MonitorRows['method']): { rows: MonitorRows; seen: () => number } {
  let count = 0;
  const begin: BeginRows = (found, txn) => {
    const out: Record<string, Record<string, unknown>> = {};
    return {
      row: (t, u, update) => {
        count++;
        (out[t] ??= {})[u] = update;
      },
      result: () => (method === 'monitor_cond_since' ? [found, txn, out] : out),
    };
  };
  return { rows: { method, begin }, seen: () => count };
}

/** A decoder whose call 1 (and any id in `streamed`) asks for rows; collects messages. */
function decoder(method: MonitorRows['method'] = 'monitor_cond_since', streamed = [1]) {
  const messages: unknown[] = [];
  const c = collector(method);
  const handler: MessageHandler = {
    rows: (id) => (streamed.includes(id) ? c.rows : undefined),
    message: (m) => messages.push(m),
  };
  return { d: new MessageDecoder(handler), messages, rowsSeen: c.seen };
}

/** Feeds `bytes` cut at `cuts` (sorted offsets). */
function feed(d: MessageDecoder, bytes: Buffer, cuts: readonly number[]): void {
  const edges = [0, ...cuts, bytes.length];
  for (let k = 0; k + 1 < edges.length; k++) d.push(bytes.subarray(edges[k], edges[k + 1]));
}

const TXN = '6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e';
const reply = `{"id":1,"result":[false,"${TXN}",${json(tricky)}],"error":null}`;
const notification = '{"id":null,"method":"update3","params":[null,"t-2",{"T":{"r":{"delete":null}}}]}';
const expectedReply = { id: 1, result: [false, TXN, trickyRows], error: null };
const expectedNotification = JSON.parse(notification) as unknown;

describe('MessageDecoder: a monitor reply row by row, then what follows', () => {
  const bytes = Buffer.from(reply + '\n' + notification);

  it('decodes the reply in one chunk through the row sink', () => {
    const { d, messages, rowsSeen } = decoder();
    d.push(bytes);
    expect(messages).toEqual([expectedReply, expectedNotification]);
    expect(rowsSeen()).toBe(7);
    expect(d.inMessage).toBe(false);
  });

  it('yields the same cut at every offset (multi-byte characters split included)', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { d, messages, rowsSeen } = decoder();
      feed(d, bytes, [cut]);
      expect(messages, `cut at ${cut}`).toEqual([expectedReply, expectedNotification]);
      expect(rowsSeen()).toBe(7);
    }
  });

  it('yields the same cut at every pair of offsets of a small reply', () => {
    const small = Buffer.from(
      `{"id":1,"result":[true,"t",{"T":{"r":{"initial":{"s":"é\\"}{","n":[1,"🚀"]}}}}],"error":null}`,
    );
    const expected = JSON.parse(small.toString()) as unknown;
    for (let a = 0; a <= small.length; a++) {
      for (let b = a; b <= small.length; b++) {
        const { d, messages } = decoder();
        feed(d, small, [a, b]);
        expect(messages, `cuts at ${a}, ${b}`).toEqual([expected]);
      }
    }
  });

  it('yields the same fed byte by byte, with whitespace between every token', () => {
    const spaced = Buffer.from(
      ` { "id" : 1 , "result" : { "T" : { "r1" : {"insert":{"a":"x\\\\"}} ,\n"r2":{"delete":null} } , "U":{} } ,"error":null} `,
    );
    const { d, messages } = decoder('monitor_cond');
    feed(
      d,
      spaced,
      Array.from({ length: spaced.length - 1 }, (_, i) => i + 1),
    );
    expect(messages).toEqual([
      { id: 1, result: { T: { r1: { insert: { a: 'x\\' } }, r2: { delete: null } } }, error: null },
    ]);
  });

  it('decodes a result sent ahead of its id through the row sink too', () => {
    const other = Buffer.from(`{"result":[false,"${TXN}",${json(tricky)}],"error":null,"id":1}`);
    for (const cuts of [[], [30], [other.length - 3]]) {
      const { d, messages, rowsSeen } = decoder();
      feed(d, other, cuts);
      expect(messages).toEqual([expectedReply]);
      expect(rowsSeen()).toBe(7);
    }
  });

  it('parses the result of a call that asked for no rows whole, empty tables kept', () => {
    const { d, messages, rowsSeen } = decoder('monitor_cond_since', []);
    d.push(Buffer.from(reply));
    expect(messages).toEqual([{ id: 1, result: [false, TXN, tricky], error: null }]);
    expect(rowsSeen()).toBe(0);
  });

  it('keeps integers beyond 2^53 exact, in rows and in whole messages', () => {
    const { d, messages } = decoder('monitor_cond');
    d.push(Buffer.from('{"id":1,"result":{"T":{"r":{"initial":{"n":9007199254740993}}}},"error":null}'));
    d.push(Buffer.from('{"id":2,"result":[{"rows":[{"n":9223372036854775807}]}],"error":null}'));
    expect(messages).toEqual([
      { id: 1, result: { T: { r: { initial: { n: 9007199254740993n } } } }, error: null },
      { id: 2, result: [{ rows: [{ n: 9223372036854775807n }] }], error: null },
    ]);
  });

  it('decodes a 20,000-row reply whole and in 64 KiB chunks to the same rows, delivered as they arrive', () => {
    const text = portBindingDumpText(20_000).replace('{"id":7,', '{"id":1,');
    const buf = Buffer.from(text);
    const expected = (JSON.parse(text) as { result: { Port_Binding: Record<string, unknown> } }).result;
    for (const size of [buf.length, 65_536]) {
      const { d, messages, rowsSeen } = decoder('monitor_cond');
      const seenAtChunk: number[] = [];
      for (let i = 0; i < buf.length; i += size) {
        d.push(buf.subarray(i, i + size));
        seenAtChunk.push(rowsSeen());
      }
      expect(messages).toHaveLength(1);
      const { result } = messages[0] as { result: typeof expected };
      expect(Object.keys(result.Port_Binding)).toHaveLength(20_000);
      expect(result.Port_Binding[uuidOf('aaaaaaaa', 4_321)]).toEqual(
        expected.Port_Binding[uuidOf('aaaaaaaa', 4_321)],
      );
      expect(JSON.stringify(result)).toBe(JSON.stringify(expected));
      if (size < buf.length) {
        // Rows reached the sink while later chunks had not arrived yet.
        expect(seenAtChunk[0]).toBeGreaterThan(0);
        expect(seenAtChunk[Math.floor(seenAtChunk.length / 2)]).toBeLessThan(20_000);
      }
    }
  }, 30_000);

  it('throws OVSDB_MALFORMED_MESSAGE on a monitor result of another shape, and resets', () => {
    const bad: [MonitorRows['method'], string][] = [
      ['monitor_cond', '[1]'],
      ['monitor_cond', '{"T":[1]}'],
      ['monitor_cond', '{"T":{"r":{"a":1}} "x":{}}'],
      ['monitor_cond', '{"T":{"r" {"a":1}}}'],
      ['monitor_cond', '{"T":{"r":{"a":1},}}'],
      ['monitor_cond', '{"T":{"r":{"a":1}}]'],
      ['monitor_cond_since', '[1,"t",{}]'],
      ['monitor_cond_since', '[false,"t",{},{}]'],
      ['monitor_cond_since', '[false,"t"]'],
      ['monitor_cond_since', '[false,2,{}]'],
      ['monitor_cond', '{"T":{"r":nul }}'],
      ['monitor_cond', '{"T":{"r":{"a":tru}}}'],
    ];
    for (const [method, result] of bad) {
      const { d, messages } = decoder(method);
      expect(() => d.push(Buffer.from(`{"id":1,"result":${result},"error":null}`)), result).toThrow(
        OvsdbMalformedMessageError,
      );
      expect(d.inMessage).toBe(false);
      d.push(Buffer.from('{"id":5,"result":{},"error":null}'));
      expect(messages).toEqual([{ id: 5, result: {}, error: null }]);
    }
  });

  it('delivers a null result beside an error without starting rows', () => {
    const bytes = Buffer.from('{"id":1,"result":null,"error":{"error":"unknown method"}}');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { d, messages, rowsSeen } = decoder();
      feed(d, bytes, [cut]);
      expect(messages).toEqual([{ id: 1, result: null, error: { error: 'unknown method' } }]);
      expect(rowsSeen()).toBe(0);
    }
  });

  it('stops at once when a handler resets it mid-chunk', () => {
    const messages: unknown[] = [];
    const d: MessageDecoder = new MessageDecoder({
      rows: () => undefined,
      message: (m) => {
        messages.push(m);
        d.reset();
      },
    });
    d.push(Buffer.from('{"a":1}{"b":2}{"c":'));
    expect(messages).toEqual([{ a: 1 }]);
    expect(d.inMessage).toBe(false);
    d.push(Buffer.from('{"d":4}'));
    expect(messages).toEqual([{ a: 1 }, { d: 4 }]);
  });

  it('caps a message at maxFrameBytes, across chunks and within one', () => {
    const handler: MessageHandler = { rows: () => undefined, message: () => {} };
    const d = new MessageDecoder(handler, { maxFrameBytes: 16 });
    d.push(Buffer.from('{"a":"0123456"}')); // 15 bytes: fine
    d.push(Buffer.from('{"a":"0123'));
    expect(() => d.push(Buffer.from('4567890'))).toThrow(
      expect.objectContaining({ code: 'OVSDB_FRAME_TOO_LARGE' }),
    );
    expect(d.inMessage).toBe(false);
    expect(() =>
      new MessageDecoder(handler, { maxFrameBytes: 8 }).push(Buffer.from('{"a":"0123456"}')),
    ).toThrow(expect.objectContaining({ code: 'OVSDB_FRAME_TOO_LARGE' }));
  });
});

describe('RpcSession over the decoder: a monitor reply', () => {
  const monitorRows = collector('monitor_cond_since').rows;
  const bytes = Buffer.from(reply + notification);

  function session(): { rpc: RpcSession; notes: string[] } {
    const notes: string[] = [];
    const rpc = new RpcSession({ write: () => {}, onNotification: (m) => notes.push(m) });
    return { rpc, notes };
  }

  it('resolves the call with the rows, whole or cut anywhere, and delivers what follows', async () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { rpc, notes } = session();
      const call = rpc.call('monitor_cond_since', [], { rows: monitorRows });
      rpc.push(bytes.subarray(0, cut));
      rpc.push(bytes.subarray(cut));
      expect(await call, `cut at ${cut}`).toEqual([false, TXN, trickyRows]);
      expect(notes).toEqual(['update3']);
    }
  });

  it('rejects with OVSDB_RPC_ERROR when the reply carries an error, cut anywhere', async () => {
    const error = Buffer.from('{"id":1,"result":null,"error":{"error":"unknown method"}}');
    for (let cut = 0; cut <= error.length; cut++) {
      const { rpc } = session();
      const call = rpc.call('monitor_cond_since', [], { rows: monitorRows });
      rpc.push(error.subarray(0, cut));
      rpc.push(error.subarray(cut));
      await expect(call, `cut at ${cut}`).rejects.toBeInstanceOf(OvsdbRpcError);
    }
  });

  it('settles a decoded result with a non-null error as a failure', async () => {
    const { rpc } = session();
    const call = rpc.call('monitor_cond', [], { rows: collector('monitor_cond').rows });
    rpc.push(Buffer.from('{"id":1,"result":{},"error":"boom"}'));
    await expect(call).rejects.toBeInstanceOf(OvsdbRpcError);
  });
});
