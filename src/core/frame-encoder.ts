/**
 * Frame encoder (RFC 6455 §5.2). Turns one frame into output chunks: an unmasked frame is a
 * header chunk followed by the caller's payload untouched (no copy; the I/O layer coalesces small
 * chunks when it writes), and a masked frame (client) is one fresh buffer whose layout keeps a
 * large payload word-aligned with its source so masking runs on 32-bit words. Small unmasked
 * frames can instead be appended to a slab the encoder owns: consecutive frames of one owner
 * become one contiguous run, handed to the owner as a single chunk when it closes (no header
 * buffer and no chunk per frame; a run's bytes are never written again once handed out). The
 * caller's payload is never modified. This module does no validation of frame sequences: the
 * protocol decides what may be sent.
 */
import { type MaskKeyPool, applyMask } from './mask.js';

/** Allocates a byte array of the given size; its contents may be uninitialised (e.g. `Buffer.allocUnsafe`). */
export type Allocate = (size: number) => Uint8Array;

/** Where encoded chunks are appended: an array of chunks (possibly holding other markers too). */
export interface ChunkSink {
  push(...chunks: Uint8Array[]): number;
}

/** Default allocator: a zero-filled `Uint8Array`. */
export const allocateZeroed: Allocate = (size) => new Uint8Array(size);

/** Scratch masking key (encoding is synchronous, so one per module is enough). */
const KEY = new Uint8Array(4);

/** Below this size a masked payload is masked with an inline byte loop (no alignment padding). */
const SMALL_MASKED = 64;

/** Size of a slab of small unmasked frames (a stalled writer keeps at most the slab its output sits in). */
const SLAB_SIZE = 16 * 1024;

/** @internal Largest payload {@link FrameEncoder.appendSmall} copies into the slab. */
export const SLAB_PAYLOAD_LIMIT = 1024;

/** @internal Whoever appends small frames: it receives its run of frames as one chunk when the run closes. */
export interface SlabRunOwner {
  /** The owner's open run ended (another owner appended, the slab filled, or the owner asked): append it to the output. */
  slabRunClosed(run: Uint8Array): void;
}

/** Encodes frames for one endpoint: masked with fresh keys for a client, unmasked for a server. */
export class FrameEncoder {
  private readonly maskKeys: MaskKeyPool | null;
  private readonly allocate: Allocate;
  /** @internal The slab small unmasked frames are appended to (made on the first one). */
  private slab: Uint8Array | null = null;
  /** @internal */
  private slabUsed = 0;
  /** @internal Where the open run starts in the slab. */
  private runStart = 0;
  /** @internal The owner of the run that ends at the slab's fill mark, or null when no run is open. */
  openRunOwner: SlabRunOwner | null = null;

  /**
   * @param maskKeys - key source for a client ("a client MUST mask all frames that it sends to the server", §5.1); null for a server
   * @param allocate - buffer allocator for headers and copies
   */
  constructor(maskKeys: MaskKeyPool | null, allocate: Allocate = allocateZeroed) {
    this.maskKeys = maskKeys;
    this.allocate = allocate;
  }

  /** @internal Whether {@link FrameEncoder.appendSmall} may be used: unmasked frames only (a server's). */
  get appendsSmall(): boolean {
    return this.maskKeys === null;
  }

  /**
   * @internal Append one small unmasked frame (payload at most {@link SLAB_PAYLOAD_LIMIT} bytes) to `owner`'s
   * open run in the slab: its header and a copy of its payload. The owner must close its run
   * ({@link FrameEncoder.closeRun}) before it queues any other chunk, so its output stays in order;
   * another owner's append closes it too.
   */
  appendSmall(owner: SlabRunOwner, opcode: number, payload: Uint8Array, fin: boolean, rsv: number): void {
    const length = payload.length;
    const size = (length < 126 ? 2 : 4) + length;
    let slab = this.slab;
    if (slab === null || this.slabUsed + size > slab.length) {
      this.closeRun();
      slab = this.slab = this.allocate(SLAB_SIZE);
      this.slabUsed = 0;
    } else if (this.openRunOwner !== owner) {
      this.closeRun();
    }
    let p = this.slabUsed;
    if (this.openRunOwner === null) {
      this.openRunOwner = owner;
      this.runStart = p;
    }
    p = writeHeader(slab, p, (fin ? 0x80 : 0) | rsv | opcode, 0, length);
    if (length <= 64) for (let i = 0; i < length; i++) slab[p + i] = payload[i]!;
    else slab.set(payload, p);
    this.slabUsed = p + length;
  }

