/**
 * Reassembles data frames into messages (RFC 6455 §5.4) and enforces the message-level rules:
 * continuation order, `maxPayload` checked from each frame header before its payload is
 * accepted, `maxFragments` (empty fragments count too), and UTF-8 validity of text, checked
 * incrementally as each piece of payload arrives so invalid text fails fast (§8.1). It bounds the
 * memory a message in progress can pin: small payload pieces are coalesced into shared buffers and
 * a piece that is a small view of a larger input buffer is copied out, so buffered memory stays
 * below twice the payload plus one coalescing buffer, whatever the fragmentation. It does not
 * parse bytes, send anything or know about connection state.
 */
import { Opcode } from './constants.js';
import { ErrorCode, WebSocketError } from './errors.js';
import { type Allocate, allocateZeroed } from './frame-encoder.js';
import { Utf8Validator } from './utf8.js';

/** A complete data message. */
export interface Message {
  /** Event discriminator. */
  readonly type: 'message';
  /** False for a text message (opcode 0x1), true for binary (0x2). */
  readonly binary: boolean;
  /** The payload. For text, valid UTF-8 unless `compressed` is set. */
  readonly data: Uint8Array;
  /** True when the first frame had RSV1 set under a negotiated extension: `data` is still compressed and unvalidated. */
  readonly compressed: boolean;
}

/** Limits and helpers of a {@link MessageAssembler}. */
export interface MessageAssemblerOptions {
  /** Largest message payload, in bytes. */
  readonly maxPayload: number;
  /** Most frames one message may have, empty ones included. */
  readonly maxFragments: number;
  /** Allocator for reassembly buffers. */
  readonly allocate?: Allocate;
  /** Whole-buffer UTF-8 check used when a text message arrives in one piece (e.g. `buffer.isUtf8`). */
  readonly isUtf8?: (bytes: Uint8Array) => boolean;
  /** RSV bit (0x40) that marks a message as transformed by a negotiated extension, or 0. */
  readonly messageRsv?: number;
  /** Check that text messages are UTF-8 (RFC 6455 §8.1). Default true; false only for peers known to send valid text. */
  readonly validateUtf8?: boolean;
}

/** Pieces shorter than this are copied into a shared coalescing buffer instead of being kept alone. */
const COALESCE_LIMIT = 4096;

/** Assembles the data frames of one direction of one connection. */
export class MessageAssembler {
  private readonly maxPayload: number;
  private readonly maxFragments: number;
  private readonly allocate: Allocate;
  private readonly isUtf8: ((bytes: Uint8Array) => boolean) | null;
  private readonly messageRsv: number;
  private readonly checkUtf8: boolean;
  /** The incremental validator, made when a text message first needs it (an idle connection holds none). */
  private utf8: Utf8Validator | null = null;

  /** Opcode of the message in progress (Text or Binary), or -1 between messages. */
  private messageOpcode = -1;
  private compressed = false;
  private validateText = false;
  private fragments = 0;
  private size = 0;
  private frameLength = 0;
  private frameFin = false;
  /** Single-piece fast path: the only piece of a one-frame message, kept as is. */
  private single: Uint8Array | null = null;
  private chunks: Uint8Array[] = [];
  private tail: Uint8Array | null = null;
  private tailLength = 0;
  /** Bytes of memory the buffered pieces keep alive (backing buffers of views, coalescing buffers). */
  private retained = 0;
  /** The buffer a one-frame message is unmasked into (see {@link MessageAssembler.frameBuffer}), or null. */
  private direct: Uint8Array | null = null;

  /** @param options - limits and helpers */
  constructor(options: MessageAssemblerOptions) {
    this.maxPayload = options.maxPayload;
    this.maxFragments = options.maxFragments;
    this.allocate = options.allocate ?? allocateZeroed;
    this.isUtf8 = options.isUtf8 ?? null;
    this.messageRsv = options.messageRsv ?? 0;
    this.checkUtf8 = options.validateUtf8 ?? true;
  }

  /** True while a fragmented message has started and not finished. */
  get inMessage(): boolean {
    return this.messageOpcode !== -1;
  }

  /** Bytes of memory currently kept alive by the message in progress. */
  get retainedBytes(): number {
    return this.retained;
  }

