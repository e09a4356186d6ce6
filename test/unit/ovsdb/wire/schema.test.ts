import { describe, expect, it } from 'vitest';
import { OvsdbSchemaError } from '../../../../src/ovsdb/errors.js';
import { columnsPresent, parseSchema, type DatabaseSchema } from '../../../../src/ovsdb/wire/schema.js';

import { sbSchemaJson, vswitchSchemaJson } from '../../schemas.js';

const SB = 'sb';
const VSWITCH = 'vswitch';
const load = (which: typeof SB | typeof VSWITCH): unknown =>
  which === SB ? sbSchemaJson() : vswitchSchemaJson();

describe('parseSchema on the real schemas (Debian 12 copies)', () => {
  it('parses OVN_Southbound with typed columns, indexes and implicit columns', () => {
    const raw = load(SB) as { version: string; tables: Record<string, unknown> };
    const sb = parseSchema(raw);
    expect(sb.name).toBe('OVN_Southbound');
    expect(sb.version).toBe(raw.version);
    expect([...sb.tables.keys()].sort()).toEqual(Object.keys(raw.tables).sort());

    const pb = sb.tables.get('Port_Binding')!;
    expect(pb.isRoot).toBe(true);
    expect(pb.indexes).toEqual([['datapath', 'tunnel_key'], ['logical_port']]);
    expect(pb.columns.get('_uuid')).toEqual({ key: { type: 'uuid' }, min: 1, max: 1 });
    expect(pb.columns.get('_version')).toEqual({ key: { type: 'uuid' }, min: 1, max: 1 });
    expect(pb.columns.get('logical_port')).toEqual({ key: { type: 'string' }, min: 1, max: 1 });
    expect(pb.columns.get('chassis')).toEqual({
      key: { type: 'uuid', refTable: 'Chassis', refType: 'weak' },
      min: 0,
      max: 1,
    });
    expect(pb.columns.get('datapath')!.key).toEqual({
      type: 'uuid',
      refTable: 'Datapath_Binding',
      refType: 'strong',
    });
    expect(pb.columns.get('tunnel_key')!.key).toEqual({ type: 'integer', minInteger: 1, maxInteger: 32767 });
    expect(pb.columns.get('external_ids')).toEqual({
      key: { type: 'string' },
      value: { type: 'string' },
      min: 0,
      max: 'unlimited',
    });
    expect(sb.tables.get('Encap')!.isRoot).toBe(false);
    // An enum given as ["set", [...]].
    expect(sb.tables.get('Encap')!.columns.get('type')!.key.enum).toEqual(
      expect.arrayContaining(['geneve', 'stt', 'vxlan']),
    );
  });

  it('parses Open_vSwitch, including enums, real bounds and maxRows', () => {
    const ovs = parseSchema(load(VSWITCH));
    expect(ovs.name).toBe('Open_vSwitch');
    expect(ovs.tables.get('Open_vSwitch')!.maxRows).toBe(1);
    const iface = ovs.tables.get('Interface')!;
    expect(iface.columns.get('ofport')).toEqual({ key: { type: 'integer' }, min: 0, max: 1 });
    const bridge = ovs.tables.get('Bridge')!;
    expect(bridge.columns.get('fail_mode')!.key.enum).toEqual(['standalone', 'secure']);
    expect(bridge.columns.get('ports')!.key.refTable).toBe('Port');
    // Every column of every table is parsed into the typed form.
    for (const t of ovs.tables.values())
      for (const c of t.columns.values())
        expect(['integer', 'real', 'boolean', 'string', 'uuid']).toContain(c.key.type);
  });
});

