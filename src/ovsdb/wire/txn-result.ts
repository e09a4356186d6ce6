/**
 * Pairs a `transact` reply with its operations (RFC 7047 §4.1.3).
 *
 * The reply holds one element per operation: an object without "error" for
 * a success, an object with "error" for the failed operation, then nulls for
 * operations not attempted. When every operation succeeded but the commit
 * failed (a constraint or referential integrity violation found at commit),
 * one extra trailing element carries the commit error.
 */
import { OvsdbBadReplyError, OvsdbTransactionError, type TransactionFailure } from '../errors.js';
import { isUuid, type WireRow } from './notation.js';
import type { WireOperation } from './operation.js';

/** One operation's result: `uuid` for insert, `count` for update/mutate/delete, `rows` for select. */
export interface OperationResult {
  readonly uuid?: string;
  readonly count?: number;
  readonly rows?: readonly WireRow[];
}

/**
 * Returns the per-operation results, or throws OVSDB_TXN_FAILED listing every
 * failure (retryable when a `wait` timed out), or OVSDB_BAD_REPLY when the
 * reply does not have the §4.1.3 shape.
 */
export function pairTransactResult(operations: readonly WireOperation[], reply: unknown): OperationResult[] {
  if (!Array.isArray(reply)) throw new OvsdbBadReplyError('transact', 'result is not an array');
  const n = operations.length;
  if (reply.length > n + 1)
    throw new OvsdbBadReplyError('transact', `${reply.length} results for ${n} operations`);

  const results: OperationResult[] = new Array<OperationResult>(n);
  const failures: TransactionFailure[] = [];
  for (let i = 0; i < n; i++) {
    const element: unknown = reply[i];
    if (element === null || element === undefined) {
      // Not attempted because an earlier operation failed (or, past the end
      // of a short reply, never reported): only valid after a failure.
      if (failures.length === 0)
        throw new OvsdbBadReplyError('transact', `operation ${i} has no result but nothing failed before it`);
      results[i] = NOT_ATTEMPTED;
      continue;
    }
    if (typeof element !== 'object' || Array.isArray(element))
      throw new OvsdbBadReplyError('transact', `result ${i} is not an object`);
    const e = element as Record<string, unknown>;
    if (e.error !== undefined && e.error !== null) {
      failures.push(failure(i, e, operations[i]));
      results[i] = NOT_ATTEMPTED;
      continue;
    }
    results[i] = success(i, e);
  }

  if (reply.length === n + 1) {
    const extra: unknown = reply[n];
    if (extra === null || typeof extra !== 'object' || (extra as { error?: unknown }).error == null)
      throw new OvsdbBadReplyError('transact', 'the extra trailing result is not an error');
    failures.push(failure(n, extra as Record<string, unknown>, undefined));
  }
  if (failures.length > 0) throw new OvsdbTransactionError(failures);
  return results;
}

const NOT_ATTEMPTED: OperationResult = Object.freeze({});

function failure(
  index: number,
  e: Record<string, unknown>,
  op: WireOperation | undefined,
): TransactionFailure {
  const error = typeof e.error === 'string' ? e.error : JSON.stringify(e.error);
  const details = typeof e.details === 'string' ? e.details : undefined;
  return { index, error, details, op };
}

function success(i: number, e: Record<string, unknown>): OperationResult {
  const out: { uuid?: string; count?: number; rows?: readonly WireRow[] } = {};
  if (e.uuid !== undefined) {
    const u = e.uuid;
    if (!Array.isArray(u) || u[0] !== 'uuid' || !isUuid(u[1]))
      throw new OvsdbBadReplyError('transact', `result ${i} has a malformed uuid`);
    out.uuid = u[1];
  }
  if (e.count !== undefined) {
    if (!Number.isInteger(e.count))
      throw new OvsdbBadReplyError('transact', `result ${i} has a malformed count`);
    out.count = e.count as number;
  }
  if (e.rows !== undefined) {
    if (!Array.isArray(e.rows)) throw new OvsdbBadReplyError('transact', `result ${i} has malformed rows`);
    out.rows = e.rows as WireRow[];
  }
  return out;
}
