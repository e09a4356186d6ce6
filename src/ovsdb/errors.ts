/**
 * The error catalogue of src/ovsdb (docs/errors.md lists every code; a unit
 * test keeps the two in step).
 *
 * Pattern, one class per failure, appended at the end of this file:
 *
 *   export class OvsdbSomethingError extends OvsdbError {
 *     static readonly code = 'OVSDB_SOMETHING';
 *     readonly code = OvsdbSomethingError.code;
 *     readonly retryable = false;
 *     constructor(readonly what: string, options?: ErrorOptions) {
 *       super(`… naming ${what} …`, options);
 *     }
 *   }
 *
 * Callers branch on `code` (or `instanceof`), never on message text.
 * `retryable` says whether the same request may succeed later unchanged.
 */
import { CodedError } from '../common/coded-error.js';

export abstract class OvsdbError extends CodedError {
  /** The stable catalogue code, also available on the class as `static code`. */
  abstract override readonly code: `OVSDB_${string}`;
}

/** A wire value does not have the shape its column type requires (RFC 7047 §5.1). */
export class OvsdbDecodeError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_DATUM';
  readonly code = OvsdbDecodeError.code;
  readonly retryable = false;
  /** `table.column` (or a description of the value's place). */
  constructor(
    readonly where: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${where}: ${detail}`, options);
  }
}

/** Message text that is not valid JSON (RFC 7159). */
export class OvsdbJsonError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_JSON';
  readonly code = OvsdbJsonError.code;
  readonly retryable = false;
  constructor(
    readonly position: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`invalid JSON at offset ${position}: ${detail}`, options);
  }
}

/** A `get_schema` reply that is not a valid database schema (RFC 7047 §3.2). */
export class OvsdbSchemaError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_SCHEMA';
  readonly code = OvsdbSchemaError.code;
  readonly retryable = false;
  constructor(
    readonly where: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`schema ${where}: ${detail}`, options);
  }
}

/** A table name that the schema (or the monitored set) does not have. */
export class OvsdbUnknownTableError extends OvsdbError {
  static readonly code = 'OVSDB_UNKNOWN_TABLE';
  readonly code = OvsdbUnknownTableError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    context = 'the schema',
  ) {
    super(`table ${table} is not in ${context}`);
  }
}

/** A column name that the table's schema (or monitored columns) does not have. */
export class OvsdbUnknownColumnError extends OvsdbError {
  static readonly code = 'OVSDB_UNKNOWN_COLUMN';
  readonly code = OvsdbUnknownColumnError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly column: string,
    context = 'the schema',
  ) {
    super(`column ${table}.${column} is not in ${context}`);
  }
}

/** A condition that RFC 7047 §5.1 does not allow for its column. */
export class OvsdbConditionError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_CONDITION';
  readonly code = OvsdbConditionError.code;
  readonly retryable = false;
  constructor(
    readonly where: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`condition on ${where}: ${detail}`, options);
  }
}

/** A row update that is not one of the RFC 7047 §4.1.6 / ovsdb-server(7) §4.1.14 forms. */
export class OvsdbBadRowUpdateError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_ROW_UPDATE';
  readonly code = OvsdbBadRowUpdateError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly uuid: string,
    detail: string,
  ) {
    super(`row update ${table} ${uuid}: ${detail}`);
  }
}

/**
 * An update modifies or deletes a row the replica does not hold: the replica
 * and the server disagree, so the client should resync.
 */
export class OvsdbUnknownRowError extends OvsdbError {
  static readonly code = 'OVSDB_UNKNOWN_ROW';
  readonly code = OvsdbUnknownRowError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly uuid: string,
    readonly action: 'modify' | 'delete',
  ) {
    super(`cannot ${action} row ${table} ${uuid}: not in the replica`);
  }
}

/** A replica table was asked for that is not monitored. */
export class OvsdbNotMonitoredError extends OvsdbError {
  static readonly code = 'OVSDB_NOT_MONITORED';
  readonly code = OvsdbNotMonitoredError.code;
  readonly retryable = false;
  constructor(readonly table: string) {
    super(`table ${table} is not monitored by this replica`);
  }
}

/** `byIndex` named an index that `addIndex` never declared. */
export class OvsdbUnknownIndexError extends OvsdbError {
  static readonly code = 'OVSDB_UNKNOWN_INDEX';
  readonly code = OvsdbUnknownIndexError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly index: string,
  ) {
    super(`index ${table}/${index} is not declared`);
  }
}

/** `addIndex` was called twice with the same table and name. */
export class OvsdbDuplicateIndexError extends OvsdbError {
  static readonly code = 'OVSDB_DUPLICATE_INDEX';
  readonly code = OvsdbDuplicateIndexError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly index: string,
  ) {
    super(`index ${table}/${index} is already declared`);
  }
}

/** An index key function threw; the row is left out of that index. */
export class OvsdbIndexKeyError extends OvsdbError {
  static readonly code = 'OVSDB_INDEX_KEY_FAILED';
  readonly code = OvsdbIndexKeyError.code;
  readonly retryable = false;
  constructor(
    readonly table: string,
    readonly index: string,
    readonly uuid: string,
    options?: ErrorOptions,
  ) {
    super(`index ${table}/${index}: key function failed on row ${uuid}`, options);
  }
}

/** A `transact` reply that does not have the RFC 7047 §4.1.3 shape. */
export class OvsdbBadReplyError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_REPLY';
  readonly code = OvsdbBadReplyError.code;
  readonly retryable = false;
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(`${method} reply: ${detail}`);
  }
}

/** One failed operation of a transaction, or the commit (index = operations.length). */
export interface TransactionFailure {
  readonly index: number;
  /** The RFC 7047 §4.1.3 / §3.1 error string, e.g. "constraint violation". */
  readonly error: string;
  readonly details: string | undefined;
  /** The operation that failed; undefined for the trailing commit error. */
  readonly op: { readonly op: string; readonly table?: string } | undefined;
}

/**
 * A `transact` did not commit (RFC 7047 §4.1.3). Retryable when a `wait`
 * timed out: the same transaction may succeed once the awaited state holds.
 */
export class OvsdbTransactionError extends OvsdbError {
  static readonly code = 'OVSDB_TXN_FAILED';
  readonly code = OvsdbTransactionError.code;
  readonly retryable: boolean;
  constructor(readonly failures: readonly TransactionFailure[]) {
    super(`transaction failed: ${failures.map(describeFailure).join('; ')}`);
    this.retryable = failures.length > 0 && failures.every((f) => f.error === 'timed out');
  }
}

function describeFailure(f: TransactionFailure): string {
  const what =
    f.op === undefined ? 'commit' : `op ${f.index} (${f.op.op}${f.op.table ? ` ${f.op.table}` : ''})`;
  return `${what}: ${f.error}${f.details ? ` (${f.details})` : ''}`;
}

// ---- I/O side: framing, JSON-RPC, transport, client ----

/** A `remote` string that is not `tcp:`, `ssl:` or `unix:` as ovsdb-server(1) spells them. */
export class OvsdbBadRemoteError extends OvsdbError {
  static readonly code = 'OVSDB_BAD_REMOTE';
  readonly code = OvsdbBadRemoteError.code;
  readonly retryable = false;
  constructor(
    readonly remote: string,
    detail: string,
  ) {
    super(`remote ${JSON.stringify(remote)}: ${detail}`);
  }
}

/** Connecting to a remote failed (refused, unreachable, TLS handshake, timeout). */
export class OvsdbConnectError extends OvsdbError {
  static readonly code = 'OVSDB_CONNECT_FAILED';
  readonly code = OvsdbConnectError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`connect to ${remote}: ${detail}`, options);
  }
}

/** The connection is gone (or was never up): pending calls fail with this and are never resent. */
export class OvsdbDisconnectedError extends OvsdbError {
  static readonly code = 'OVSDB_DISCONNECTED';
  readonly code = OvsdbDisconnectedError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    cause?: unknown,
  ) {
    super(
      `disconnected from ${remote}${cause instanceof Error ? `: ${cause.message}` : ''}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The byte stream broke RFC 7047 §4 framing or JSON-RPC 1.0 shape; the connection is dropped. */
export class OvsdbMalformedMessageError extends OvsdbError {
  static readonly code = 'OVSDB_MALFORMED_MESSAGE';
  readonly code = OvsdbMalformedMessageError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`malformed message from ${remote}: ${detail}`, cause === undefined ? undefined : { cause });
  }
}

