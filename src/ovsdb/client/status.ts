// The client's connection status: a discriminated union emitted as 'status'.
import type { OvsdbError } from '../errors.js';

export type ClientStatus =
  /** An attempt to reach `remote` begins. */
  | { readonly type: 'connecting'; readonly remote: string }
  /** Transport up, schema read, database checked; monitoring starts. */
  | { readonly type: 'connected'; readonly remote: string }
  /**
   * The replica matches the server. `resumed`: monitor_cond_since found our
   * last transaction and sent only deltas (no resync happened).
   */
  | { readonly type: 'synced'; readonly remote: string; readonly resumed: boolean }
  /** The connection (or attempt) ended; the client retries unless closed. */
  | { readonly type: 'disconnected'; readonly remote: string; readonly error: OvsdbError };

export interface ClientEvents {
  status: [ClientStatus];
}

/** Counters for metrics and tests. */
export interface ClientStats {
  /** Connections that reached `synced`. */
  readonly syncs: number;
  /** Syncs that resumed from the last transaction id (deltas only). */
  readonly resumes: number;
  /** Syncs that swapped in a full snapshot. */
  readonly resyncs: number;
  /** Failed attempts and dropped connections. */
  readonly disconnects: number;
}
