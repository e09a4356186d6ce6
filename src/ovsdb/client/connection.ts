// One connection to one remote: transport + JSON-RPC session (its decoder) +
// inactivity probe, glued together. It ends exactly once (`ended` resolves
// with the reason): peer closed, socket error, malformed stream, probe
// timeout, or a local `close(reason)`. Pending calls then fail with
// OVSDB_DISCONNECTED and are never resent.
import { OvsdbDisconnectedError, OvsdbError, type OvsdbMalformedMessageError } from '../errors.js';
import { RpcSession, type CallOptions } from '../jsonrpc.js';
import { OvsdbProbeTimeoutError } from '../errors.js';
import type { Remote, Transport } from '../transport.js';
import type { ResolvedOptions } from './options.js';
import { InactivityProbe } from './probe.js';

export interface ConnectionHandlers {
  notification(method: string, params: readonly unknown[]): void;
  problem(error: OvsdbMalformedMessageError): void;
}

export class Connection {
  readonly ended: Promise<OvsdbError>;
  #end!: (reason: OvsdbError) => void;
  #endedWith: OvsdbError | undefined;
  #transport: Transport | undefined;
  #probe: InactivityProbe | undefined;
  readonly #rpc: RpcSession;

  private constructor(
    readonly remote: Remote,
    private readonly options: ResolvedOptions,
    handlers: ConnectionHandlers,
  ) {
    this.ended = new Promise((resolve) => (this.#end = resolve));
    this.#rpc = new RpcSession({
      remote: remote.text,
      maxFrameBytes: options.maxFrameBytes,
      write: (text) => this.#transport?.write(text),
      onNotification: (method, params) => handlers.notification(method, params),
      onProblem: (error) => handlers.problem(error),
    });
  }

  /** Connects; rejects with OVSDB_CONNECT_FAILED (or the factory's error). */
  static async open(
    remote: Remote,
    options: ResolvedOptions,
    handlers: ConnectionHandlers,
  ): Promise<Connection> {
    const conn = new Connection(remote, options, handlers);
    conn.#transport = await options.transport(
      remote,
      {
        data: (chunk) => conn.#data(chunk),
        closed: (error) => conn.close(new OvsdbDisconnectedError(remote.text, error)),
      },
      { ssl: options.ssl, timeoutMs: options.connectTimeoutMs },
    );
    if (conn.#endedWith) {
      conn.#transport.close(); // closed during the handshake
    } else {
      conn.#probe = new InactivityProbe(
        options.clock,
        options.probeIntervalMs,
        () => void conn.#rpc.call('echo', []).catch(() => {}),
        (idleMs) => conn.close(new OvsdbProbeTimeoutError(remote.text, idleMs)),
      );
    }
    return conn;
  }

  get isOpen(): boolean {
    return this.#endedWith === undefined;
  }

  call(method: string, params: readonly unknown[], options?: CallOptions): Promise<unknown> {
    return this.#rpc.call(method, params, options);
  }

  /** Ends the connection (idempotent); the first reason wins. */
  close(reason: OvsdbError = new OvsdbDisconnectedError(this.remote.text)): void {
    if (this.#endedWith) return;
    this.#endedWith = reason;
    this.#probe?.stop();
    this.#transport?.close();
    this.#rpc.reset();
    this.#rpc.failAll(reason);
    this.#end(reason);
  }

  #data(chunk: Buffer): void {
    if (this.#endedWith) return;
    this.#probe?.heard();
    try {
      // Stops at once if a message handled in it closed the connection.
      this.#rpc.push(chunk);
    } catch (error) {
      // A broken stream (bad framing, invalid JSON, oversize) cannot be
      // resynchronised: drop the connection and let the client reconnect.
      this.close(error instanceof OvsdbError ? error : new OvsdbDisconnectedError(this.remote.text, error));
    }
  }
}
