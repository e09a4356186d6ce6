// Framing of an OVSDB (or any JSON-RPC over a stream, RFC 7047 §4) byte
// stream into complete JSON texts, for callers that want the texts
// themselves (e.g. a unixctl client). It is the message decoder
// (decoder.ts) cutting each top-level value out whole: the same scan,
// with UTF-8 decoded only for complete frames, however the bytes are cut.
import { MessageDecoder, type MessageDecoderOptions } from './decoder.js';

export { DEFAULT_MAX_FRAME_BYTES } from './decoder.js';

export type JsonFramerOptions = MessageDecoderOptions;

export class JsonFramer {
  readonly #decoder: MessageDecoder;
  #frames: string[] = [];
  #longNumbers: boolean[] = [];

  constructor(options: JsonFramerOptions = {}) {
    this.#decoder = MessageDecoder.frames((text, long) => {
      this.#frames.push(text);
      this.#longNumbers.push(long);
    }, options);
  }

  /**
   * For each frame returned by the last push(): whether it has a run of 16+
   * digits outside strings (a possible integer beyond 2^53; parse exactly).
   */
  get longNumbers(): readonly boolean[] {
    return this.#longNumbers;
  }

  /** True while a frame has started but not ended. */
  get inFrame(): boolean {
    return this.#decoder.inMessage;
  }

  /**
   * Scans `chunk` and returns the JSON texts of the frames it completes, in
   * order. Throws OVSDB_FRAME_TOO_LARGE or OVSDB_MALFORMED_MESSAGE; after a
   * throw the stream is unusable and the caller drops the connection.
   */
  push(chunk: Buffer): string[] {
    this.#frames = [];
    this.#longNumbers = [];
    this.#decoder.push(chunk);
    return this.#frames;
  }

  /** Drops any partial frame (after a reconnect the stream starts afresh). */
  reset(): void {
    this.#decoder.reset();
  }
}
