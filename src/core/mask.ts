/**
 * Payload masking (RFC 6455 §5.3): XOR with a 4-byte key, carrying the key phase across
 * chunks so a payload streamed in pieces unmasks exactly like a whole one. Payloads from 512 bytes
 * go through the WebAssembly SIMD kernel (`mask-simd.ts`) where it exists; below that, or without
 * it, as 32-bit words where source and target share an alignment, and small ones with a plain
 * loop. This module reads and writes only the ranges it is given: it never allocates a copy and
 * never touches bytes outside `target[targetOffset .. targetOffset + source.length)`.
 */

import { simdMask } from './mask-simd.js';

/** Below this many bytes a byte loop beats setting up 32-bit views (measured in benchmarks/core.mjs). */
const WORD_LOOP_THRESHOLD = 64;
/** From this many bytes the WebAssembly SIMD kernel beats the 32-bit loop, copies included (measured in benchmarks/core.mjs). */
const SIMD_THRESHOLD = 512;
let simdEnabled = true;

/** Use the SIMD kernel where it is faster (default), or never (for tests of the JavaScript path). */
export function setSimdMasking(enabled: boolean): void {
  simdEnabled = enabled;
}

const scratchBytes = new Uint8Array(4);
const scratchWord = new Uint32Array(scratchBytes.buffer);

/**
 * XOR `source` with the mask key into `target` starting at `targetOffset`.
 *
 * "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of the original
 * data ("original-octet-i") with octet at index i modulo 4 of the masking key" (§5.3). `phase` is
 * the index into the key of the first byte of `source`, so that a payload split at any point can
 * be masked chunk by chunk: pass `(phase + chunk.length) & 3` for the next chunk.
 *
 * `source` and `target` may be the same bytes (unmasking in place). When they are different they
 * must not overlap.
 *
 * @param source - bytes to transform
 * @param target - where the transformed bytes go; must have room for `source.length` bytes at `targetOffset`
 * @param targetOffset - index in `target` of the first transformed byte
 * @param key - the masking key: its first four bytes are used
 * @param phase - index (0–3) into `key` for the first byte of `source`
 */
export function applyMask(
  source: Uint8Array,
  target: Uint8Array,
  targetOffset: number,
  key: Uint8Array,
  phase: number,
): void {
  const length = source.length;
  if (length >= SIMD_THRESHOLD && simdEnabled && simdMask(source, target, targetOffset, key, phase)) return;
  let i = 0;
  if (length >= WORD_LOOP_THRESHOLD) {
    const sourceAddress = source.byteOffset;
    const targetAddress = target.byteOffset + targetOffset;
    if (((sourceAddress - targetAddress) & 3) === 0) {
      while (((sourceAddress + i) & 3) !== 0) {
        target[targetOffset + i] = source[i]! ^ key[(phase + i) & 3]!;
        i++;
      }
      const words = (length - i) >>> 2;
      const p = (phase + i) & 3;
      scratchBytes[0] = key[p]!;
      scratchBytes[1] = key[(p + 1) & 3]!;
      scratchBytes[2] = key[(p + 2) & 3]!;
      scratchBytes[3] = key[(p + 3) & 3]!;
      const keyWord = scratchWord[0]!;
      const sourceWords = new Uint32Array(source.buffer, sourceAddress + i, words);
      const targetWords =
        source.buffer === target.buffer && sourceAddress === targetAddress
          ? sourceWords
          : new Uint32Array(target.buffer, targetAddress + i, words);
      let w = 0;
      for (const end = words - 3; w < end; w += 4) {
        targetWords[w] = sourceWords[w]! ^ keyWord;
        targetWords[w + 1] = sourceWords[w + 1]! ^ keyWord;
        targetWords[w + 2] = sourceWords[w + 2]! ^ keyWord;
        targetWords[w + 3] = sourceWords[w + 3]! ^ keyWord;
      }
      for (; w < words; w++) targetWords[w] = sourceWords[w]! ^ keyWord;
      i += words << 2;
    } else {
      const k0 = key[phase & 3]!;
      const k1 = key[(phase + 1) & 3]!;
      const k2 = key[(phase + 2) & 3]!;
      const k3 = key[(phase + 3) & 3]!;
      const end = length - 3;
      for (; i < end; i += 4) {
        const t = targetOffset + i;
        target[t] = source[i]! ^ k0;
        target[t + 1] = source[i + 1]! ^ k1;
        target[t + 2] = source[i + 2]! ^ k2;
        target[t + 3] = source[i + 3]! ^ k3;
      }
    }
  }
  for (; i < length; i++) target[targetOffset + i] = source[i]! ^ key[(phase + i) & 3]!;
}

