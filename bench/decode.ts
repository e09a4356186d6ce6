// Decoding bench (no server, no root): how fast the pure layers of src/ovsdb
// take a large chassis' initial dump. The unit tests assert what these
// produce; this only times them (median of --runs).
//   - framing: the message pushed to JsonFramer in 64 KiB chunks;
//   - decoder: the same as a monitor reply through MessageDecoder in 64 KiB
//     chunks, each row parsed alone into a row sink (into a SnapshotLoad:
//     decoded too, as the client does);
//   - JSON: parseJsonExact's fast path, its exact (bigint) path on the same
//     text with one 2^64-1 integer, and plain JSON.parse for reference;
//   - replica: a 50,000-row Port_Binding update2 reply applied and indexed,
//     an identical resync, 1,000 modifies.
// The last stdout line is one JSON object.
//
//   npm run bench -- decode [--rows 50000] [--runs 5]
import { readFileSync } from 'node:fs';
import { JsonFramer, MessageDecoder, type MonitorRows } from '../src/ovsdb/index.js';
import { Replica } from '../src/ovsdb/replica/index.js';
import { parseJsonExact } from '../src/ovsdb/wire/json.js';
import { parseSchema } from '../src/ovsdb/wire/schema.js';
import { portBindingDumpText, uuidOf } from '../test/fixtures/port-binding-dump.js';
import { numberArg } from './lib/args.js';

const rows = numberArg('rows', 50_000);
const runs = numberArg('runs', 5);
const sb = parseSchema(
  JSON.parse(readFileSync(new URL('../../test/fixtures/schemas/ovn-sb.ovsschema', import.meta.url), 'utf8')),
);

function median(f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(2));
}

const text = portBindingDumpText(rows);
const buf = Buffer.from(text);
const withBig = text.replace(/"tunnel_key":\d+,/, '"tunnel_key":18446744073709551615,');

const framingMs = median(() => {
  const framer = new JsonFramer();
  for (let i = 0; i < buf.length; i += 65_536) framer.push(buf.subarray(i, i + 65_536));
});
const chunked = (rowsTo: MonitorRows): void => {
  const decoder = new MessageDecoder({ rows: () => rowsTo, message: () => {} });
  for (let i = 0; i < buf.length; i += 65_536) decoder.push(buf.subarray(i, i + 65_536));
};
const decoderMs = median(() =>
  chunked({ method: 'monitor_cond', begin: () => ({ row: () => {}, result: () => undefined }) }),
);
const jsonParseMs = median(() => JSON.parse(text));
const exactFastMs = median(() => parseJsonExact(text));
const exactBigintMs = median(() => parseJsonExact(withBig));

const msg = parseJsonExact(text) as { result: unknown };
const columns = [...sb.tables.get('Port_Binding')!.columns.keys()].filter((c) => c !== '_uuid');
const modify: Record<string, unknown> = {};
for (let i = 1; i <= 1000; i++)
  modify[uuidOf('aaaaaaaa', (i * 7) % rows)] = { modify: { chassis: ['uuid', uuidOf('cccccccc', 1)] } };
let replica: Replica | undefined;
const applyMs = median(() => {
  replica = new Replica(sb, { Port_Binding: { columns } });
  replica.addIndex('Port_Binding', 'by-datapath', (row) => row.datapath as string);
  replica.applyUpdates(2, msg.result);
});
const resyncMs = median(() => replica!.resync(msg.result));
const decoderLoadMs = median(() => {
  let load: ReturnType<Replica['beginResync']> | undefined;
  chunked({
    method: 'monitor_cond',
    begin: () => {
      load = replica!.beginResync(2);
      return { row: (t, u, update) => load!.add(t, u, update), result: () => undefined };
    },
  });
  load!.commit();
});
const modifyMs = median(() => replica!.applyUpdates(2, { Port_Binding: modify }));

const result = {
  rows,
  megabytes: Number((buf.length / 1e6).toFixed(1)),
  runs,
  framingMs,
  decoderMs,
  decoderLoadMs,
  jsonParseMs,
  exactFastMs,
  exactBigintMs,
  applyMs,
  applyUsPerRow: Number(((applyMs * 1000) / rows).toFixed(2)),
  resyncIdenticalMs: resyncMs,
  modifies1000Ms: modifyMs,
};
console.error(
  `${result.megabytes} MB, ${rows} rows: framing ${framingMs} ms, decoder ${decoderMs} ms ` +
    `(into a replica load ${decoderLoadMs} ms), JSON.parse ${jsonParseMs} ms, ` +
    `exact ${exactFastMs} ms (bigint path ${exactBigintMs} ms), apply+index ${applyMs} ms, ` +
    `identical resync ${resyncMs} ms, 1000 modifies ${modifyMs} ms`,
);
console.log(JSON.stringify(result));
