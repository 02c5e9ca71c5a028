/**
 * The envelope a published message travels in between processes: a version byte, flags (binary,
 * compress), the origin process's id, a per-origin-and-channel sequence number and the payload.
 * Receivers ignore their own envelopes (they delivered locally already) and count sequence gaps
 * per origin and channel (a gap is a message lost between processes, e.g. during a backplane
 * outage). Binary, length-checked decoding: a malformed envelope decodes to null, never throws.
 * No I/O.
 */

/** A decoded envelope. */
export interface Envelope {
  /** The publishing process. */
  readonly origin: string;
  /** 1, 2, 3... per origin and channel. */
  readonly sequence: number;
  readonly binary: boolean;
  /** Whether the publisher asked for compression (permessage-deflate, where negotiated). */
  readonly compress: boolean;
  readonly payload: Uint8Array;
}

const VERSION = 1;
const BINARY = 1;
const COMPRESS = 2;
const latin1 = new TextDecoder('latin1');

/**
 * Encode an envelope. `origin` must be at most 255 ASCII characters.
 */
export function encodeEnvelope(origin: string, sequence: number, binary: boolean, compress: boolean, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + origin.length + 8 + payload.length);
  out[0] = VERSION;
  out[1] = (binary ? BINARY : 0) | (compress ? COMPRESS : 0);
  out[2] = origin.length;
  for (let i = 0; i < origin.length; i++) out[3 + i] = origin.charCodeAt(i) & 0x7f;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const at = 3 + origin.length;
  view.setUint32(at, Math.floor(sequence / 0x100000000));
  view.setUint32(at + 4, sequence >>> 0);
  out.set(payload, at + 8);
  return out;
}

/** Decode an envelope; null when it is not one (wrong version, truncated). The payload is a view of `bytes`. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | null {
  if (bytes.length < 11 || bytes[0] !== VERSION) return null;
  const originLength = bytes[2]!;
  const at = 3 + originLength;
  if (bytes.length < at + 8) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = view.getUint32(at) * 0x100000000 + view.getUint32(at + 4);
  return {
    origin: latin1.decode(bytes.subarray(3, at)),
    sequence,
    binary: (bytes[1]! & BINARY) !== 0,
    compress: (bytes[1]! & COMPRESS) !== 0,
    payload: bytes.subarray(at + 8),
  };
}

/** Channels a publisher keeps counters for; past it, the table starts over in a new generation. */
const MAX_COUNTED_CHANNELS = 65_536;

/**
 * Sequence numbers of one publisher process, per channel. The table is bounded: a publisher
 * that writes to more channels than {@link MAX_COUNTED_CHANNELS} (one topic per user, say)
 * starts over, and bumps its `generation`, which the envelope's origin carries, so receivers see
 * a new origin rather than a restart or a loss.
 */
export class SequenceCounter {
  private readonly next = new Map<string, number>();
  /** Bumped each time the table starts over. */
  generation = 0;

  /** The sequence number of the next message on `channel` (1 for the first). */
  take(channel: string): number {
    const last = this.next.get(channel);
    if (last === undefined && this.next.size >= MAX_COUNTED_CHANNELS) {
      this.next.clear();
      this.generation++;
    }
    const n = (last ?? 0) + 1;
    this.next.set(channel, n);
    return n;
  }
}

/**
 * What a receiving process saw of each origin on each channel: the last sequence number, so a
 * jump (messages the backplane lost) is counted as a gap. State exists only for channels the
 * process is subscribed to.
 */
export class GapDetector {
  private readonly last = new Map<string, Map<string, number>>();
  /** Messages missing between consecutive ones seen, since the start. */
  gaps = 0;
  /** Messages seen with a sequence number not above the last one (duplicates or reordering). */
  stale = 0;

  /** Account an envelope; returns false for a stale one (which should not be delivered again). */
  observe(channel: string, origin: string, sequence: number): boolean {
    let origins = this.last.get(channel);
    if (origins === undefined) this.last.set(channel, (origins = new Map()));
    const last = origins.get(origin);
    if (last !== undefined) {
      if (sequence <= last) {
        this.stale++;
        return false;
      }
      this.gaps += sequence - last - 1;
    }
    origins.set(origin, sequence);
    return true;
  }

  /** Forget a channel (the process unsubscribed from it). */
  forget(channel: string): void {
    this.last.delete(channel);
  }
}
