// The replica: decoded, indexed copies of monitored tables. No I/O.
export { Replica, SnapshotLoad, type ReplicaEvents } from './replica.js';
export {
  applyTableUpdates,
  applyDiff,
  decodeRow,
  diffRows,
  type ApplyResult,
  type RowsOf,
} from './apply-update.js';
export { planTables, type TablePlan, type TablePlans } from './table-plan.js';
export { RowIndex, type IndexKeyFn } from './row-index.js';
export { Emitter } from './emitter.js';
export type { Row, RowEvent, RowEventType, MonitoredTables } from './types.js';
