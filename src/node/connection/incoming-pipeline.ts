/**
 * The ordered receive pipeline of one connection (ws's receiver INFLATING state): it takes the
 * core's events one at a time and hands them to the connection; a compressed message stops the
 * line while it is inflated, so later messages, the peer's close and the end of the connection
 * are delivered after it, in order, and the core keeps them meanwhile (nothing is copied here).
 * Inflated text is checked for UTF-8 (RFC 6455 §8.1) and a failure goes through the core's error
 * ladder. It does no socket I/O.
 */
import { ErrorCode, type Protocol, type ProtocolEvent, WebSocketError } from '../../core/index.js';
import type { PerMessageDeflateTransform } from '../../extensions/index.js';
import { isUtf8Buffer } from '../platform.js';

/** What the pipeline delivers to (the connection). */
export interface IncomingSink {
  /** One event, in order; inflated messages arrive as uncompressed 'message' events. */
  deliver(event: ProtocolEvent): void;
  /** A message started inflating (reading pauses) or finished (delivery resumed, output may go). */
  inflating(active: boolean): void;
}

/** Delivers a connection's events in order, inflating compressed messages on the way. */
export class IncomingPipeline {
  private inflatingNow = false;
  private delivering = false;

  /**
   * @param protocol - the core whose events are delivered
   * @param transform - permessage-deflate, or null when it was not negotiated
   * @param sink - where events go
   */
  constructor(
    private readonly protocol: Protocol,
    private readonly transform: PerMessageDeflateTransform | null,
    private readonly sink: IncomingSink,
  ) {}

  /** Whether a message is being inflated (events behind it wait in the core). */
  get busy(): boolean {
    return this.inflatingNow;
  }

  /** Deliver every event the core has, up to the next compressed message. Re-entrant calls are no-ops. */
  drain(): void {
    if (this.delivering || this.inflatingNow) return;
    this.delivering = true;
    try {
      for (let event = this.protocol.nextEvent(); event !== undefined; event = this.protocol.nextEvent()) {
        if (event.type === 'message' && event.compressed) {
          this.inflate(event.data, event.binary);
          if (this.inflatingNow) return;
          continue;
        }
        this.sink.deliver(event);
      }
    } finally {
      this.delivering = false;
    }
  }

  private inflate(data: Uint8Array, binary: boolean): void {
    const transform = this.transform;
    if (transform === null) {
      // RSV1 without a transform cannot happen: the core accepts it only when deflate was negotiated.
      this.protocol.failMessage(new WebSocketError(ErrorCode.InternalError, 'compressed message without permessage-deflate'));
      return;
    }
    this.inflatingNow = true;
    this.sink.inflating(true);
    transform.decompress(data, (error, message) => {
      this.inflatingNow = false;
      if (error !== null || message === undefined) {
        this.protocol.failMessage(error ?? new WebSocketError(ErrorCode.InvalidCompressedData, 'invalid compressed data'));
      } else if (!binary && !isUtf8Buffer(message)) {
        // "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream
        // is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_" (§8.1)
        this.protocol.failMessage(new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in text message'));
      } else {
        this.delivering = true;
        try {
          this.sink.deliver({ type: 'message', binary, data: message, compressed: false });
        } finally {
          this.delivering = false;
        }
      }
      this.drain();
      this.sink.inflating(this.inflatingNow);
    });
  }
}
