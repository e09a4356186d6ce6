/**
 * Pure application of monitor updates to rows: the `update` notification's
 * <table-updates> (RFC 7047 §4.1.6) and the `update2`/`update3`
 * <table-updates2> (ovsdb-server(7) §4.1.14, §4.1.16).
 *
 * Nothing here mutates the rows it is given: `applyTableUpdates` reads the
 * current rows and returns the changes as RowEvents (plus the full previous
 * row of each, for index upkeep); the Replica commits them. Rows are
 * immutable values: a change builds a new row object, so a consumer holding
 * an old row (or an event) keeps a consistent view.
 *
 * Within one <table-updates> a row UUID appears at most once per table (it is
 * a JSON object key), so reading the uncommitted current state is correct.
 *
 * Malformed input never throws: each bad row update becomes a coded problem
 * and every other row is still applied.
 */
import {
  OvsdbBadRowUpdateError,
  OvsdbDecodeError,
  OvsdbUnknownColumnError,
  OvsdbUnknownRowError,
  OvsdbUnknownTableError,
  type OvsdbError,
} from '../errors.js';
import {
  EMPTY_MAP,
  EMPTY_SET,
  valuesEqual,
  type Atom,
  type ColumnCodec,
  type RowValue,
} from '../wire/datum.js';
import { isUuid } from '../wire/notation.js';
import type { UpdateVersion } from '../wire/updates.js';
import type { MutableRow, TablePlan, TablePlans } from './table-plan.js';
import type { Row, RowEvent } from './types.js';

type WireObject = Record<string, unknown>;

/** The current rows of one table, as the apply functions read them. */
export type RowsOf = (table: string) => ReadonlyMap<string, Row> | undefined;

export interface ApplyResult {
  /** In input order; at most one per (table, uuid). */
  readonly events: RowEvent[];
  /** `previous[i]` is the full row that `events[i]` replaces or deletes (undefined for inserts). */
  readonly previous: (Row | undefined)[];
  readonly problems: OvsdbError[];
}

/**
 * Applies a <table-updates> (version 1) or <table-updates2> (versions 2 and
 * 3) to the rows `current` returns, without modifying them.
 */
export function applyTableUpdates(
  version: UpdateVersion,
  updates: unknown,
  plans: TablePlans,
  current: RowsOf,
): ApplyResult {
  const out: ApplyResult = { events: [], previous: [], problems: [] };
  if (!isObject(updates)) {
    out.problems.push(new OvsdbBadRowUpdateError('*', '*', 'table-updates is not a JSON object'));
    return out;
  }
  for (const table in updates) {
    const plan = plans.get(table);
    if (plan === undefined) {
      out.problems.push(new OvsdbUnknownTableError(table, 'the monitored tables'));
      continue;
    }
    const tableUpdate = updates[table];
    if (!isObject(tableUpdate)) {
      out.problems.push(new OvsdbBadRowUpdateError(table, '*', 'table-update is not a JSON object'));
      continue;
    }
    const rows = current(table) ?? NO_ROWS;
    for (const uuid in tableUpdate)
      applyRowUpdate(version, plan, uuid, tableUpdate[uuid], rows.get(uuid), out);
  }
  return out;
}

/**
 * Applies one <row-update> (or <row-update2>) of `plan`'s table to `prev`,
 * the row currently held under `uuid`; appends to `out`, never throws for
 * malformed input.
 */
export function applyRowUpdate(
  version: UpdateVersion,
  plan: TablePlan,
  uuid: string,
  rowUpdate: unknown,
  prev: Row | undefined,
  out: ApplyResult,
): void {
  try {
    if (!isUuid(uuid)) throw new OvsdbBadRowUpdateError(plan.table, uuid, 'the row key is not a UUID');
    if (!isObject(rowUpdate))
      throw new OvsdbBadRowUpdateError(plan.table, uuid, 'row update is not a JSON object');
    if (version === 1) applyRowUpdate1(plan, uuid, rowUpdate, prev, out);
    else applyRowUpdate2(plan, uuid, rowUpdate, prev, out);
  } catch (err) {
    if (!(err instanceof OvsdbDecodeError || err instanceof OvsdbBadRowUpdateError)) throw err;
    out.problems.push(err);
  }
}

const NO_ROWS: ReadonlyMap<string, Row> = new Map();

/** One row's update, in either protocol's form, applied to the replica's rows. */
type ApplyRowUpdate = (
  plan: TablePlan,
  uuid: string,
  update: WireObject,
  prev: Row | undefined,
  out: ApplyResult,
) => void;