  /** @internal Hand the open run (if any) to its owner. */
  closeRun(): void {
    const owner = this.openRunOwner;
    if (owner === null) return;
    this.openRunOwner = null;
    owner.slabRunClosed(this.slab!.subarray(this.runStart, this.slabUsed));
  }

  /**
   * Encode one frame as a single buffer (the payload is copied). Meant for control frames, which
   * are small and sometimes must be replaceable as one unit.
   */
  encodeWhole(opcode: number, payload: Uint8Array): Uint8Array {
    const chunks: Uint8Array[] = [];
    this.encode(opcode, payload, true, 0, chunks);
    if (chunks.length === 1) return chunks[0]!;
    const header = chunks[0]!;
    const whole = this.allocate(header.length + payload.length);
    whole.set(header, 0);
    whole.set(payload, header.length);
    return whole;
  }

  /**
   * Encode one frame and append its chunks to `out`.
   *
   * @param opcode - frame opcode (not validated here)
   * @param payload - frame payload; kept by reference when large and unmasked, never modified
   * @param fin - whether this is the final fragment of its message
   * @param rsv - RSV bits as in the first header byte (0x40 = RSV1)
   * @param out - receives one or two chunks that together are the frame
   */
  encode(opcode: number, payload: Uint8Array, fin: boolean, rsv: number, out: ChunkSink): void {
    const length = payload.length;
    const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
    const maskKeys = this.maskKeys;
    const headerLength = 2 + lengthBytes + (maskKeys === null ? 0 : 4);

    let frame: Uint8Array;
    if (maskKeys === null) {
      frame = this.allocate(headerLength);
    } else if (length < SMALL_MASKED) {
      frame = this.allocate(headerLength + length);
    } else {
      // Start the frame inside a slightly larger buffer so that payload and source share their
      // address modulo 4: masking then runs on 32-bit words.
      const buffer = this.allocate(headerLength + length + 3);
      const start = (payload.byteOffset - headerLength - buffer.byteOffset) & 3;
      frame = buffer.subarray(start, start + headerLength + length);
    }

    writeHeader(frame, 0, (fin ? 0x80 : 0) | rsv | opcode, maskKeys === null ? 0 : 0x80, length);

    if (maskKeys === null) {
      if (length === 0) out.push(frame);
      else out.push(frame, payload);
      return;
    }
    const keyOffset = 2 + lengthBytes;
    maskKeys.writeKey(frame, keyOffset);
    if (length < SMALL_MASKED) {
      const k0 = frame[keyOffset]!;
      const k1 = frame[keyOffset + 1]!;
      const k2 = frame[keyOffset + 2]!;
      const k3 = frame[keyOffset + 3]!;
      for (let i = 0; i < length; i++) {
        const k = (i & 3) === 0 ? k0 : (i & 3) === 1 ? k1 : (i & 3) === 2 ? k2 : k3;
        frame[headerLength + i] = payload[i]! ^ k;
      }
    } else {
      const key = KEY;
      key[0] = frame[keyOffset]!;
      key[1] = frame[keyOffset + 1]!;
      key[2] = frame[keyOffset + 2]!;
      key[3] = frame[keyOffset + 3]!;
      applyMask(payload, frame, headerLength, key, 0);
    }
    out.push(frame);
  }
}

/**
 * Write a frame header's first byte and its payload length at `at` (the minimal length encoding
 * §5.2 requires: 7, 16 or 64 bits). Returns the index after the length; a masking key, if any,
 * goes there.
 *
 * @param first - FIN, RSV bits and opcode, as in the first header byte
 * @param maskBit - 0x80 for a masked frame, 0 otherwise
 */
function writeHeader(frame: Uint8Array, at: number, first: number, maskBit: number, length: number): number {
  frame[at] = first;
  if (length < 126) {
    frame[at + 1] = maskBit | length;
    return at + 2;
  }
  if (length < 65536) {
    frame[at + 1] = maskBit | 126;
    frame[at + 2] = length >>> 8;
    frame[at + 3] = length & 0xff;
    return at + 4;
  }
  frame[at + 1] = maskBit | 127;
  const high = Math.floor(length / 0x100000000);
  frame[at + 2] = high >>> 24;
  frame[at + 3] = (high >>> 16) & 0xff;
  frame[at + 4] = (high >>> 8) & 0xff;
  frame[at + 5] = high & 0xff;
  frame[at + 6] = length >>> 24;
  frame[at + 7] = (length >>> 16) & 0xff;
  frame[at + 8] = (length >>> 8) & 0xff;
  frame[at + 9] = length & 0xff;
  return at + 10;
}
