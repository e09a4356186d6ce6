// src/ovsdb: a general OVSDB client (RFC 7047 + ovsdb-server(7) extensions).
// It knows no OVN table. docs/architecture.md describes this API.
export * from './wire/index.js';
export * from './replica/index.js';
export * from './errors.js';
export { JsonFramer, DEFAULT_MAX_FRAME_BYTES, type JsonFramerOptions } from './framing.js';
export { RpcSession, type RpcSessionOptions } from './jsonrpc.js';
export {
  parseRemote,
  parseRemotes,
  connectTransport,
  DEFAULT_OVSDB_PORT,
  type Remote,
  type SslOptions,
  type Transport,
  type TransportFactory,
  type TransportHandlers,
  type ConnectOptions,
} from './transport.js';
export * from './client/index.js';