/** ovsdb-server(7) §4.1.14 <row-update2>: exactly one of initial, insert, delete, modify. */
const applyRowUpdate2: ApplyRowUpdate = (plan, uuid, update, prev, out) => {
  let kind: string | undefined;
  let members = 0;
  for (const k in update) {
    kind = k;
    members++;
  }
  if (members !== 1)
    throw new OvsdbBadRowUpdateError(plan.table, uuid, `${members} members, expected exactly one`);
  switch (kind) {
    case 'initial':
    case 'insert':
      return put(plan, uuid, decodeRow(plan, uuid, update[kind], out.problems), prev, out);
    case 'delete':
      if (update.delete !== null && !isObject(update.delete))
        throw new OvsdbBadRowUpdateError(plan.table, uuid, '"delete" is not null');
      return remove(plan, uuid, prev, out);
    case 'modify': {
      if (prev === undefined) {
        out.problems.push(new OvsdbUnknownRowError(plan.table, uuid, 'modify'));
        return;
      }
      const wire = update.modify;
      if (!isObject(wire)) throw new OvsdbBadRowUpdateError(plan.table, uuid, '"modify" is not a row object');
      return modify2(plan, prev, wire, out);
    }
    default:
      throw new OvsdbBadRowUpdateError(plan.table, uuid, `unknown member ${JSON.stringify(kind)}`);
  }
};

/** RFC 7047 §4.1.6 <row-update>: `new` only = initial/insert, `old` only = delete, both = modify. */
const applyRowUpdate1: ApplyRowUpdate = (plan, uuid, update, prev, out) => {
  const hasOld = update.old !== undefined && update.old !== null;
  const hasNew = update.new !== undefined && update.new !== null;
  if (hasNew && !isObject(update.new))
    throw new OvsdbBadRowUpdateError(plan.table, uuid, '"new" is not a row object');
  if (hasOld && !isObject(update.old))
    throw new OvsdbBadRowUpdateError(plan.table, uuid, '"old" is not a row object');
  if (!hasNew) {
    if (!hasOld) throw new OvsdbBadRowUpdateError(plan.table, uuid, 'neither "old" nor "new"');
    return remove(plan, uuid, prev, out);
  }
  if (!hasOld) return put(plan, uuid, decodeRow(plan, uuid, update.new, out.problems), prev, out);
  if (prev === undefined) {
    out.problems.push(new OvsdbUnknownRowError(plan.table, uuid, 'modify'));
    return;
  }
  // "new" holds the new values of (at least) the changed columns; we compare
  // with our own row rather than trusting "old", which holds only them.
  modify1(plan, prev, update.new as WireObject, out);
};

/**
 * Decodes a full <row> (initial, insert, RFC 7047 `new`). Columns it omits
 * hold their default (ovsdb-server(7) §4.1.14 omits default values). Every
 * row comes from the plan's constructor, so all rows of a table share one shape.
 */
export function decodeRow(plan: TablePlan, uuid: string, wire: unknown, problems: OvsdbError[]): Row {
  if (!isObject(wire)) throw new OvsdbBadRowUpdateError(plan.table, uuid, 'row is not a JSON object');
  const row = plan.create(uuid);
  for (const name in wire) {
    const codec = plan.byName.get(name);
    if (codec !== undefined) row[name] = codec.decode(wire[name]);
    else if (name !== '_uuid')
      problems.push(new OvsdbUnknownColumnError(plan.table, name, 'the monitored columns'));
  }
  return row;
}

/** Insert, or replace a row we already hold (reported as an update of what differs). */
function put(plan: TablePlan, uuid: string, row: Row, prev: Row | undefined, out: ApplyResult): void {
  if (prev === undefined) {
    out.events.push({ table: plan.table, type: 'insert', uuid, new: row });
    out.previous.push(undefined);
    return;
  }
  const old = diffRows(plan, prev, row);
  if (old === undefined) return;
  out.events.push({ table: plan.table, type: 'update', uuid, new: row, old });
  out.previous.push(prev);
}

function remove(plan: TablePlan, uuid: string, prev: Row | undefined, out: ApplyResult): void {
  if (prev === undefined) {
    out.problems.push(new OvsdbUnknownRowError(plan.table, uuid, 'delete'));
    return;
  }
  out.events.push({ table: plan.table, type: 'delete', uuid, old: prev });
  out.previous.push(prev);
}

