// src/proxy: serving metadata to VMs (docs/architecture.md "src/proxy").
// Knows no SB, no iproute2 and no OVSDB: the agent feeds the identity index
// and says which networks to serve.

export { createMetadataProxy } from './metadata-proxy.js';
export type { EnsureResult, ListenerInfo, ListenerSpec, MetadataProxy } from './metadata-proxy.js';
export { ListenerHolder } from './holder-client.js';
export { IdentityIndex } from './identity-index.js';
export type { IdentityLookup, IdentitySource, PortIdentity } from './identity-index.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_LISTEN,
  DEFAULT_NOVA,
  DEFAULT_RATE_LIMIT,
  type LimitOptions,
  type ListenAddressOptions,
  type MetadataProxyOptions,
  type NovaOptions,
  type RateLimitOptions,
} from './options.js';
export { signInstanceId } from './relay.js';
export { socketModeBits, type SocketOwner, type UnixSocketMode } from './unix-socket.js';
export * from './errors.js';
