import { parseSchema, type DatabaseSchema } from '../../../../src/ovsdb/wire/schema.js';

/** A small schema with one column of every kind. */
export const schema: DatabaseSchema = parseSchema({
  name: 'Test',
  version: '1.0.0',
  tables: {
    Port: {
      columns: {
        name: { type: 'string' },
        tag: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 4095 }, min: 0, max: 1 } },
        macs: { type: { key: 'string', min: 0, max: 'unlimited' } },
        ids: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        up: { type: { key: 'boolean', min: 0, max: 1 } },
        net: { type: { key: { type: 'uuid', refTable: 'Net' } } },
        counter: { type: 'integer' },
      },
      isRoot: true,
    },
    Net: { columns: { name: { type: 'string' } }, isRoot: true },
  },
});

export const N1 = '11111111-1111-4111-8111-111111111111';
export const N2 = '22222222-2222-4222-8222-222222222222';
export const P1 = 'aaaaaaaa-0000-4000-8000-000000000001';
export const P2 = 'aaaaaaaa-0000-4000-8000-000000000002';
export const P3 = 'aaaaaaaa-0000-4000-8000-000000000003';
export const ZERO = '00000000-0000-0000-0000-000000000000';