describe('parseSchema on literal schemas', () => {
  const tiny = (tables: unknown, extra: object = {}): unknown => ({
    name: 'T',
    version: '1.2.3',
    tables,
    ...extra,
  });

  it('accepts short and long forms of types', () => {
    const s = parseSchema(
      tiny({
        A: {
          columns: {
            short: { type: 'integer' },
            longKey: { type: { key: 'real' } },
            longBase: { type: { key: { type: 'string', minLength: 1, maxLength: 8 } } },
            opt: { type: { key: 'boolean', min: 0 } },
            many: { type: { key: 'string', min: 0, max: 5 } },
            m: { type: { key: 'string', value: { type: 'integer', enum: 7 }, min: 0, max: 'unlimited' } },
            ref: { type: { key: { type: 'uuid', refTable: 'A' } } },
          },
          isRoot: true,
        },
      }),
    );
    const c = s.tables.get('A')!.columns;
    expect(c.get('short')).toEqual({ key: { type: 'integer' }, min: 1, max: 1 });
    expect(c.get('longKey')).toEqual({ key: { type: 'real' }, min: 1, max: 1 });
    expect(c.get('longBase')!.key).toEqual({ type: 'string', minLength: 1, maxLength: 8 });
    expect(c.get('opt')).toMatchObject({ min: 0, max: 1 });
    expect(c.get('many')).toMatchObject({ min: 0, max: 5 });
    expect(c.get('m')!.value).toEqual({ type: 'integer', enum: [7] });
    expect(c.get('ref')!.key).toEqual({ type: 'uuid', refTable: 'A', refType: 'strong' });
    expect([...c.keys()].slice(0, 2)).toEqual(['_uuid', '_version']);
  });

  it('treats every table as root when no table says isRoot (pre-isRoot schemas)', () => {
    const s = parseSchema(tiny({ A: { columns: {} }, B: { columns: {} } }));
    expect([...s.tables.values()].map((t) => t.isRoot)).toEqual([true, true]);
    const t = parseSchema(tiny({ A: { columns: {}, isRoot: true }, B: { columns: {} } }));
    expect(t.tables.get('B')!.isRoot).toBe(false);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', [], /database: is not a JSON object/],
    ['bad version', { name: 'T', version: 'x', tables: {} }, /bad "version"/],
    [
      'unknown atomic type',
      tiny({ A: { columns: { c: { type: 'float' } } } }),
      /A\.c: unknown atomic type "float"/,
    ],
    [
      'min 2',
      tiny({ A: { columns: { c: { type: { key: 'string', min: 2 } } } } }),
      /A\.c: "min" must be 0 or 1/,
    ],
    ['max 0', tiny({ A: { columns: { c: { type: { key: 'string', max: 0 } } } } }), /A\.c: "max" must be/],
    [
      'bad refTable',
      tiny({ A: { columns: { c: { type: { key: { type: 'uuid', refTable: 'Z' } } } } } }),
      /refTable Z/,
    ],
    [
      'refTable on string',
      tiny({ A: { columns: { c: { type: { key: { type: 'string', refTable: 'A' } } } } } }),
      /refTable/,
    ],
    ['underscore column', tiny({ A: { columns: { _c: { type: 'string' } } } }), /A\._c: bad column name/],
    [
      'index on unknown column',
      tiny({ A: { columns: {}, indexes: [['nope']] } }),
      /index names unknown column "nope"/,
    ],
    [
      'enum of wrong type',
      tiny({ A: { columns: { c: { type: { key: { type: 'integer', enum: 'x' } } } } } }),
      /not a integer/,
    ],
    ['missing columns', tiny({ A: {} }), /A "columns": is not a JSON object/],
  ];
  for (const [what, json, message] of bad) {
    it(`rejects ${what} with OVSDB_BAD_SCHEMA`, () => {
      let err: unknown;
      try {
        parseSchema(json);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OvsdbSchemaError);
      expect((err as OvsdbSchemaError).code).toBe('OVSDB_BAD_SCHEMA');
      expect((err as Error).message).toMatch(message);
    });
  }
});

describe('columnsPresent', () => {
  const sb: DatabaseSchema = parseSchema(load(SB));
  it('keeps the wanted columns the server has, in order, and drops the rest', () => {
    expect(columnsPresent(sb, 'Port_Binding', ['mac', 'no_such_column', 'chassis', '_uuid'])).toEqual([
      'mac',
      'chassis',
      '_uuid',
    ]);
    expect(columnsPresent(sb, 'No_Such_Table', ['mac'])).toEqual([]);
  });
});
