// src/ovsdb: a general OVSDB client (RFC 7047 + ovsdb-server(7) extensions).
// It knows no OVN table. docs/architecture.md describes this API.
export * from './wire/index.js';
export * from './replica/index.js';
export * from './errors.js';
export {
  MessageDecoder,
  DEFAULT_MAX_FRAME_BYTES,
  type BeginRows,
  type MessageDecoderOptions,
  type MessageHandler,
  type MonitorRows,
  type RowSink,
} from './decoder.js';
export { JsonFramer, type JsonFramerOptions } from './framing.js';
export { RpcSession, type CallOptions, type RpcSessionOptions } from './jsonrpc.js';
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
