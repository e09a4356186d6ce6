/**
 * Database operations (RFC 7047 §5.2) as plain JSON objects, and builders.
 * A `transact` request is `[database, ...operations]` (RFC 7047 §4.1.3).
 */
import { OvsdbDecodeError } from '../errors.js';
import type { WireCondition } from './condition.js';
import { ID_PATTERN, type WireRow, type WireValue } from './notation.js';

/** <mutator> (RFC 7047 §5.1): arithmetic on scalars, insert/delete on sets and maps. */
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
/** <mutation>: `[column, mutator, value]`. */
export type WireMutation = readonly [column: string, mutator: Mutator, value: WireValue];

type Where = readonly WireCondition[];

export type InsertOperation = {
  readonly op: 'insert';
  readonly table: string;
  readonly row: WireRow;
  readonly 'uuid-name'?: string;
};
export type SelectOperation = {
  readonly op: 'select';
  readonly table: string;
  readonly where: Where;
  readonly columns?: readonly string[];
};
export type UpdateOperation = {
  readonly op: 'update';
  readonly table: string;
  readonly where: Where;
  readonly row: WireRow;
};
export type MutateOperation = {
  readonly op: 'mutate';
  readonly table: string;
  readonly where: Where;
  readonly mutations: readonly WireMutation[];
};
export type DeleteOperation = { readonly op: 'delete'; readonly table: string; readonly where: Where };
export type WaitOperation = {
  readonly op: 'wait';
  readonly table: string;
  readonly where: Where;
  readonly columns: readonly string[];
  readonly until: '==' | '!=';
  readonly rows: readonly WireRow[];
  /** Milliseconds; absent waits forever (RFC 7047 §5.2.6). */
  readonly timeout?: number;
};
export type CommitOperation = { readonly op: 'commit'; readonly durable: boolean };
export type AbortOperation = { readonly op: 'abort' };
export type CommentOperation = { readonly op: 'comment'; readonly comment: string };
export type AssertOperation = { readonly op: 'assert'; readonly lock: string };

/** RFC 7047 §5.2.1–§5.2.11. */
export type WireOperation =
  | InsertOperation
  | SelectOperation
  | UpdateOperation
  | MutateOperation
  | DeleteOperation
  | WaitOperation
  | CommitOperation
  | AbortOperation
  | CommentOperation
  | AssertOperation;

export const MUTATORS: ReadonlySet<string> = new Set<Mutator>([
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  'insert',
  'delete',
]);

/** `[column, mutator, value]`, checking the mutator. */
export function mutation(column: string, mutator: Mutator, value: WireValue): WireMutation {
  if (!MUTATORS.has(mutator))
    throw new OvsdbDecodeError(column, `unknown mutator ${JSON.stringify(mutator)}`);
  return [column, mutator, value];
}

export interface WaitOptions {
  readonly columns: readonly string[];
  readonly rows: readonly WireRow[];
  readonly until?: '==' | '!=';
  readonly timeout?: number;
}

/** Operation builders, one per RFC 7047 §5.2 operation. */
export const op = {
  /** §5.2.1; `uuidName` lets later operations refer to the row as namedUuid(uuidName). */
  insert(table: string, row: WireRow, uuidName?: string): InsertOperation {
    if (uuidName === undefined) return { op: 'insert', table, row };
    if (!ID_PATTERN.test(uuidName))
      throw new OvsdbDecodeError(`${table} insert`, `bad uuid-name ${uuidName}`);
    return { op: 'insert', table, row, 'uuid-name': uuidName };
  },
  /** §5.2.2 */
  select(table: string, where: Where, columns?: readonly string[]): SelectOperation {
    return columns === undefined ? { op: 'select', table, where } : { op: 'select', table, where, columns };
  },
  /** §5.2.3 */
  update(table: string, where: Where, row: WireRow): UpdateOperation {
    return { op: 'update', table, where, row };
  },
  /** §5.2.4 */
  mutate(table: string, where: Where, mutations: readonly WireMutation[]): MutateOperation {
    return { op: 'mutate', table, where, mutations };
  },
  /** §5.2.5 */
  delete(table: string, where: Where): DeleteOperation {
    return { op: 'delete', table, where };
  },
  /** §5.2.6: wait until the rows matching `where`, projected on `columns`, are (==) or are not (!=) `rows`. */
  wait(table: string, where: Where, { columns, rows, until = '==', timeout }: WaitOptions): WaitOperation {
    const w: WaitOperation = { op: 'wait', table, where, columns, until, rows };
    return timeout === undefined ? w : { ...w, timeout };
  },
  /** §5.2.7 */
  commit(durable = false): CommitOperation {
    return { op: 'commit', durable };
  },
  /** §5.2.8 */
  abort(): AbortOperation {
    return { op: 'abort' };
  },
  /** §5.2.9: recorded in the database log, for people reading it. */
  comment(comment: string): CommentOperation {
    return { op: 'comment', comment };
  },
  /** §5.2.10: fails the transaction with "not owner" unless this session holds `lock`. */
  assert(lock: string): AssertOperation {
    return { op: 'assert', lock };
  },
} as const;
