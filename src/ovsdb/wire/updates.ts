/**
 * The table-updates carried by monitor replies and update notifications, as
 * they arrive on the wire. The replica validates them at run time; these
 * types document the forms.
 */
import type { WireRow } from './notation.js';

/** RFC 7047 §4.1.6 <row-update>: `new` alone = insert/initial, `old` alone = delete, both = modify. */
export interface RowUpdate {
  readonly old?: WireRow;
  readonly new?: WireRow;
}
/** <table-update>: row UUID -> <row-update>. */
export type TableUpdate = { readonly [uuid: string]: RowUpdate };
/** <table-updates>: table name -> <table-update> (`update` notification, `monitor` reply). */
export type TableUpdates = { readonly [table: string]: TableUpdate };

/**
 * ovsdb-server(7) §4.1.14 <row-update2>, exactly one member. `initial` and
 * `insert` rows omit columns holding their default; `modify` holds only the
 * changed columns, as differences; `delete` is null.
 */
export type RowUpdate2 =
  | { readonly initial: WireRow }
  | { readonly insert: WireRow }
  | { readonly delete: null }
  | { readonly modify: WireRow };
export type TableUpdate2 = { readonly [uuid: string]: RowUpdate2 };
/** <table-updates2> (`update2`/`update3` notifications, `monitor_cond`/`_since` replies). */
export type TableUpdates2 = { readonly [table: string]: TableUpdate2 };

/** 1: `monitor`/`update`; 2: `monitor_cond`/`update2`; 3: `monitor_cond_since`/`update3`. */
export type UpdateVersion = 1 | 2 | 3;
