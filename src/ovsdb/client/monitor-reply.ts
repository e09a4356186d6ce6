// How a monitor reply is read (pure, no I/O). The reply is decoded row by
// row by the session's MessageDecoder (decoder.ts) as its bytes arrive,
// whole or in pieces: straight into a pending resync of the replica, or,
// when monitor_cond_since resumed (ovsdb-server(7) §4.1.15), into a plain
// <table-updates2> of the deltas. Either way the call resolves with a
// MonitorReply, committed once the reply is complete.
import type { CallOptions } from '../jsonrpc.js';
import type { Replica } from '../replica/index.js';
import { UPDATE_VERSION, type MonitorMethod } from './monitor-request.js';

/** A decoded monitor reply, not yet applied to the replica. */
export class MonitorReply {
  constructor(
    /** monitor_cond_since found our last transaction: the rows are deltas. */
    readonly resumed: boolean,
    /** ovsdb-server(7) §4.1.15 last-txn-id (monitor_cond_since only). */
    readonly lastTxnId: string | undefined,
    /** Applies the reply: the deltas (resumed), or the snapshot emitting only real differences. */
    readonly commit: () => void,
  ) {}
}

/**
 * The call options of one monitor request. `lastTxnId`: the transaction id
 * sent with monitor_cond_since (undefined: a full snapshot is asked for).
 * The call resolves with a MonitorReply.
 */
export function monitorReplyOptions(
  method: MonitorMethod,
  replica: Replica,
  lastTxnId: string | undefined,
): CallOptions {
  return {
    rows: {
      method,
      begin: (found, txnId) => {
        const resumed = found === true && lastTxnId !== undefined;
        if (!resumed) {
          const load = replica.beginResync(UPDATE_VERSION[method] === 1 ? 1 : 2);
          return {
            row: (table, uuid, update) => load.add(table, uuid, update),
            result: () => new MonitorReply(false, txnId, () => void load.commit()),
          };
        }
        const updates: Record<string, Record<string, unknown>> = {};
        return {
          row: (table, uuid, update) => ((updates[table] ??= {})[uuid] = update),
          result: () => new MonitorReply(true, txnId, () => void replica.applyUpdates(3, updates)),
        };
      },
    },
  };
}
