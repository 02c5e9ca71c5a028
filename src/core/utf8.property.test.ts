import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUtf8Reference } from '../../test/helpers/frames.js';
import { Utf8Validator } from './utf8.js';

const reference = isUtf8Reference;

/** Bytes biased towards the Autobahn 6.x trouble spots: lead bytes, boundaries, surrogates. */
const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfb, 0xfc, 0xfd, 0xfe, 0xff),
  fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf),
);
const mixed = fc.oneof(
  fc.array(interestingByte, { maxLength: 40 }).map((a) => Uint8Array.from(a)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => new TextEncoder().encode(s)),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.array(interestingByte, { maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 20 }))
    .map(([a, b, c]) => {
      const e = new TextEncoder();
      return Uint8Array.from([...e.encode(a), ...b, ...e.encode(c)]);
    }),
);

describe('Utf8Validator properties', () => {
  it('agrees with TextDecoder(fatal) on the whole input under any split', () => {
    fc.assert(
      fc.property(mixed, fc.array(fc.nat(60), { maxLength: 8 }), (bytes, cuts) => {
        const expected = reference(bytes);
        const v = new Utf8Validator();
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let ok = true;
        let start = 0;
        for (const end of [...points, bytes.length]) {
          ok = v.write(bytes.subarray(start, end)) && ok;
          start = end;
        }
        expect(ok && v.isComplete()).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('fails at the first chunk after which no continuation could make the text valid', () => {
    fc.assert(
      fc.property(mixed, (bytes) => {
        // The longest valid prefix per TextDecoder (allowing a truncated trailing sequence).
        const v = new Utf8Validator();
        for (let i = 0; i < bytes.length; i++) {
          const ok = v.write(bytes.subarray(i, i + 1));
          // a prefix is "not yet invalid" iff some completion exists: check with TextDecoder by
          // trying every plausible completion of up to 3 continuation bytes.
          const prefix = bytes.subarray(0, i + 1);
          const completions = [[], [0x80], [0x80, 0x80], [0x80, 0x80, 0x80], [0x90, 0x80, 0x80], [0xa0, 0x80], [0x8f, 0x80, 0x80]];
          const completable = completions.some((c) => reference(Uint8Array.from([...prefix, ...c])));
          expect(ok).toBe(completable);
          if (!ok) break;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
