import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { naiveMask } from '../../test/helpers/frames.js';
import { applyMask } from './mask.js';

const key = fc.uint8Array({ minLength: 4, maxLength: 4 });
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: 60, maxLength: 2000 }),
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
