/**
 * Incremental frame decoder (RFC 6455 §5.2). Bytes go in as chunks of any size; frames come out
 * through a {@link FrameSink}: data-frame payloads are streamed as zero-copy, already unmasked
 * views of the input (so a large frame is never held twice and text can be validated as it
 * arrives), control-frame payloads (≤ 125 bytes) are delivered whole. The header parse consumes
 * nothing until the whole header is there; only header bytes that straddle chunks are copied.
 * Frame-local rules are enforced here: RSV bits without an extension, reserved opcodes, control
 * frames fragmented or longer than 125 bytes, the mask bit against the role, minimal and 63-bit
 * lengths, and the frame size limit, checked from the header before any payload is accepted.
 * Sequence rules (continuations, message size, UTF-8, close payloads) belong to the protocol.
 * The decoder takes ownership of its input: it unmasks payload bytes in place.
 */
import { isControlOpcode, isKnownOpcode, MAX_CONTROL_PAYLOAD } from './constants.js';
import { ErrorCode, WebSocketError } from './errors.js';
import { applyMask, SMALL_IN_PLACE, unmaskSmallInPlace } from './mask.js';

/** Receives what a {@link FrameDecoder} decodes. Calls come strictly in stream order. */
export interface FrameSink {
  /** A data frame (text, binary or continuation) begins. `rsv` holds the RSV bits as in the first header byte (0x40 = RSV1). */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): void;
  /** Next unmasked piece of the current data frame's payload; never empty. The view stays valid: nothing else writes to it. */
  framePayload(chunk: Uint8Array): void;
  /**
   * Optional. The current data frame's payload spans chunks and `rest` bytes of it are still to
   * come after the piece at hand. Return a buffer of exactly the frame's payload length to have the
   * decoder unmask the rest of the payload, this piece included, straight into it at its offset
   * (saving a copy when the frame is assembled), or null to be asked again at the next piece.
   * Once given, the decoder asks for it at every later piece of the frame: return the same buffer.
   * Pieces passed to `framePayload` are then views of that buffer.
   */
  frameBuffer?(rest: number): Uint8Array | null;
  /** The current data frame is complete. */
  frameEnd(): void;
  /** A complete control frame (close, ping or pong) with its unmasked payload. */
  controlFrame(opcode: number, payload: Uint8Array): void;
  /** The input broke a frame-level rule; the decoder has stopped and ignores further input. */
  frameError(error: WebSocketError): void;
}

/** Settings of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Whether incoming frames must be masked (a server's decoder) or must not be (a client's). */
  readonly expectMasked: boolean;
  /** RSV bits a negotiated extension gives meaning to, as a mask of the first header byte (0x40 = RSV1). Default 0. */
  readonly allowedRsv?: number;
  /** Largest accepted payload of a single frame, in bytes. Default `Number.MAX_SAFE_INTEGER`. */
  readonly maxFrameSize?: number;
}

/** Scratch key for `applyMask`, filled from the decoder's fields before each use (decoding is synchronous). */
const KEY = new Uint8Array(4);

const STATE_HEADER: number = 0;
const STATE_PAYLOAD: number = 1;
/** In a data frame's payload, which goes into the buffer the sink gave (see {@link FrameSink.frameBuffer}). */
const STATE_PAYLOAD_INTO_BUFFER: number = 3;
const STATE_HALTED: number = 2;

/** The sink of a decoder put aside for reuse: it is halted, so none of these is ever called. */
const DETACHED_SINK: FrameSink = {
  frameStart() {},
  framePayload() {},
  frameEnd() {},
  controlFrame() {},
  frameError() {},
};

/** The decoder for one direction of one connection. */
export class FrameDecoder {
  private sink: FrameSink;
  /** The settings, defaults resolved (shared by every decoder given the same complete options). */
  private config: Required<FrameDecoderOptions>;

  private state: number = STATE_HEADER;
  /** Header bytes that arrived at the end of a chunk, before the rest of the header (made on first need). */
  private spill: Uint8Array | null = null;
  private spillLength = 0;

  private opcode = 0;
  private masked = false;
  private remaining = 0;
  /** The current frame's masking key, its four bytes packed in one 32-bit integer (byte 0 lowest). */
  private key = 0;
  private maskPhase = 0;
  /** Payload of the control frame being received (made on the first control frame). */
  private controlPayload: Uint8Array | null = null;
  private controlLength = 0;

