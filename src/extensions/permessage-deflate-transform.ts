/**
 * The RFC 7692 §7.2 message transform of permessage-deflate, over an injected DEFLATE engine:
 * the sender compresses a whole message with a sync flush and removes the trailing
 * `00 00 FF FF` (§7.2.1), and sets RSV1 on the message's first frame (§6); the receiver puts the
 * four octets back before inflating (§7.2.2) and stops as soon as the output passes the message
 * size limit, so a few KB that expand to GBs are never held. Invalid DEFLATE data fails with
 * 1007, an oversized result with 1009. It neither frames nor schedules: one call per message,
 * and the caller keeps messages in order. It must not import `node:*`: the Node.js layer injects
 * zlib, and another runtime can inject its own engine.
 */
import { ErrorCode, WebSocketError } from '../core/index.js';
import type { DeflateParameters } from './permessage-deflate.js';

/** The RSV bit permessage-deflate claims: "the Per-Message Compressed bit" (RFC 7692 §6). */
export const PERMESSAGE_DEFLATE_RSV = 0x40;

/** The four octets a sync flush ends with (RFC 7692 §7.2.1). */
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

/** What an engine's inflate reports when the output passed the limit it was given. */
export const OUTPUT_LIMIT: unique symbol = Symbol('rfc6455.output-limit');

/** Completion of one engine operation: the output, an error, or (inflate only) {@link OUTPUT_LIMIT}. */
export type EngineResult = Uint8Array | Error | typeof OUTPUT_LIMIT;

/**
 * Raw DEFLATE for one connection, both directions (zlib in Node.js). Each method is called for
 * one message at a time per direction and must call `done` exactly once, even after `close`.
 */
export interface DeflateEngine {
  /** Compress `data` and end with a sync flush (the output ends with 00 00 FF FF). */
  deflate(data: Uint8Array, done: (result: EngineResult) => void): void;
  /** Inflate `data` then `tail`; report {@link OUTPUT_LIMIT} as soon as more than `maxOutput` bytes come out. */
  inflate(data: Uint8Array, tail: Uint8Array, maxOutput: number, done: (result: EngineResult) => void): void;
  /** Free the engine's state once operations in flight are done; later operations fail. */
  close(): void;
}

/** Completion of a transform call. */
export type TransformDone = (error: WebSocketError | null, data?: Uint8Array) => void;

/** The permessage-deflate transform of one connection. */
export class PerMessageDeflateTransform {
  /**
   * @param parameters - what the handshake agreed on
   * @param engine - the DEFLATE implementation
   * @param maxPayload - largest decompressed message, in bytes
   */
  constructor(
    private readonly parameters: DeflateParameters,
    private readonly engine: DeflateEngine,
    private readonly maxPayload: number,
  ) {}

  /** RSV bits to set on the first frame of a compressed message. */
  get rsv(): number {
    return PERMESSAGE_DEFLATE_RSV;
  }

  /**
   * Whether this endpoint can compress at all. zlib cannot produce raw DEFLATE with a 256-byte
   * window, so when the peer limited us to 8 window bits every message goes uncompressed, which
   * RFC 7692 always allows ("An endpoint MAY send a message uncompressed", §6).
   */
  get canCompress(): boolean {
    return this.parameters.compressWindowBits > 8;
  }

  /**
   * What a message compressed for this connection may be shared under: the compressor's window
   * bits when it starts afresh for every message (no context takeover), so one compression serves
   * every connection with the same key; null when each message depends on this connection's
   * earlier ones, or when this endpoint cannot compress.
   */
  get sharedCompressionKey(): number | null {
    const p = this.parameters;
    return p.compressNoContextTakeover && this.canCompress ? p.compressWindowBits : null;
  }

  /** Compress one whole message; the payload handed back has the trailing 00 00 FF FF removed. */
  compress(message: Uint8Array, done: TransformDone): void {
    this.engine.deflate(message, (result) => {
      if (result === OUTPUT_LIMIT || result instanceof Error) {
        done(new WebSocketError(ErrorCode.InternalError, 'compression failed'));
        return;
      }
      // "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end." (§7.2.1)
      done(null, withoutTail(result));
    });
  }

  /** Decompress one whole message (its frames' payloads joined). */
  decompress(payload: Uint8Array, done: TransformDone): void {
    // "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message." (§7.2.2)
    this.engine.inflate(payload, DEFLATE_TAIL, this.maxPayload, (result) => {
      if (result === OUTPUT_LIMIT) done(new WebSocketError(ErrorCode.MessageTooBig, 'message too big'));
      else if (result instanceof Error) done(new WebSocketError(ErrorCode.InvalidCompressedData, 'invalid compressed data'));
      else done(null, result);
    });
  }

  /** Release the engine. */
  close(): void {
    this.engine.close();
  }
}

function withoutTail(out: Uint8Array): Uint8Array {
  const n = out.length;
  if (n >= 4 && out[n - 4] === 0x00 && out[n - 3] === 0x00 && out[n - 2] === 0xff && out[n - 1] === 0xff) return out.subarray(0, n - 4);
  return out;
}
