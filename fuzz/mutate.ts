/**
 * Deterministic input generation for the fuzz runner: a seeded xorshift PRNG and a mutator that
 * flips bits, overwrites bytes with boundary values (length markers 126/127, opcode and mask
 * bits), inserts, deletes, duplicates and splices ranges of corpus inputs, and draws random chunk
 * boundaries. Same seed, same inputs, so any failure can be replayed.
 */

/** A small, fast, seedable PRNG (xorshift32). */
export class Rng {
  private state: number;
  /** @param seed - any integer; 0 is replaced by a fixed non-zero value */
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** Next 32-bit unsigned integer. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x;
  }
  /** Integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING = [0x00, 0x01, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8a, 0xc1, 0xed, 0xf4, 0xff, 0x03, 0xe8];

/** Apply 1–6 random mutations to `input` (which is not modified), splicing from `corpus`. */
export function mutate(input: Uint8Array, corpus: readonly Uint8Array[], rng: Rng, maxLength = 8192): Uint8Array {
  let bytes = Array.from(input);
  const rounds = 1 + rng.below(6);
  for (let r = 0; r < rounds; r++) {
    const at = rng.below(bytes.length + 1);
    switch (rng.below(8)) {
      case 0:
        if (bytes.length) bytes[rng.below(bytes.length)]! ^= 1 << rng.below(8);
        break;
      case 1:
        if (bytes.length) bytes[rng.below(bytes.length)] = INTERESTING[rng.below(INTERESTING.length)]!;
        break;
      case 2:
        bytes.splice(at, 0, ...Array.from({ length: 1 + rng.below(8) }, () => rng.below(256)));
        break;
      case 3:
        bytes.splice(at, 1 + rng.below(16));
        break;
      case 4: {
        const len = 1 + rng.below(32);
        bytes.splice(at, 0, ...bytes.slice(at, at + len));
        break;
      }
      case 5: {
        const other = corpus[rng.below(corpus.length)];
        if (other && other.length) {
          const from = rng.below(other.length);
          bytes.splice(at, 0, ...Array.from(other.subarray(from, from + 1 + rng.below(64))));
        }
        break;
      }
      case 6: {
        const other = corpus[rng.below(corpus.length)];
        if (other) bytes = bytes.slice(0, at).concat(Array.from(other));
        break;
      }
      default:
        bytes = bytes.concat(bytes.slice(0, rng.below(bytes.length + 1)));
    }
    if (bytes.length > maxLength) bytes.length = maxLength;
  }
  return Uint8Array.from(bytes);
}

/** Random chunk boundaries: none, a few, or many (down to one byte at a time). */
export function randomCuts(length: number, rng: Rng): number[] {
  const mode = rng.below(4);
  if (mode === 0) return [];
  if (mode === 3 && length < 300) return Array.from({ length }, (_, i) => i);
  return Array.from({ length: 1 + rng.below(12) }, () => rng.below(length + 1));
}
