import { describe, expect, it } from 'vitest';
import { lazyMonitorResult, lazyTableUpdates } from '../../../src/ovsdb/lazy-updates.js';
import { RpcSession } from '../../../src/ovsdb/jsonrpc.js';

/** Materialises a lazy <table-updates> the way the replica reads it (for…in, then get). */
function materialise(updates: Record<string, object>): unknown {
  const out: Record<string, Record<string, unknown>> = {};
  for (const table in updates) {
    const t = updates[table] as Record<string, unknown>;
    out[table] = {};
    for (const uuid in t) out[table][uuid] = t[uuid];
  }
  return out;
}

const tricky = {
  Port_Binding: {
    'u-1': {
      initial: { name: 'a{b}[c]', s: 'quote \\" and \\\\ backslash', n: 3, m: ['map', [['k', 'v"}']]] },
    },
    'u-2': { initial: { name: 'ünïcødé 🚀', e: ['set', []], x: { nested: [1, [2, { y: '}' }]] } } },
    'u-3': { delete: null },
  },
  Empty: {},
  'Odd\\"Name': { 'u-4': { modify: { n: -1.5e3, b: true, z: null } } },
};

describe('lazyTableUpdates (large monitor replies parsed row by row)', () => {
  it('yields exactly what JSON.parse yields, read through for…in and get', () => {
    const text = JSON.stringify(tricky);
    const lazy = lazyTableUpdates(text, 0, text.length, JSON.parse);
    expect(materialise(lazy)).toEqual(JSON.parse(text));
    expect(Object.keys(lazy)).toEqual(Object.keys(tricky));
  });

  it('tolerates whitespace and an empty object, parses a row only when read', () => {
    const text = ' { "T" : { "r1" : {"insert":{"a":1}} , "r2":{"delete":null} } } ';
    let parses = 0;
    const lazy = lazyTableUpdates(text, 0, text.length, (t) => (parses++, JSON.parse(t)));
    expect(parses).toBe(0);
    expect((lazy.T as Record<string, unknown>).r2).toEqual({ delete: null });
    expect(parses).toBe(1);
    expect('r1' in lazy.T!).toBe(true);
    expect((lazy.T as Record<string, unknown>).nope).toBeUndefined();
    expect(lazyTableUpdates('{}', 0, 2, JSON.parse)).toEqual({});
  });

  it('splits a monitor_cond_since result into found, txn id and lazy updates', () => {
    const text = JSON.stringify([true, '6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e', tricky]);
    const [found, txn, updates] = lazyMonitorResult(
      'monitor_cond_since',
      text,
      0,
      text.length,
      JSON.parse,
    ) as [boolean, string, Record<string, object>];
    expect(found).toBe(true);
    expect(txn).toBe('6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e');
    expect(materialise(updates)).toEqual(tricky);
  });

  it('throws on text that is not an object of objects', () => {
    for (const bad of ['[1]', '{"T":[1]}', '{"T":{"r":1', '{"T":{"r":{"a":"}}']) {
      expect(() => materialise(lazyTableUpdates(bad, 0, bad.length, JSON.parse))).toThrow();
    }
  });
});

describe('RpcSession custom result parsers', () => {
  it('hands a large reply in ovsdb-server key order to the call parser, else parses plainly', async () => {
    const rpc = new RpcSession({ write: () => {}, onNotification: () => {}, customParseMinBytes: 0 });
    const seen: string[] = [];
    const parser = (text: string, start: number, end: number, longNumbers: boolean) => {
      seen.push(`${text.slice(start, end)}|${longNumbers}`);
      return 'custom';
    };
    const a = rpc.call('monitor_cond', [], parser);
    const b = rpc.call('monitor_cond', [], parser);
    const c = rpc.call('monitor_cond', [], () => {
      throw new Error('not my shape');
    });
    rpc.receive('{"id":1,"result":{"T":{}},"error":null}', false);
    rpc.receive('{"result":{"T":{}},"error":null,"id":2}', false); // other key order: plain
    rpc.receive('{"id":3,"result":[1],"error":null}', false); // parser throws: plain
    await expect(a).resolves.toBe('custom');
    await expect(b).resolves.toEqual({ T: {} });
    await expect(c).resolves.toEqual([1]);
    expect(seen).toEqual(['{"T":{}}|false']);
  });
});