/** One JSON-RPC message exceeded the framer's size cap. */
export class OvsdbFrameTooLargeError extends OvsdbError {
  static readonly code = 'OVSDB_FRAME_TOO_LARGE';
  readonly code = OvsdbFrameTooLargeError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`message from ${remote} exceeds ${limit} bytes (${bytes} so far)`);
  }
}

/** A JSON-RPC response with a non-null `error` (RFC 7047 §4, e.g. "unknown method"). */
export class OvsdbRpcError extends OvsdbError {
  static readonly code = 'OVSDB_RPC_ERROR';
  readonly code = OvsdbRpcError.code;
  readonly retryable = false;
  /** The `error` member's string ("unknown method", "unknown database", …). */
  readonly error: string;
  readonly details: string | undefined;
  constructor(
    readonly remote: string,
    readonly method: string,
    rpcError: unknown,
  ) {
    const e = rpcError as { error?: unknown; details?: unknown } | string;
    const error =
      typeof e === 'string' ? e : typeof e?.error === 'string' ? e.error : JSON.stringify(rpcError);
    const details = typeof e === 'object' && typeof e?.details === 'string' ? e.details : undefined;
    super(`${method} on ${remote} failed: ${error}${details ? ` (${details})` : ''}`);
    this.error = error;
    this.details = details;
  }
}

