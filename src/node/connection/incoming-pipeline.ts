/**
 * The ordered receive pipeline of one connection (ws's receiver INFLATING state): it takes the
 * core's events one at a time and hands them to the connection; a compressed message stops the
 * line while it is inflated, so later messages, the peer's close and the end of the connection
 * are delivered after it, in order, and the core keeps them meanwhile (nothing is copied here).
 * Inflated text is checked for UTF-8 (RFC 6455 §8.1) and a failure goes through the core's error
 * ladder. It keeps no state of its own (the connection holds the two flags, so an idle connection
 * pays for no pipeline object) and does no socket I/O.
 */
import { ErrorCode, type Protocol, type ProtocolEvent, WebSocketError } from '../../core/index.js';
import type { PerMessageDeflateTransform } from '../../extensions/index.js';
import { isUtf8Buffer } from '../platform.js';

/** What the pipeline works on (the connection). */
export interface IncomingSink {
  readonly protocol: Protocol;
  readonly transform: PerMessageDeflateTransform | null;
  /** Whether incoming text is checked for UTF-8 (false with `skipUTF8Validation`). */
  readonly validatesUtf8: boolean;
  /** A message is being inflated: events behind it wait in the core. */
  inflatingNow: boolean;
  /** Events are being delivered (re-entrant drains are no-ops). */
  deliveringNow: boolean;
  /**
   * One event, in order; inflated messages arrive as uncompressed 'message' events. Returns
   * false to stop the line after it (the sink drains again later, on a turn of its choosing).
   */
  deliver(event: ProtocolEvent): boolean;
  /** A message started inflating (reading pauses) or finished (delivery resumed, output may go). */
  inflating(active: boolean): void;
}

/** Deliver every event the core has, up to the next compressed message. Re-entrant calls are no-ops. */
export function drainIncoming(sink: IncomingSink): void {
  if (sink.deliveringNow || sink.inflatingNow) return;
  sink.deliveringNow = true;
  try {
    const protocol = sink.protocol;
    for (let event = protocol.nextEvent(); event !== undefined; event = protocol.nextEvent()) {
      if (event.type === 'message' && event.compressed) {
        inflate(sink, event.data, event.binary);
        if (sink.inflatingNow) return;
        continue;
      }
      if (!sink.deliver(event)) return;
    }
  } finally {
    sink.deliveringNow = false;
  }
}

function inflate(sink: IncomingSink, data: Uint8Array, binary: boolean): void {
  const transform = sink.transform;
  if (transform === null) {
    // RSV1 without a transform cannot happen: the core accepts it only when deflate was negotiated.
    sink.protocol.failMessage(new WebSocketError(ErrorCode.InternalError, 'compressed message without permessage-deflate'));
    return;
  }
  sink.inflatingNow = true;
  sink.inflating(true);
  transform.decompress(data, (error, message) => {
    sink.inflatingNow = false;
    if (error !== null || message === undefined) {
      sink.protocol.failMessage(error ?? new WebSocketError(ErrorCode.InvalidCompressedData, 'invalid compressed data'));
    } else if (!binary && sink.validatesUtf8 && !isUtf8Buffer(message)) {
      // "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream
      // is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_" (§8.1)
      sink.protocol.failMessage(new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in text message'));
    } else {
      sink.deliveringNow = true;
      let more: boolean;
      try {
        more = sink.deliver({ type: 'message', binary, data: message, compressed: false });
      } finally {
        sink.deliveringNow = false;
      }
      if (!more) {
        sink.inflating(false);
        return;
      }
    }
    drainIncoming(sink);
    sink.inflating(sink.inflatingNow);
  });
}