/**
 * The old values of the columns where `next` differs from `prev` (with
 * `_uuid`), or undefined when the rows are equal.
 */
export function diffRows(plan: TablePlan, prev: Row, next: Row): Row | undefined {
  let old: MutableRow | undefined;
  const columns = plan.columns;
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!.name;
    const before = prev[name];
    if (valuesEqual(before, next[name])) continue;
    old ??= { _uuid: prev._uuid };
    old[name] = before;
  }
  return old;
}

type NewValue = (codec: ColumnCodec, before: RowValue, value: unknown) => RowValue;

/** update2: the column's difference applied (ovsdb-server(7) §4.1.14). */
const fromDiff: NewValue = (codec, before, value) => applyDiff(codec, before, codec.decodeDiff(value));

/** RFC 7047: the full new value, or `before` when equal. */
const fromFull: NewValue = (codec, before, value) => {
  const after = codec.decode(value);
  return valuesEqual(before, after) ? before : after;
};

/** update2 `modify`: apply each column's difference (ovsdb-server(7) §4.1.14). */
function modify2(plan: TablePlan, prev: Row, wire: WireObject, out: ApplyResult): void {
  modify(plan, prev, wire, out, fromDiff);
}

/** RFC 7047 `modify`: `new` holds full values (and `_uuid`); keep the ones that differ. */
function modify1(plan: TablePlan, prev: Row, wire: WireObject, out: ApplyResult): void {
  modify(plan, prev, wire, out, fromFull, '_uuid');
}

/**
 * Applies a modify: `after` gives each named column's new value, `before`
 * itself when it does not change. One update event with the changed
 * columns' old values, or none.
 */
function modify(
  plan: TablePlan,
  prev: Row,
  wire: WireObject,
  out: ApplyResult,
  after: NewValue,
  ignored?: string,
): void {
  let next: MutableRow | undefined;
  let old: MutableRow | undefined;
  for (const name in wire) {
    const codec = plan.byName.get(name);
    if (codec === undefined) {
      if (name !== ignored)
        out.problems.push(new OvsdbUnknownColumnError(plan.table, name, 'the monitored columns'));
      continue;
    }
    const before = prev[name];
    const value = after(codec, before, wire[name]);
    if (value === before) continue;
    next ??= plan.copy(prev);
    old ??= { _uuid: prev._uuid };
    next[name] = value;
    old[name] = before;
  }
  if (next === undefined) return;
  out.events.push({ table: plan.table, type: 'update', uuid: prev._uuid, new: next, old });
  out.previous.push(prev);
}

/**
 * One column's new value from its update2 difference. Returns `before`
 * itself when nothing changes, so callers can test with ===.
 * - scalar and optional columns (max 1): the difference is the new value;
 * - sets: the difference's elements are toggled (symmetric difference);
 * - maps: a key absent is added, present with the same value is removed,
 *   present with another value takes the new value.
 */
export function applyDiff(codec: ColumnCodec, before: RowValue, diff: RowValue): RowValue {
  switch (codec.kind) {
    case 'scalar':
    case 'optional':
      return diff === before ? before : diff;
    case 'set':
      return toggle(before as readonly Atom[], diff as readonly Atom[]);
    case 'map':
      return applyMapDiff(before as ReadonlyMap<Atom, Atom>, diff as ReadonlyMap<Atom, Atom>);
  }
}

function toggle(before: readonly Atom[], diff: readonly Atom[]): readonly Atom[] {
  if (diff.length === 0) return before;
  const pending = new Set(diff);
  const out: Atom[] = [];
  for (let i = 0; i < before.length; i++) {
    const a = before[i]!;
    if (!pending.delete(a)) out.push(a); // in both: toggled off
  }
  for (const a of pending) out.push(a); // only in the diff: toggled on
  return out.length === 0 ? EMPTY_SET : out;
}

function applyMapDiff(
  before: ReadonlyMap<Atom, Atom>,
  diff: ReadonlyMap<Atom, Atom>,
): ReadonlyMap<Atom, Atom> {
  if (diff.size === 0) return before;
  const out = new Map(before);
  for (const [k, v] of diff) {
    if (!before.has(k)) out.set(k, v);
    else if (before.get(k) === v) out.delete(k);
    else out.set(k, v);
  }
  return out.size === 0 ? EMPTY_MAP : out;
}

function isObject(x: unknown): x is WireObject {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
