// src/agent: the core that joins src/ovsdb, src/namespace and src/proxy.
export { Agent, type AgentOptions } from './agent.js';
export { cleanupHost, type CleanupReport } from './cleanup.js';
export * from './config/index.js';
export { desiredNetwork, type DesiredNetwork, type NetworkIntent, type NetworkInputs } from './desired.js';
export { AgentMetrics } from './metrics.js';