/** Below this many bytes {@link unmaskSmallInPlace} is used by the decoder. */
export const SMALL_IN_PLACE = 64;

/**
 * XOR `bytes` in place with a key packed in one 32-bit integer (key byte 0 in the lowest bits),
 * starting at key index `phase`: the same transform as {@link applyMask} (§5.3), without a key
 * array or views. Meant for the short payloads most messages have.
 *
 * @param bytes - the bytes to transform in place
 * @param packedKey - `key[0] | key[1] << 8 | key[2] << 16 | key[3] << 24`
 * @param phase - index (0–3) into the key for the first byte
 */
export function unmaskSmallInPlace(bytes: Uint8Array, packedKey: number, phase: number): void {
  const shift = (phase & 3) * 8;
  const k = shift === 0 ? packedKey : (packedKey >>> shift) | (packedKey << (32 - shift));
  const k0 = k & 0xff;
  const k1 = (k >>> 8) & 0xff;
  const k2 = (k >>> 16) & 0xff;
  const k3 = k >>> 24;
  const length = bytes.length;
  let i = 0;
  for (const end = length - 3; i < end; i += 4) {
    bytes[i] = bytes[i]! ^ k0;
    bytes[i + 1] = bytes[i + 1]! ^ k1;
    bytes[i + 2] = bytes[i + 2]! ^ k2;
    bytes[i + 3] = bytes[i + 3]! ^ k3;
  }
  if (i < length) bytes[i] = bytes[i]! ^ k0;
  if (i + 1 < length) bytes[i + 1] = bytes[i + 1]! ^ k1;
  if (i + 2 < length) bytes[i + 2] = bytes[i + 2]! ^ k2;
}

/** Fills a byte array with cryptographically strong random bytes (e.g. `crypto.randomFillSync`). */
export type RandomFill = (target: Uint8Array) => void;

/** Default random source: the Web Crypto global, present in Node.js ≥ 19 and every browser. */
export const webCryptoRandomFill: RandomFill = (target) => {
  for (let offset = 0; offset < target.length; offset += 65536) {
    globalThis.crypto.getRandomValues(target.subarray(offset, Math.min(target.length, offset + 65536)));
  }
};

/**
 * Hands out masking keys from a pool of random bytes refilled in bulk, so a client pays one
 * CSPRNG call per `poolSize / 4` frames instead of one per frame. "The masking key MUST be
 * derived from a strong source of entropy, and the masking key for a given frame MUST NOT make it
 * simple for a server or a proxy to predict the masking key for a subsequent frame" (§10.3):
 * every key is fresh random bytes and no byte is handed out twice.
 */
export class MaskKeyPool {
  private readonly pool: Uint8Array;
  private readonly fill: RandomFill;
  private offset: number;

  /**
   * @param fill - cryptographically strong random source
   * @param poolSize - bytes per refill; a multiple of 4
   */
  constructor(fill: RandomFill = webCryptoRandomFill, poolSize = 8192) {
    this.pool = new Uint8Array(poolSize - (poolSize & 3) || 4);
    this.fill = fill;
    this.offset = this.pool.length;
  }

  /** Write the next 4-byte key into `target` at `offset`. */
  writeKey(target: Uint8Array, offset: number): void {
    if (this.offset === this.pool.length) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const o = this.offset;
    const pool = this.pool;
    target[offset] = pool[o]!;
    target[offset + 1] = pool[o + 1]!;
    target[offset + 2] = pool[o + 2]!;
    target[offset + 3] = pool[o + 3]!;
    this.offset = o + 4;
  }
}
