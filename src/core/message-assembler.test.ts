import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUtf8Reference } from '../../test/helpers/frames.js';
import { Opcode } from './constants.js';
import { ErrorCode, WebSocketError } from './errors.js';
import { type Message, MessageAssembler } from './message-assembler.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function feed(a: MessageAssembler, opcode: number, fin: boolean, payload: Uint8Array, rsv = 0): Message | WebSocketError | null {
  const start = a.frameStart(opcode, fin, rsv, payload.length);
  if (start) return start;
  if (payload.length) {
    const e = a.framePayload(payload);
    if (e) return e;
  }
  return a.frameEnd();
}

describe('MessageAssembler sequencing (§5.4)', () => {
  it('joins fragments', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10 });
    expect(feed(a, Opcode.Text, false, bytes('Hel'))).toBeNull();
    expect(a.inMessage).toBe(true);
    const m = feed(a, Opcode.Continuation, true, bytes('lo')) as Message;
    expect(new TextDecoder().decode(m.data)).toBe('Hello');
    expect(m.binary).toBe(false);
    expect(a.inMessage).toBe(false);
  });
  it('rejects a continuation without a message', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10 });
    expect((a.frameStart(Opcode.Continuation, true, 0, 1) as WebSocketError).code).toBe(ErrorCode.UnexpectedContinuation);
  });
  it('rejects a new data frame inside a fragmented message', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10 });
    feed(a, Opcode.Binary, false, bytes('a'));
    expect((a.frameStart(Opcode.Text, true, 0, 1) as WebSocketError).code).toBe(ErrorCode.ExpectedContinuation);
  });
  it('rejects RSV on a continuation frame', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10, messageRsv: 0x40 });
    feed(a, Opcode.Binary, false, bytes('a'), 0x40);
    expect((a.frameStart(Opcode.Continuation, true, 0x40, 1) as WebSocketError).code).toBe(ErrorCode.UnexpectedRsvBits);
  });
  it('marks a message compressed when its first frame has the extension bit and skips UTF-8 checks', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10, messageRsv: 0x40 });
    const m = feed(a, Opcode.Text, true, Uint8Array.of(0xff), 0x40) as Message;
    expect(m.compressed).toBe(true);
  });
});

describe('MessageAssembler limits', () => {
  it('rejects a message over maxPayload from the frame header, before payload', () => {
    const a = new MessageAssembler({ maxPayload: 10, maxFragments: 10 });
    expect(feed(a, Opcode.Binary, false, new Uint8Array(6))).toBeNull();
    const e = a.frameStart(Opcode.Continuation, true, 0, 5) as WebSocketError;
    expect(e.code).toBe(ErrorCode.MessageTooBig);
    expect(e.closeCode).toBe(1009);
  });
  it('counts empty fragments against maxFragments', () => {
    const a = new MessageAssembler({ maxPayload: 10, maxFragments: 3 });
    expect(feed(a, Opcode.Binary, false, new Uint8Array(0))).toBeNull();
    expect(feed(a, Opcode.Continuation, false, new Uint8Array(0))).toBeNull();
    expect(feed(a, Opcode.Continuation, false, new Uint8Array(0))).toBeNull();
    const e = a.frameStart(Opcode.Continuation, false, 0, 0) as WebSocketError;
    expect(e.code).toBe(ErrorCode.TooManyFragments);
    expect(e.closeCode).toBe(1009);
  });
  it('fails invalid UTF-8 in the piece that contains it, before the frame ends', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10 });
    a.frameStart(Opcode.Text, true, 0, 8);
    expect(a.framePayload(bytes('abc'))).toBeNull();
    expect((a.framePayload(Uint8Array.of(0xed, 0xa0)) as WebSocketError).closeCode).toBe(1007);
  });
  it('fails text that ends inside a character with 1007', () => {
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10 });
    expect((feed(a, Opcode.Text, true, Uint8Array.of(0x61, 0xe2, 0x82)) as WebSocketError).closeCode).toBe(1007);
  });
  it('uses the whole-buffer validator for a text message in one piece', () => {
    let calls = 0;
    const a = new MessageAssembler({ maxPayload: 100, maxFragments: 10, isUtf8: () => (calls++, true) });
    feed(a, Opcode.Text, true, bytes('abc'));
    expect(calls).toBe(1);
  });

  it('keeps pinned memory under 2 × payload + 4 KiB for any fragmentation and any input buffer sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.oneof(fc.nat(8), fc.nat(5000)), backing: fc.nat(70000) }), { minLength: 1, maxLength: 200 }),
        (pieces) => {
          const a = new MessageAssembler({ maxPayload: 1 << 30, maxFragments: 1000 });
          a.frameStart(Opcode.Binary, false, 0, 0);
          a.frameEnd();
          let payload = 0;
          let expected = 0;
          for (const { size, backing } of pieces) {
            const buffer = new Uint8Array(Math.max(size, backing));
            buffer.fill(expected & 0xff, 0, size);
            a.frameStart(Opcode.Continuation, false, 0, size);
            if (size) a.framePayload(buffer.subarray(0, size));
            a.frameEnd();
            payload += size;
            expected++;
            expect(a.retainedBytes).toBeLessThanOrEqual(2 * payload + 4096);
          }
          a.frameStart(Opcode.Continuation, true, 0, 0);
          const m = a.frameEnd() as Message;
          expect(m.data.length).toBe(payload);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('MessageAssembler UTF-8 with a whole-buffer validator', () => {
  const reference = isUtf8Reference;
  const text = fc.oneof(
    fc.string({ unit: 'binary', minLength: 60, maxLength: 400 }).map((s) => new TextEncoder().encode(s)),
    fc
      .tuple(fc.string({ unit: 'binary', minLength: 40, maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 200 }))
      .map(([a, bad, b]) => Uint8Array.from([...new TextEncoder().encode(a), ...bad, ...new TextEncoder().encode(b)])),
  );
  it('gives the TextDecoder verdict for a frame split into pieces at any points', () => {
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 6 }), (bytes, rawCuts) => {
        const a = new MessageAssembler({ maxPayload: 1 << 20, maxFragments: 10, isUtf8: reference });
        const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
        let verdict = a.frameStart(Opcode.Text, true, 0, bytes.length) === null;
        let start = 0;
        for (const end of [...cuts, bytes.length]) {
          if (verdict && end > start) verdict = a.framePayload(bytes.subarray(start, end)) === null;
          start = end;
        }
        if (verdict) verdict = !(a.frameEnd() instanceof WebSocketError);
        expect(verdict).toBe(reference(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
