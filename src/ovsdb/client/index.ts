export { OvsdbClient } from './client.js';
export { SYSTEM_CLOCK } from './options.js';
export type {
  OvsdbClientOptions,
  MonitorSpec,
  TableMonitorSpec,
  ConditionsUpdate,
  Logger,
  Clock,
} from './options.js';
export type { ClientStatus, ClientStats } from './status.js';