  /** A data frame header arrived. Returns an error when the frame may not come now or would exceed a limit. */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): WebSocketError | null {
    if (opcode === Opcode.Continuation) {
      // "a fragmented message consists of a single frame with the FIN bit clear and an opcode other
      // than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0" (§5.4)
      if (this.messageOpcode === -1) {
        return new WebSocketError(ErrorCode.UnexpectedContinuation, 'continuation frame without a message to continue');
      }
      // RFC 7692 §6.1: "An endpoint MUST NOT set the 'Per-Message Compressed' bit of ... non-first fragments of a data message."
      if (rsv !== 0) return new WebSocketError(ErrorCode.UnexpectedRsvBits, 'reserved bits set on a continuation frame');
    } else {
      // "The fragments of one message MUST NOT be interleaved between the fragments of another message" (§5.4)
      if (this.messageOpcode !== -1) {
        return new WebSocketError(ErrorCode.ExpectedContinuation, 'new data frame inside a fragmented message');
      }
      this.messageOpcode = opcode;
      this.compressed = this.messageRsv !== 0 && (rsv & this.messageRsv) !== 0;
      this.validateText = opcode === Opcode.Text && !this.compressed && this.checkUtf8;
      this.fragments = 0;
      this.size = 0;
    }
    if (++this.fragments > this.maxFragments) {
      return new WebSocketError(ErrorCode.TooManyFragments, 'message has too many fragments');
    }
    this.size += length;
    if (this.size > this.maxPayload) {
      return new WebSocketError(ErrorCode.MessageTooBig, 'message too big');
    }
    this.frameLength = length;
    this.frameFin = fin;
    return null;
  }

  /**
   * The buffer to unmask the rest of a one-frame message into (the same one for every piece once
   * made), once at least half of it has arrived (so the buffer never holds more than twice what
   * the peer sent: a header announcing a large frame reserves nothing), or null. What was kept of
   * the frame so far is moved into it.
   *
   * @param rest - payload bytes of the frame still to come after the piece at hand
   */
  frameBuffer(rest: number): Uint8Array | null {
    if (this.direct !== null) return this.direct;
    const length = this.frameLength;
    if (!this.frameFin || this.fragments !== 1 || (length - rest) * 2 < length) return null;
    const direct = this.allocate(length);
    this.moveKeptInto(direct);
    this.direct = direct;
    this.retained = length;
    return direct;
  }

  /** The next unmasked piece of the current frame. Returns an error when text stops being valid UTF-8. */
  framePayload(piece: Uint8Array): WebSocketError | null {
    const whole = this.frameFin && this.fragments === 1 && piece.length === this.frameLength;
    if (this.validateText) {
      const valid = whole && this.isUtf8 !== null ? this.isUtf8(piece) : this.validatePiece(piece);
      if (!valid) return new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in text message');
    }
    if (whole) {
      this.single = piece;
    } else if (this.direct === null) {
      this.keep(piece);
    }
    return null;
  }

  /**
   * The current frame ended. Returns the message when it was the final fragment, null when more
   * fragments are expected, or an error when the text ended in the middle of a character.
   */
  frameEnd(): Message | WebSocketError | null {
    if (!this.frameFin) return null;
    if (this.validateText && this.utf8 !== null && !this.utf8.isComplete()) {
      return new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in text message');
    }
    const message: Message = {
      type: 'message',
      binary: this.messageOpcode === Opcode.Binary,
      data: this.direct ?? this.single ?? this.concat(),
      compressed: this.compressed,
    };
    this.reset();
    return message;
  }

  /** Drop any message in progress. */
  reset(): void {
    this.messageOpcode = -1;
    this.compressed = false;
    this.validateText = false;
    this.fragments = 0;
    this.size = 0;
    this.single = null;
    this.direct = null;
    if (this.chunks.length !== 0) this.chunks = [];
    this.tail = null;
    this.tailLength = 0;
    this.retained = 0;
    this.utf8?.reset();
  }

  /**
   * Validate one piece of a text message that may start or end inside a character. With a fast
   * whole-buffer validator, the piece is split at character boundaries: the incremental validator
   * finishes a character left open by the previous piece, the fast one checks the complete
   * characters, and the incremental one takes the trailing incomplete character (≤ 3 bytes).
   * Validity composes at character boundaries, so the verdict equals validating it all at once.
   */
  private validatePiece(piece: Uint8Array): boolean {
    const fast = this.isUtf8;
    const length = piece.length;
    const utf8 = (this.utf8 ??= new Utf8Validator());
    if (fast === null || length < 64) return utf8.write(piece);
    let start = 0;
    while (!utf8.isComplete() && start < length && start < 3) {
      if (!utf8.write(piece.subarray(start, start + 1))) return false;
      start++;
    }
    if (!utf8.isComplete()) return utf8.write(piece.subarray(start));
    // Back up over at most 3 continuation bytes to the last lead byte; if its sequence is not
    // complete within the piece, it goes to the incremental validator.
    let end = length;
    let back = length - 1;
    while (back > start && length - back < 4 && (piece[back]! & 0xc0) === 0x80) back--;
    const lead = piece[back]!;
    const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (length - back < needed) end = back;
    if (!fast(start === 0 && end === length ? piece : piece.subarray(start, end))) return false;
    return end === length || utf8.write(piece.subarray(end));
  }

  private keep(piece: Uint8Array): void {
    const length = piece.length;
    if (length >= COALESCE_LIMIT) {
      this.flushTail();
      if (length * 2 >= piece.buffer.byteLength) {
        this.chunks.push(piece);
        this.retained += piece.buffer.byteLength;
      } else {
        const copy = this.allocate(length);
        copy.set(piece);
        this.chunks.push(copy);
        this.retained += length;
      }
      return;
    }
    if (this.tail !== null && this.tailLength + length > this.tail.length) this.flushTail();
    if (this.tail === null) {
      this.tail = this.allocate(COALESCE_LIMIT);
      this.tailLength = 0;
      this.retained += COALESCE_LIMIT;
    }
    this.tail.set(piece, this.tailLength);
    this.tailLength += length;
  }

  private flushTail(): void {
    const tail = this.tail;
    if (tail === null) return;
    if (this.tailLength * 2 >= tail.length) {
      this.chunks.push(tail.subarray(0, this.tailLength));
    } else {
      // Mostly empty: keep only what is used.
      const copy = this.allocate(this.tailLength);
      copy.set(tail.subarray(0, this.tailLength));
      this.chunks.push(copy);
      this.retained += this.tailLength - tail.length;
    }
    this.tail = null;
    this.tailLength = 0;
  }

  private concat(): Uint8Array {
    this.flushTail();
    const chunks = this.chunks;
    if (chunks.length === 1) return chunks[0]!;
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    const data = this.allocate(total);
    this.moveKeptInto(data);
    return data;
  }

  /** Copy the pieces kept so far, in order, to the start of `target`, and drop them. */
  private moveKeptInto(target: Uint8Array): void {
    this.flushTail();
    let offset = 0;
    for (const chunk of this.chunks) {
      target.set(chunk, offset);
      offset += chunk.length;
    }
    if (this.chunks.length !== 0) this.chunks = [];
  }
}
