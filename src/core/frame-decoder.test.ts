import { describe, expect, it } from 'vitest';
import { buildFrame, decodeChunks, splitAt } from '../../test/helpers/frames.js';
import { Opcode } from './constants.js';
import { ErrorCode } from './errors.js';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const asServer = { expectMasked: true } as const;
const asClient = { expectMasked: false } as const;

describe('RFC 6455 §5.7 examples', () => {
  it('single-frame unmasked text "Hello" (client side)', () => {
    const r = decodeChunks([hex('81 05 48 65 6c 6c 6f')], asClient);
    expect(r.error).toBeNull();
    expect(r.frames).toHaveLength(1);
    expect(r.frames[0]).toMatchObject({ opcode: Opcode.Text, fin: true });
    expect(text(r.frames[0]!.payload)).toBe('Hello');
  });

  it('single-frame masked text "Hello" (server side)', () => {
    const r = decodeChunks([hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')], asServer);
    expect(r.error).toBeNull();
    expect(text(r.frames[0]!.payload)).toBe('Hello');
  });

  it('fragmented unmasked text "Hel" + "lo"', () => {
    const r = decodeChunks([hex('01 03 48 65 6c 80 02 6c 6f')], asClient);
    expect(r.frames.map((f) => [f.opcode, f.fin, text(f.payload)])).toEqual([
      [Opcode.Text, false, 'Hel'],
      [Opcode.Continuation, true, 'lo'],
    ]);
  });

  it('unmasked ping and masked pong "Hello"', () => {
    const ping = decodeChunks([hex('89 05 48 65 6c 6c 6f')], asClient);
    expect(ping.frames[0]).toMatchObject({ opcode: Opcode.Ping });
    expect(text(ping.frames[0]!.payload)).toBe('Hello');
    const pong = decodeChunks([hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58')], asServer);
    expect(pong.frames[0]).toMatchObject({ opcode: Opcode.Pong });
    expect(text(pong.frames[0]!.payload)).toBe('Hello');
  });

  it('256 bytes binary in a single unmasked frame (16-bit length)', () => {
    const payload = new Uint8Array(256).map((_, i) => i);
    const bytes = new Uint8Array(4 + 256);
    bytes.set(hex('82 7e 01 00'));
    bytes.set(payload, 4);
    const r = decodeChunks([bytes], asClient);
    expect(r.frames[0]!.payload).toEqual(payload);
  });

  it('64 KiB binary in a single unmasked frame (64-bit length)', () => {
    const payload = new Uint8Array(65536).map((_, i) => i * 31);
    const bytes = new Uint8Array(10 + 65536);
    bytes.set(hex('82 7f 00 00 00 00 00 01 00 00'));
    bytes.set(payload, 10);
    const r = decodeChunks([bytes], asClient);
    expect(r.frames[0]!.payload).toEqual(payload);
  });
});

describe('streaming', () => {
  it('consumes nothing of a header until it is complete, at every split point', () => {
    const frame = buildFrame({ opcode: Opcode.Binary, payload: new Uint8Array(300).fill(7), mask: [1, 2, 3, 4] });
    for (let cut = 1; cut < 8; cut++) {
      const r = decodeChunks(splitAt(frame, [cut]), asServer);
      expect(r.error).toBeNull();
      expect(r.frames[0]!.payload).toEqual(new Uint8Array(300).fill(7));
    }
  });

  it('streams a payload split over chunks as several pieces without waiting for the whole frame', () => {
    const frame = buildFrame({ opcode: Opcode.Binary, payload: new Uint8Array(1000).fill(1), mask: [9, 9, 9, 9] });
    const r = decodeChunks(splitAt(frame, [100, 500, 900]), asServer);
    expect(r.pieces).toBe(4);
    expect(r.frames[0]!.payload).toEqual(new Uint8Array(1000).fill(1));
  });

  it('decodes one byte at a time', () => {
    const stream = Uint8Array.from([
      ...buildFrame({ opcode: Opcode.Text, payload: 'abc', mask: [1, 2, 3, 4], fin: false }),
      ...buildFrame({ opcode: Opcode.Ping, payload: 'p', mask: [5, 6, 7, 8] }),
      ...buildFrame({ opcode: Opcode.Continuation, payload: '', mask: [1, 1, 1, 1] }),
    ]);
    const r = decodeChunks(Array.from(stream, (b) => Uint8Array.of(b)), asServer);
    expect(r.error).toBeNull();
    expect(r.frames.map((f) => [f.opcode, text(f.payload)])).toEqual([
      [Opcode.Text, 'abc'],
      [Opcode.Ping, 'p'],
      [Opcode.Continuation, ''],
    ]);
  });
});

describe('frame-local rules (§5.2, §5.5, §5.1)', () => {
  const cases: [string, Uint8Array, typeof asServer | typeof asClient, string][] = [
    ['RSV1 without extension', buildFrame({ opcode: Opcode.Text, rsv: 0x40, mask: [1, 2, 3, 4] }), asServer, ErrorCode.UnexpectedRsvBits],
    ['RSV2 without extension', buildFrame({ opcode: Opcode.Text, rsv: 0x20, mask: [1, 2, 3, 4] }), asServer, ErrorCode.UnexpectedRsvBits],
    ['RSV3 without extension', buildFrame({ opcode: Opcode.Text, rsv: 0x10, mask: [1, 2, 3, 4] }), asServer, ErrorCode.UnexpectedRsvBits],
    ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map(
      (op) => [`reserved opcode ${op}`, buildFrame({ opcode: op, mask: [1, 2, 3, 4] }), asServer, ErrorCode.InvalidOpcode] as [string, Uint8Array, typeof asServer, string],
    ),
    ['fragmented ping', buildFrame({ opcode: Opcode.Ping, fin: false, mask: [1, 2, 3, 4] }), asServer, ErrorCode.FragmentedControlFrame],
    ['ping of 126 bytes', buildFrame({ opcode: Opcode.Ping, payload: new Uint8Array(126), mask: [1, 2, 3, 4] }), asServer, ErrorCode.ControlFrameTooLong],
    ['close with RSV1', buildFrame({ opcode: Opcode.Close, rsv: 0x40, mask: [1, 2, 3, 4] }), asServer, ErrorCode.UnexpectedRsvBits],
    ['unmasked client frame', buildFrame({ opcode: Opcode.Text, payload: 'x' }), asServer, ErrorCode.MaskRequired],
    ['masked server frame', buildFrame({ opcode: Opcode.Text, payload: 'x', mask: [1, 2, 3, 4] }), asClient, ErrorCode.MaskForbidden],
    ['64-bit length with MSB set', buildFrame({ opcode: Opcode.Binary, declaredLength: 1n << 63n, lengthBits: 64 }), asClient, ErrorCode.InvalidLength],
    ['64-bit length above 2^53-1', buildFrame({ opcode: Opcode.Binary, declaredLength: 1n << 53n, lengthBits: 64 }), asClient, ErrorCode.InvalidLength],
    ['non-minimal 16-bit length', buildFrame({ opcode: Opcode.Binary, payload: new Uint8Array(5), lengthBits: 16 }), asClient, ErrorCode.InvalidLength],
    ['non-minimal 64-bit length', buildFrame({ opcode: Opcode.Binary, payload: new Uint8Array(200), lengthBits: 64 }), asClient, ErrorCode.InvalidLength],
  ];
  it.each(cases)('rejects %s', (_name, bytes, options, code) => {
    const r = decodeChunks([bytes], options);
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe(code);
    expect(r.error?.closeCode).toBe(1002);
  });

  it.each(cases)('rejects %s as soon as the bytes that break the rule are in, before the masking key', (_name, bytes, options, code) => {
    // A peer that sends a bad first two bytes (or a bad length) and then stalls is failed at once.
    const b1 = bytes[1]!;
    const length7 = b1 & 0x7f;
    const ruleBytes = code === ErrorCode.InvalidLength ? 2 + (length7 === 126 ? 2 : 8) : 2;
    const r = decodeChunks([bytes.slice(0, ruleBytes)], options);
    expect(r.error?.code).toBe(code);
  });

  it('accepts RSV1 on data frames when an extension claims it', () => {
    const r = decodeChunks([buildFrame({ opcode: Opcode.Text, rsv: 0x40, mask: [1, 2, 3, 4], payload: 'z' })], { ...asServer, allowedRsv: 0x40 });
    expect(r.error).toBeNull();
    expect(r.frames[0]!.rsv).toBe(0x40);
  });

  it('rejects a frame above maxFrameSize from its header, before any payload', () => {
    const header = buildFrame({ opcode: Opcode.Binary, declaredLength: 1 << 30, lengthBits: 64 });
    const r = decodeChunks([header], { ...asClient, maxFrameSize: 1 << 20 });
    expect(r.error?.code).toBe(ErrorCode.FrameTooBig);
    expect(r.error?.closeCode).toBe(1009);
  });

  it('ignores everything after an error', () => {
    const bad = buildFrame({ opcode: 3, mask: [1, 2, 3, 4] });
    const good = buildFrame({ opcode: Opcode.Text, payload: 'ok', mask: [1, 2, 3, 4] });
    const r = decodeChunks([Uint8Array.from([...bad, ...good]), good], asServer);
    expect(r.frames).toHaveLength(0);
    expect(r.error?.code).toBe(ErrorCode.InvalidOpcode);
  });
});
