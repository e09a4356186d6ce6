// How a monitor reply is read (pure, no I/O). A reply spanning socket
// chunks is decoded row by row as it arrives (stream-updates.ts), straight
// into a pending resync of the replica, or, when monitor_cond_since resumed,
// into a plain <table-updates2> of the deltas applied once the reply is
// complete. A large reply that came in one chunk is parsed row by row as
// the replica reads it (lazy-updates.ts).
import type { CallOptions } from '../jsonrpc.js';
import { lazyMonitorResult } from '../lazy-updates.js';
import type { Replica } from '../replica/index.js';
import { MonitorResultStream, type BeginRows } from '../stream-updates.js';
import { parseJsonExact } from '../wire/json.js';
import { UPDATE_VERSION, type MonitorMethod } from './monitor-request.js';

/**
 * The call options of one monitor request. `lastTxnId`: the transaction id
 * sent with monitor_cond_since (undefined: a full snapshot is asked for).
 * The reply then holds a SnapshotLoad (commit it) in place of a snapshot.
 */
export function monitorReplyOptions(
  method: MonitorMethod,
  replica: Replica,
  lastTxnId: string | undefined,
  remote: string,
): CallOptions {
  return {
    stream: () =>
      new MonitorResultStream(
        method,
        (found) => rowsTarget(replica, method, found === true && lastTxnId !== undefined),
        remote,
      ),
    parseResult: (text, start, end, longNumbers) =>
      lazyMonitorResult(method, text, start, end, longNumbers ? parseJsonExact : JSON.parse),
  };
}

/** Where the rows go: a pending resync, or (resumed) the deltas as a plain object. */
function rowsTarget(replica: Replica, method: MonitorMethod, resumed: boolean): ReturnType<BeginRows> {
  if (!resumed) {
    const load = replica.beginResync(UPDATE_VERSION[method] === 1 ? 1 : 2);
    return { row: (table, uuid, update) => load.add(table, uuid, update), result: () => load };
  }
  const updates: Record<string, Record<string, unknown>> = {};
  return {
    row: (table, uuid, update) => ((updates[table] ??= {})[uuid] = update),
    result: () => updates,
  };
}