  /**
   * @param sink - receives frames and errors
   * @param options - role, negotiated RSV bits, frame size limit
   */
  constructor(sink: FrameSink, options: FrameDecoderOptions) {
    this.sink = sink;
    this.config =
      options.allowedRsv !== undefined && options.maxFrameSize !== undefined
        ? (options as Required<FrameDecoderOptions>)
        : { expectMasked: options.expectMasked, allowedRsv: options.allowedRsv ?? 0, maxFrameSize: options.maxFrameSize ?? Number.MAX_SAFE_INTEGER };
  }

  /**
   * @internal Start over for another stream, as a new decoder would, keeping the buffers already
   * made. Only for a decoder between frames (not {@link FrameDecoder.midFrame}) or halted: the
   * protocol lends one decoder to every connection that is between frames, so an idle connection
   * holds none.
   */
  rebind(sink: FrameSink, options: Required<FrameDecoderOptions>): void {
    this.sink = sink;
    this.config = options;
    this.state = STATE_HEADER;
    this.spillLength = 0;
    this.controlLength = 0;
  }

  /** @internal Let go of the sink (a decoder kept for later reuse must not keep a finished connection alive). */
  detach(): void {
    this.sink = DETACHED_SINK;
    this.state = STATE_HALTED;
  }

  /** Whether a frame has started and not ended: header bytes spilled, or payload still to come. */
  get midFrame(): boolean {
    return this.state === STATE_PAYLOAD || this.state === STATE_PAYLOAD_INTO_BUFFER || (this.state === STATE_HEADER && this.spillLength !== 0);
  }

  /** Stop decoding for good: every later byte is ignored. A sink may call this from any callback. */
  halt(): void {
    this.state = STATE_HALTED;
  }

