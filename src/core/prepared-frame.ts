/**
 * Prepared frames, for fan-out: a message encoded once as a complete, unmasked frame (the server
 * role: "A server MUST NOT mask any frames that it sends to the client", RFC 6455 §5.1) whose
 * bytes are then written, unchanged, to every connection that should get it. Small messages are
 * one contiguous buffer (one write per connection); large ones keep the payload by reference
 * behind a header, so the payload is never copied. A prepared frame is immutable: every
 * connection shares the same bytes. This module only encodes; the protocol decides whether a
 * connection may take one now.
 */
import { Opcode } from './constants.js';
import { FrameEncoder } from './frame-encoder.js';

/** A complete final frame, ready to be written to any number of server-side connections. */
export interface PreparedFrame {
  /** The frame's bytes: one buffer, or a header and the payload. Never modified. */
  readonly chunks: readonly Uint8Array[];
  /** Total bytes of `chunks`. */
  readonly byteLength: number;
  /** The payload's length (before compression, when `rsv` marks it compressed). */
  readonly messageLength: number;
  /** RSV bits of the frame (0x40: compressed with permessage-deflate). */
  readonly rsv: number;
}

/** Payloads up to this many bytes are joined with their header into one buffer. */
const JOIN_LIMIT = 16 * 1024;

const serverEncoder = new FrameEncoder(null);

/**
 * Encode a whole message as one final, unmasked frame.
 *
 * @param payload - the frame's payload (compressed already when `rsv` says so); kept by reference when large
 * @param binary - binary (opcode 2) or text (opcode 1)
 * @param rsv - RSV bits, 0x40 for a permessage-deflate compressed payload
 * @param messageLength - the message's length before compression (default: the payload's)
 */
export function prepareFrame(payload: Uint8Array, binary: boolean, rsv = 0, messageLength = payload.length): PreparedFrame {
  const chunks: Uint8Array[] = [];
  serverEncoder.encode(binary ? Opcode.Binary : Opcode.Text, payload, true, rsv, chunks);
  const header = chunks[0]!;
  const byteLength = header.length + payload.length;
  if (chunks.length === 2 && payload.length <= JOIN_LIMIT) {
    const whole = new Uint8Array(byteLength);
    whole.set(header, 0);
    whole.set(payload, header.length);
    return { chunks: [whole], byteLength, messageLength, rsv };
  }
  return { chunks, byteLength, messageLength, rsv };
}
