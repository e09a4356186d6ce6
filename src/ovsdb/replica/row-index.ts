/**
 * A secondary index over one replica table: key -> the set of rows with that
 * key. Kept in step with every committed change. Each row's keys are
 * remembered, so removal never calls the key function again (a key function
 * that reads other state cannot leave a stale entry behind).
 */
import { OvsdbIndexKeyError, type OvsdbError } from '../errors.js';
import type { Row } from './types.js';

/** Keys of a row; undefined (or []) leaves the row out of the index. Must be quick and pure. */
export type IndexKeyFn = (row: Row) => string | readonly string[] | undefined;

const EMPTY: ReadonlySet<Row> = Object.freeze(new Set<Row>());

export class RowIndex {
  private readonly buckets = new Map<string, Set<Row>>();
  private readonly keysByUuid = new Map<string, string | readonly string[]>();

  constructor(
    readonly table: string,
    readonly name: string,
    private readonly keyFn: IndexKeyFn,
  ) {}

  /** The rows with `key`: a live view, valid until the replica next changes. */
  get(key: string): ReadonlySet<Row> {
    return this.buckets.get(key) ?? EMPTY;
  }

  /** The number of distinct keys (for tests and metrics). */
  get keyCount(): number {
    return this.buckets.size;
  }

  add(row: Row, problems: OvsdbError[]): void {
    let keys: string | readonly string[] | undefined;
    try {
      keys = this.keyFn(row);
    } catch (err) {
      problems.push(new OvsdbIndexKeyError(this.table, this.name, row._uuid, { cause: err }));
      return;
    }
    if (keys === undefined) return;
    if (typeof keys === 'string') {
      this.bucket(keys).add(row);
    } else {
      if (keys.length === 0) return;
      for (let i = 0; i < keys.length; i++) this.bucket(keys[i]!).add(row);
    }
    this.keysByUuid.set(row._uuid, keys);
  }

  remove(row: Row): void {
    const keys = this.keysByUuid.get(row._uuid);
    if (keys === undefined) return;
    this.keysByUuid.delete(row._uuid);
    if (typeof keys === 'string') this.unbucket(keys, row);
    else for (let i = 0; i < keys.length; i++) this.unbucket(keys[i]!, row);
  }

  clear(): void {
    this.buckets.clear();
    this.keysByUuid.clear();
  }

  private bucket(key: string): Set<Row> {
    let b = this.buckets.get(key);
    if (b === undefined) this.buckets.set(key, (b = new Set()));
    return b;
  }

  private unbucket(key: string, row: Row): void {
    const b = this.buckets.get(key);
    if (b === undefined) return;
    b.delete(row);
    if (b.size === 0) this.buckets.delete(key);
  }
}
