import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFrame, concatBytes, decodeChunks, splitAt } from '../../test/helpers/frames.js';
import { Opcode } from './constants.js';
import { FrameEncoder } from './frame-encoder.js';
import { MaskKeyPool } from './mask.js';

/** Payload lengths biased to the encoding boundaries. */
const length = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 124, 125, 126, 127, 65535, 65536, 65537) },
  { weight: 2, arbitrary: fc.nat(300) },
  { weight: 1, arbitrary: fc.integer({ min: 65536, max: 200_000 }) },
);
const payloadOf = (n: number) => fc.nat(255).map((seed) => new Uint8Array(n).map((_, i) => (i * 131 + seed) & 0xff));
const dataFrame = fc.record({
  opcode: fc.constantFrom(Opcode.Text, Opcode.Binary, Opcode.Continuation),
  fin: fc.boolean(),
  rsv: fc.constantFrom(0, 0x40),
  payload: length.chain(payloadOf),
});
const controlFrame = fc.record({
  opcode: fc.constantFrom(Opcode.Ping, Opcode.Pong, Opcode.Close),
  fin: fc.constant(true),
  rsv: fc.constant(0),
  payload: fc.nat(125).chain(payloadOf),
});
const anyFrame = fc.oneof(dataFrame, controlFrame);

function encodeAll(frames: readonly { opcode: number; fin: boolean; rsv: number; payload: Uint8Array }[], masked: boolean): Uint8Array {
  const encoder = new FrameEncoder(masked ? new MaskKeyPool() : null);
  const out: Uint8Array[] = [];
  for (const f of frames) encoder.encode(f.opcode, f.payload, f.fin, f.rsv, out);
  return concatBytes(out);
}

describe('frame codec properties', () => {
  it('decode(encode(frame)) = frame for both roles', () => {
    fc.assert(
      fc.property(anyFrame, fc.boolean(), (frame, masked) => {
        const bytes = encodeAll([frame], masked);
        const r = decodeChunks([bytes], { expectMasked: masked, allowedRsv: 0x40 });
        expect(r.error).toBeNull();
        expect(r.frames).toHaveLength(1);
        const got = r.frames[0]!;
        expect([got.opcode, got.fin, got.rsv]).toEqual([frame.opcode, frame.fin, frame.rsv]);
        expect(Buffer.from(got.payload).equals(frame.payload)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the encoder agrees byte for byte with the independent reference builder (unmasked)', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        const ours = encodeAll([frame], false);
        const reference = buildFrame({ opcode: frame.opcode, fin: frame.fin, rsv: frame.rsv, payload: frame.payload });
        expect(Buffer.from(ours).equals(reference)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('any split of a frame stream into chunks gives the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(anyFrame, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (frames, masked, rawCuts) => {
          const bytes = encodeAll(frames, masked);
          const options = { expectMasked: masked, allowedRsv: 0x40 };
          const whole = decodeChunks([bytes], options);
          const split = decodeChunks(splitAt(bytes, rawCuts.map((c) => c % (bytes.length + 1))), options);
          expect(split.error).toBeNull();
          expect(split.frames.length).toBe(whole.frames.length);
          split.frames.forEach((f, i) => {
            const w = whole.frames[i]!;
            expect([f.opcode, f.fin, f.rsv]).toEqual([w.opcode, w.fin, w.rsv]);
            expect(Buffer.from(f.payload).equals(w.payload)).toBe(true);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('any split of arbitrary bytes gives the same frames and the same error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (bytes, masked, rawCuts) => {
        const options = { expectMasked: masked, maxFrameSize: 1000 };
        const whole = decodeChunks([bytes], options);
        const split = decodeChunks(splitAt(bytes, rawCuts.map((c) => c % (bytes.length + 1))), options);
        expect(split.error?.code).toBe(whole.error?.code);
        expect(split.frames.map((f) => [f.opcode, Array.from(f.payload)])).toEqual(whole.frames.map((f) => [f.opcode, Array.from(f.payload)]));
      }),
      { numRuns: 1000 },
    );
  });
});
