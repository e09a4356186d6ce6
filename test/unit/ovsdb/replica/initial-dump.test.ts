// The initial dump of a large chassis in one update2 reply, through the real
// OVN_Southbound schema: what the replica holds afterwards, an identical
// resync that emits nothing, a burst of modifies. How fast: `npm run bench --
// decode` (50,000 rows).
import { describe, expect, it } from 'vitest';
import { Replica } from '../../../../src/ovsdb/replica/index.js';
import { parseJsonExact } from '../../../../src/ovsdb/wire/json.js';
import { portBindingDumpText, uuidOf } from '../../../fixtures/port-binding-dump.js';
import { sbSchema } from '../../schemas.js';

const sb = sbSchema();
const N = 5_000;
const dumpText = (): string => portBindingDumpText(N);
describe('initial dump of 5,000 Port_Binding rows', () => {
  it('holds every row decoded and indexed; an identical resync emits nothing; 1,000 modifies emit 1,000 events', () => {
    const text = dumpText();
    const msg = parseJsonExact(text) as { result: unknown };

    const columns = [...sb.tables.get('Port_Binding')!.columns.keys()].filter((c) => c !== '_uuid');
    const replica = new Replica(sb, { Port_Binding: { columns } });
    replica.addIndex('Port_Binding', 'by-datapath', (row) => row.datapath as string);
    let changes = 0;
    replica.on('change', (events) => (changes += events.length));
    const events = replica.applyUpdates(2, msg.result);
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

    // A reconnect that cannot resume: the same rows again, no events.
    expect(replica.resync(msg.result)).toEqual([]);

    // A burst of 1,000 modifies (chassis claims), as ovn-controller makes.
    const modify: Record<string, unknown> = {};
    for (let i = 1; i <= 1000; i++)
      modify[uuidOf('aaaaaaaa', i * 3)] = { modify: { chassis: ['uuid', uuidOf('cccccccc', 1)] } };
    const modified = replica.applyUpdates(2, { Port_Binding: modify });
    expect(modified).toHaveLength(1000);
  });
});