  /**
   * Decode the next chunk of the byte stream. Never throws on any input: a broken frame is
   * reported once through {@link FrameSink.frameError}. Payload bytes are unmasked in place, or into
   * the buffer the sink gave for the frame ({@link FrameSink.frameBuffer}).
   */
  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let pos = 0;
    while (this.state !== STATE_HALTED) {
      if (this.state === STATE_HEADER) {
        if (this.spillLength === 0) {
          const used = this.parseHeader(chunk, pos, length - pos);
          if (used === 0) {
            if (this.state === STATE_HALTED) return;
            (this.spill ??= new Uint8Array(14)).set(chunk.subarray(pos), 0);
            this.spillLength = length - pos;
            return;
          }
          pos += used;
        } else {
          const spill = this.spill!;
          const before = this.spillLength;
          const take = Math.min(14 - before, length - pos);
          spill.set(chunk.subarray(pos, pos + take), before);
          const used = this.parseHeader(spill, 0, before + take);
          if (used === 0) {
            if (this.state === STATE_HALTED) return;
            this.spillLength = before + take;
            return;
          }
          this.spillLength = 0;
          pos += used - before;
        }
        if (this.state === STATE_HALTED) return;
        if (this.remaining === 0) {
          this.finishFrame();
          continue;
        }
        this.state = STATE_PAYLOAD;
      }
      if (pos >= length) return;
      // STATE_PAYLOAD or STATE_PAYLOAD_INTO_BUFFER
      const take = Math.min(this.remaining, length - pos);
      let piece = chunk.subarray(pos, pos + take);
      pos += take;
      const before = this.remaining;
      this.remaining -= take;
      if (isControlOpcode(this.opcode)) {
        if (this.masked) this.unmaskInto(piece, piece, 0);
        (this.controlPayload ??= new Uint8Array(MAX_CONTROL_PAYLOAD)).set(piece, this.controlLength);
        this.controlLength += take;
      } else {
        // A frame that spans chunks may go into a buffer of the sink's (which hands out the same
        // one for every later piece); a frame whole in this chunk is never asked about.
        const target =
          this.state === STATE_PAYLOAD_INTO_BUFFER || (this.remaining !== 0 && this.sink.frameBuffer !== undefined)
            ? this.sink.frameBuffer!(this.remaining)
            : null;
        if (target !== null) {
          this.state = STATE_PAYLOAD_INTO_BUFFER;
          const offset = target.length - before;
          if (this.masked) this.unmaskInto(piece, target, offset);
          else target.set(piece, offset);
          piece = target.subarray(offset, offset + take);
        } else if (this.masked) {
          this.unmaskInto(piece, piece, 0);
        }
        this.sink.framePayload(piece);
        if (this.state === STATE_HALTED) return;
      }
      if (this.remaining === 0) {
        this.state = STATE_HEADER;
        this.finishFrame();
      }
    }
  }

  /**
   * Unmask a piece of the current frame into `target` at `offset` (the piece itself at 0 for in
   * place) and advance the key phase.
   */
  private unmaskInto(piece: Uint8Array, target: Uint8Array, offset: number): void {
    const key = this.key;
    if (target === piece && piece.length < SMALL_IN_PLACE) {
      unmaskSmallInPlace(piece, key, this.maskPhase);
    } else {
      KEY[0] = key & 0xff;
      KEY[1] = (key >>> 8) & 0xff;
      KEY[2] = (key >>> 16) & 0xff;
      KEY[3] = key >>> 24;
      applyMask(piece, target, offset, KEY, this.maskPhase);
    }
    this.maskPhase = (this.maskPhase + piece.length) & 3;
  }

  private finishFrame(): void {
    if (isControlOpcode(this.opcode)) {
      // Copy out: the control buffer is reused for the next control frame.
      const payload = this.controlLength === 0 ? new Uint8Array(0) : this.controlPayload!.slice(0, this.controlLength);
      this.controlLength = 0;
      this.sink.controlFrame(this.opcode, payload);
    } else {
      this.sink.frameEnd();
    }
  }

  private fail(code: ErrorCode, message: string): number {
    this.state = STATE_HALTED;
    this.sink.frameError(new WebSocketError(code, message));
    return 0;
  }

  /**
   * Parse a header at `bytes[offset..offset+available)`. Returns the header length, or 0 when more
   * bytes are needed or the header broke a rule (then the decoder is halted).
   */
  private parseHeader(bytes: Uint8Array, offset: number, available: number): number {
    if (available < 2) return 0;
    const b0 = bytes[offset]!;
    const b1 = bytes[offset + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const control = isControlOpcode(opcode);

    // The rules of the first two bytes are checked as soon as they arrive, not once the whole
    // header has: a peer that sends a bad opcode and then stalls is failed at once.
    // "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_." (§5.2)
    if (!isKnownOpcode(opcode)) return this.fail(ErrorCode.InvalidOpcode, `invalid opcode ${opcode}`);
    // "If a nonzero value is received and none of the negotiated extensions defines the meaning of
    // such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_." (§5.2)
    // Extensions here define RSV bits for data frames only (RFC 7692 §6.1 forbids them on control frames).
    if ((rsv & (control ? 0x70 : ~this.config.allowedRsv)) !== 0) {
      return this.fail(ErrorCode.UnexpectedRsvBits, 'reserved bits set without a negotiated extension');
    }
    if (control) {
      // "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented." (§5.5)
      if (!fin) return this.fail(ErrorCode.FragmentedControlFrame, 'fragmented control frame');
      if (length7 > MAX_CONTROL_PAYLOAD) return this.fail(ErrorCode.ControlFrameTooLong, 'control frame too long');
    }
    if (masked !== this.config.expectMasked) {
      // "The server MUST close the connection upon receiving a frame that is not masked." /
      // "A client MUST close a connection if it detects a masked frame." (§5.1)
      return this.config.expectMasked
        ? this.fail(ErrorCode.MaskRequired, 'client frame is not masked')
        : this.fail(ErrorCode.MaskForbidden, 'server frame is masked');
    }

    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    if (available < 2 + lengthBytes) return 0;
    let length = length7;
    let p = offset + 2;
    if (length7 === 126) {
      length = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 2;
      // "in all cases, the minimal number of bytes MUST be used to encode the length" (§5.2)
      if (length < 126) return this.fail(ErrorCode.InvalidLength, 'payload length not minimally encoded');
    } else if (length7 === 127) {
      const high = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
      const low = ((bytes[p + 4]! << 24) | (bytes[p + 5]! << 16) | (bytes[p + 6]! << 8) | bytes[p + 7]!) >>> 0;
      p += 8;
      // "the most significant bit MUST be 0" (§5.2); beyond 2^53 - 1 a length cannot be represented exactly.
      if (high > 0x1fffff) return this.fail(ErrorCode.InvalidLength, 'payload length too large');
      length = high * 0x100000000 + low;
      if (length < 65536) return this.fail(ErrorCode.InvalidLength, 'payload length not minimally encoded');
    }
    if (length > this.config.maxFrameSize) return this.fail(ErrorCode.FrameTooBig, 'frame too big');
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (available < headerLength) return 0;

    if (masked) {
      this.key = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
    }
    this.opcode = opcode;
    this.masked = masked;
    this.remaining = length;
    this.maskPhase = 0;
    this.controlLength = 0;
    if (!control) {
      this.sink.frameStart(opcode, fin, rsv, length);
    }
    return headerLength;
  }
}
