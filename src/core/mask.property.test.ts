import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { naiveMask } from '../../test/helpers/frames.js';
import { applyMask, setSimdMasking, unmaskSmallInPlace } from './mask.js';
import { CHUNK, simdAvailable } from './mask-simd.js';

const key = fc.uint8Array({ minLength: 4, maxLength: 4 });
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: 60, maxLength: 2000 }),
  // Across the SIMD kernel's 64 KiB chunks.
  fc.integer({ min: CHUNK - 40, max: 2 * CHUNK + 40 }).map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 131) & 0xff)),
);

describe('applyMask properties', () => {
  it('equals the naive reference at every source offset, target offset and phase', () => {
    fc.assert(
      fc.property(payload, key, fc.nat(3), fc.nat(7), fc.nat(7), (data, k, phase, sourceOffset, targetOffset) => {
        const backing = new Uint8Array(data.length + sourceOffset);
        backing.set(data, sourceOffset);
        const source = backing.subarray(sourceOffset);
        const target = new Uint8Array(data.length + targetOffset);
        applyMask(source, target, targetOffset, k, phase);
        expect(target.subarray(targetOffset)).toEqual(naiveMask(data, k, phase));
      }),
    );
  });

  it('unmaskSmallInPlace equals applyMask for short payloads at every phase', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), key, fc.nat(3), fc.nat(7), (data, k, phase, offset) => {
        const backing = new Uint8Array(data.length + offset);
        backing.set(data, offset);
        const view = backing.subarray(offset);
        unmaskSmallInPlace(view, k[0]! | (k[1]! << 8) | (k[2]! << 16) | (k[3]! << 24), phase);
        expect(view).toEqual(naiveMask(data, k, phase));
      }),
    );
  });

  it('is an involution, in place, at every offset', () => {
    fc.assert(
      fc.property(payload, key, fc.nat(3), fc.nat(7), (data, k, phase, offset) => {
        const backing = new Uint8Array(data.length + offset);
        backing.set(data, offset);
        const view = backing.subarray(offset);
        applyMask(view, view, 0, k, phase);
        applyMask(view, view, 0, k, phase);
        expect(view).toEqual(data);
      }),
    );
  });

  it('masking in chunks with a carried phase equals masking the whole', () => {
    fc.assert(
      fc.property(payload, key, fc.array(fc.nat(2000), { maxLength: 6 }), (data, k, cuts) => {
        const whole = naiveMask(data, k);
        const copy = data.slice();
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        let phase = 0;
        for (const end of [...points, data.length]) {
          const piece = copy.subarray(start, end);
          applyMask(piece, piece, 0, k, phase);
          phase = (phase + piece.length) & 3;
          start = end;
        }
        expect(copy).toEqual(whole);
      }),
    );
  });
});

describe('the SIMD kernel', () => {
  it('is available on Node 20 (WebAssembly SIMD)', () => {
    expect(simdAvailable()).toBe(true);
  });
  it('and the JavaScript path agree on every length from 0 to 600 and across a chunk boundary, at every phase', () => {
    const k = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
    for (const length of [...Array.from({ length: 601 }, (_, i) => i), CHUNK - 1, CHUNK, CHUNK + 3, 3 * CHUNK + 5]) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff);
      for (let phase = 0; phase < 4; phase++) {
        const simd = new Uint8Array(length + 3);
        applyMask(data, simd, 3, k, phase);
        setSimdMasking(false);
        const js = new Uint8Array(length + 3);
        try {
          applyMask(data, js, 3, k, phase);
        } finally {
          setSimdMasking(true);
        }
        expect(Buffer.from(simd).equals(Buffer.from(js))).toBe(true);
        expect(simd.subarray(3)).toEqual(naiveMask(data, k, phase));
      }
    }
  });
});