/** Nothing arrived for two probe intervals (ovsdb-server(1) inactivity probe); the connection is dropped. */
export class OvsdbProbeTimeoutError extends OvsdbError {
  static readonly code = 'OVSDB_PROBE_TIMEOUT';
  readonly code = OvsdbProbeTimeoutError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    readonly idleMs: number,
  ) {
    super(`no message from ${remote} for ${idleMs} ms (echo unanswered)`);
  }
}

/**
 * The remote does not serve the database usefully (ovsdb-server(7) "_Server"
 * Database row): absent, cluster member not connected, not the leader when
 * leaderOnly, or a Raft index older than one already seen. The client moves on.
 */
export class OvsdbDatabaseUnavailableError extends OvsdbError {
  static readonly code = 'OVSDB_DB_UNAVAILABLE';
  readonly code = OvsdbDatabaseUnavailableError.code;
  readonly retryable = true;
  constructor(
    readonly remote: string,
    readonly database: string,
    detail: string,
  ) {
    super(`database ${database} on ${remote}: ${detail}`);
  }
}

/** The client was closed; its pending and later calls fail with this. */
export class OvsdbClientClosedError extends OvsdbError {
  static readonly code = 'OVSDB_CLIENT_CLOSED';
  readonly code = OvsdbClientClosedError.code;
  readonly retryable = false;
  constructor(readonly database: string) {
    super(`client for ${database} is closed`);
  }
}

/** A client method was called in a state that does not allow it (e.g. monitor() after start()). */
export class OvsdbClientStateError extends OvsdbError {
  static readonly code = 'OVSDB_CLIENT_STATE';
  readonly code = OvsdbClientStateError.code;
  readonly retryable = false;
  constructor(
    readonly database: string,
    detail: string,
  ) {
    super(`client for ${database}: ${detail}`);
  }
}

/**
 * A transaction got no reply within the client's transactTimeoutMs (neutron's
 * ovsdb_connection_timeout). The server may still commit it: callers that
 * retry must write idempotent operations.
 */
export class OvsdbTransactTimeoutError extends OvsdbError {
  static readonly code = 'OVSDB_TRANSACT_TIMEOUT';
  readonly code = OvsdbTransactTimeoutError.code;
  readonly retryable = true;
  constructor(
    readonly database: string,
    readonly timeoutMs: number,
  ) {
    super(`transaction on ${database} unanswered after ${timeoutMs} ms`);
  }
}
