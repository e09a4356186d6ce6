// The initial dump of a large chassis: 50,000 Port_Binding rows in one
// update2 reply, through the real OVN_Southbound schema. Times are printed,
// not asserted (machines differ); correctness of the result is asserted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Replica } from '../../../../src/ovsdb/replica/index.js';
import { parseJsonExact } from '../../../../src/ovsdb/wire/json.js';
import { parseSchema } from '../../../../src/ovsdb/wire/schema.js';

const sb = parseSchema(JSON.parse(readFileSync('/usr/share/ovn/ovn-sb.ovsschema', 'utf8')));
const N = 50_000;
const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');
const uuidOf = (prefix: string, i: number) => `${prefix}-0000-4000-8000-${hex(i, 12)}`;

function dumpText(): string {
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < N; i++) {
    const mac = `fa:16:3e:${hex((i >> 16) & 0xff, 2)}:${hex((i >> 8) & 0xff, 2)}:${hex(i & 0xff, 2)}`;
    const ip = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
    rows[uuidOf('aaaaaaaa', i)] = {
      initial: {
        logical_port: uuidOf('bbbbbbbb', i),
        datapath: ['uuid', uuidOf('dddddddd', i % 500)],
        tunnel_key: (i % 32000) + 1,
        chassis: i % 10 === 0 ? ['uuid', uuidOf('cccccccc', i % 40)] : ['set', []],
        mac: `${mac} ${ip}`,
        port_security: ['set', [`${mac} ${ip}`]],
        up: true,
        external_ids: [
          'map',
          [
            ['neutron:cidrs', `${ip}/16`],
            ['neutron:device_id', uuidOf('eeeeeeee', i)],
            ['neutron:device_owner', 'compute:nova'],
            ['neutron:network_name', `neutron-${uuidOf('ffffffff', i % 500)}`],
            ['neutron:project_id', 'b0e3d2a6f44f4a3a9c5a8b7e6d5c4b3a'],
            ['neutron:revision_number', '4'],
          ],
        ],
        options: ['map', [['requested-chassis', `compute-${i % 40}`]]],
      },
    };
  }
  return JSON.stringify({ id: 7, result: { Port_Binding: rows }, error: null });
}

describe('initial dump of 50,000 Port_Binding rows', () => {
  // Times are printed, never asserted; the timeout only allows a loaded machine.
  it('applies fast (times printed)', { timeout: 120_000 }, () => {
    const text = dumpText();
    let t0 = performance.now();
    const msg = parseJsonExact(text) as { result: unknown };
    const parseMs = performance.now() - t0;

    const columns = [...sb.tables.get('Port_Binding')!.columns.keys()].filter((c) => c !== '_uuid');
    const replica = new Replica(sb, { Port_Binding: { columns } });
    replica.addIndex('Port_Binding', 'by-datapath', (row) => row.datapath as string);
    let changes = 0;
    replica.on('change', (events) => (changes += events.length));

    t0 = performance.now();
    const events = replica.applyUpdates(2, msg.result);
    const applyMs = performance.now() - t0;
    expect(events).toHaveLength(N);
    expect(changes).toBe(N);
    expect(replica.size('Port_Binding')).toBe(N);
    expect(replica.byIndex('Port_Binding', 'by-datapath', uuidOf('dddddddd', 7)).size).toBe(N / 500);
    const row = replica.get('Port_Binding', uuidOf('aaaaaaaa', 10))!;
    expect(row.chassis).toBe(uuidOf('cccccccc', 10));
    expect(row.mac).toEqual(['fa:16:3e:00:00:0a 10.0.0.10']);
    expect((row.external_ids as ReadonlyMap<string, string>).get('neutron:device_owner')).toBe(
      'compute:nova',
    );
    expect(replica.get('Port_Binding', uuidOf('aaaaaaaa', 11))!.chassis).toBeUndefined();

    // A reconnect that cannot resume: the same 50k rows again, no events.
    t0 = performance.now();
    expect(replica.resync(msg.result)).toEqual([]);
    const resyncMs = performance.now() - t0;

    // A burst of 1,000 modifies (chassis claims), as ovn-controller makes.
    const modify: Record<string, unknown> = {};
    for (let i = 1; i <= 1000; i++)
      modify[uuidOf('aaaaaaaa', i * 7)] = { modify: { chassis: ['uuid', uuidOf('cccccccc', 1)] } };
    t0 = performance.now();
    const modified = replica.applyUpdates(2, { Port_Binding: modify });
    const modifyMs = performance.now() - t0;
    expect(modified).toHaveLength(1000);

    console.log(
      `50k Port_Binding initial dump (${(text.length / 1e6).toFixed(1)} MB): parse ${parseMs.toFixed(0)} ms, ` +
        `apply+index ${applyMs.toFixed(0)} ms (${((applyMs * 1000) / N).toFixed(1)} µs/row); ` +
        `resync identical ${resyncMs.toFixed(0)} ms; 1000 modifies ${modifyMs.toFixed(1)} ms`,
    );
  });
});
