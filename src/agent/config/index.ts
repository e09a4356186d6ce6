// Agent configuration: neutron's oslo ini files -> frozen, typed AgentConfig.
export {
  CONFIG_PROGS,
  CONFIG_PROJECT,
  configSearchDirs,
  findConfigDirs,
  findConfigFiles,
  nodeDiscoveryFs,
  resolveConfigFiles,
  type ConfigArg,
  type ConfigSearch,
  type DiscoveryFs,
} from './discover.js';
export { loadConfig, parseConfig, type ConfigText, type LoadConfigOptions } from './load.js';
export { redactedConfig, optionSource, REDACTED } from './redact.js';
export {
  schema,
  envName,
  optionEntries,
  type AgentConfig,
  type SectionName,
  type OptionSpec,
} from './schema.js';
export type { HostPort } from './formats.js';
export { renderConfigDoc } from './doc.js';
export { checkProxyOwner, knownId, type IdDatabases } from './proxy-owner.js';
export {
  AGENT_CONFIG_ERROR_CODES,
  AgentConfigDirNotFoundError,
  AgentConfigError,
  AgentConfigFileNotFoundError,
  AgentConfigFileUnreadableError,
  AgentConfigSyntaxError,
  describeSource,
  type AgentConfigFailure,
  type ConfigProblem,
  type ValueSource,
} from './errors.js';
