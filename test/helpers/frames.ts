/**
 * Test helpers for raw frames: a reference frame builder written independently of the library's
 * encoder (so tests do not check the encoder against itself), a naive masking reference, and a
 * collecting sink that turns a decoder's callbacks into plain frame records.
 */
import { FrameDecoder, type FrameDecoderOptions, type WebSocketError } from '../../src/core/index.js';

/** A frame as tests describe it. */
export interface RawFrame {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array | string;
  /** 4-byte masking key; omit for an unmasked frame. */
  mask?: Uint8Array | readonly number[];
  /** Force a length encoding: 7, 16 or 64 bits (may be non-minimal on purpose). */
  lengthBits?: 7 | 16 | 64;
  /** Override the declared payload length (to lie about it). */
  declaredLength?: bigint | number;
}

const encoder = new TextEncoder();

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Whether `bytes` is valid UTF-8, by the platform's fatal TextDecoder: the reference verdict. */
export function isUtf8Reference(bytes: Uint8Array): boolean {
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** XOR masking, byte by byte: the obviously-correct reference. */
export function naiveMask(data: Uint8Array, key: ArrayLike<number>, phase = 0): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[(phase + i) % 4]!;
  return out;
}

/** Build the bytes of one frame exactly as described (no validation). */
export function buildFrame(frame: RawFrame): Uint8Array {
  const payload = typeof frame.payload === 'string' ? encoder.encode(frame.payload) : (frame.payload ?? new Uint8Array(0));
  const declared = BigInt(frame.declaredLength ?? payload.length);
  const bits = frame.lengthBits ?? (declared < 126n ? 7 : declared < 65536n ? 16 : 64);
  const head: number[] = [((frame.fin ?? true) ? 0x80 : 0) | (frame.rsv ?? 0) | frame.opcode];
  const maskBit = frame.mask ? 0x80 : 0;
  if (bits === 7) head.push(maskBit | Number(declared));
  else if (bits === 16) head.push(maskBit | 126, Number(declared >> 8n) & 0xff, Number(declared) & 0xff);
  else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((declared >> shift) & 0xffn));
  }
  let body = payload;
  if (frame.mask) {
    head.push(...Array.from(frame.mask));
    body = naiveMask(payload, frame.mask);
  }
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Concatenate byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Split `bytes` at the given offsets (sorted, deduplicated, within range). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    parts.push(bytes.slice(start, p));
    start = p;
  }
  parts.push(bytes.slice(start));
  return parts;
}

/** A decoded frame record. Data frame payload pieces are joined. */
export interface DecodedFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  payload: Uint8Array;
}

/** What a decoder produced from a byte stream. */
export interface DecodeResult {
  frames: DecodedFrame[];
  error: WebSocketError | null;
  /** Number of framePayload calls (to check streaming). */
  pieces: number;
}

/** Decode a stream given as chunks with a fresh decoder; chunks are copied first (the decoder unmasks in place). */
export function decodeChunks(chunks: readonly Uint8Array[], options: FrameDecoderOptions): DecodeResult {
  const result: DecodeResult = { frames: [], error: null, pieces: 0 };
  let current: { opcode: number; fin: boolean; rsv: number; parts: Uint8Array[] } | null = null;
  const decoder = new FrameDecoder(
    {
      frameStart(opcode, fin, rsv) {
        current = { opcode, fin, rsv, parts: [] };
      },
      framePayload(piece) {
        result.pieces++;
        current!.parts.push(piece.slice());
      },
      frameEnd() {
        const c = current!;
        result.frames.push({ opcode: c.opcode, fin: c.fin, rsv: c.rsv, payload: concatBytes(c.parts) });
        current = null;
      },
      controlFrame(opcode, payload) {
        result.frames.push({ opcode, fin: true, rsv: 0, payload: payload.slice() });
      },
      frameError(error) {
        result.error = error;
      },
    },
    options,
  );
  for (const chunk of chunks) decoder.push(chunk.slice());
  return result;
}
