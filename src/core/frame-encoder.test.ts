import { describe, expect, it } from 'vitest';
import { concatBytes, decodeChunks } from '../../test/helpers/frames.js';
import { Opcode } from './constants.js';
import { FrameEncoder } from './frame-encoder.js';
import { MaskKeyPool } from './mask.js';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)));
const fixedKey = (key: number[]) =>
  new MaskKeyPool((target) => {
    for (let i = 0; i < target.length; i++) target[i] = key[i % 4]!;
  }, 4);

function encode(encoder: FrameEncoder, opcode: number, payload: Uint8Array, fin = true, rsv = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  encoder.encode(opcode, payload, fin, rsv, out);
  return out;
}

describe('FrameEncoder: RFC 6455 §5.7 examples', () => {
  const hello = new TextEncoder().encode('Hello');
  it('unmasked text "Hello"', () => {
    expect(concatBytes(encode(new FrameEncoder(null), Opcode.Text, hello))).toEqual(hex('81 05 48 65 6c 6c 6f'));
  });
  it('masked text "Hello" with key 37 fa 21 3d', () => {
    const enc = new FrameEncoder(fixedKey([0x37, 0xfa, 0x21, 0x3d]));
    expect(concatBytes(encode(enc, Opcode.Text, hello))).toEqual(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
  });
  it('fragments "Hel" / "lo"', () => {
    const enc = new FrameEncoder(null);
    const a = encode(enc, Opcode.Text, hello.subarray(0, 3), false);
    const b = encode(enc, Opcode.Continuation, hello.subarray(3), true);
    expect(concatBytes([...a, ...b])).toEqual(hex('01 03 48 65 6c 80 02 6c 6f'));
  });
  it('unmasked ping and masked pong', () => {
    expect(concatBytes(encode(new FrameEncoder(null), Opcode.Ping, hello))).toEqual(hex('89 05 48 65 6c 6c 6f'));
    const enc = new FrameEncoder(fixedKey([0x37, 0xfa, 0x21, 0x3d]));
    expect(concatBytes(encode(enc, Opcode.Pong, hello))).toEqual(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
  });
  it('256 bytes and 64 KiB binary headers', () => {
    expect(Array.from(encode(new FrameEncoder(null), Opcode.Binary, new Uint8Array(256))[0]!.subarray(0, 4))).toEqual([0x82, 0x7e, 0x01, 0x00]);
    expect(Array.from(encode(new FrameEncoder(null), Opcode.Binary, new Uint8Array(65536))[0]!)).toEqual([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
  });
});

describe('FrameEncoder behaviour', () => {
  it('passes a large unmasked payload through without copying', () => {
    const payload = new Uint8Array(5000);
    const out = encode(new FrameEncoder(null), Opcode.Binary, payload);
    expect(out).toHaveLength(2);
    expect(out[1]).toBe(payload);
  });

  it('never modifies the caller payload when masking, at any source alignment', () => {
    for (let offset = 0; offset < 4; offset++) {
      const backing = new Uint8Array(70000 + offset).fill(0x42);
      const payload = backing.subarray(offset);
      const out = encode(new FrameEncoder(new MaskKeyPool()), Opcode.Binary, payload);
      expect(out).toHaveLength(1);
      expect(backing.every((b) => b === 0x42)).toBe(true);
      const decoded = decodeChunks(out, { expectMasked: true });
      expect(decoded.frames[0]!.payload).toEqual(payload);
    }
  });

  it('sets RSV bits and FIN as asked', () => {
    const out = encode(new FrameEncoder(null), Opcode.Text, new Uint8Array(1), false, 0x40);
    expect(out[0]![0]).toBe(0x41);
  });
});

describe('FrameEncoder: small frames appended to the slab', () => {
  const owner = () => {
    const runs: Uint8Array[] = [];
    return { runs, slabRunClosed: (run: Uint8Array) => runs.push(run) };
  };
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

  it('consecutive frames of one owner become one run with the same bytes as encode()', () => {
    const enc = new FrameEncoder(null);
    const a = owner();
    const payloads = [bytes(0, 1), bytes(5, 2), bytes(125, 3), bytes(126, 4), bytes(1024, 5)];
    const expected: Uint8Array[] = [];
    for (const p of payloads) {
      enc.appendSmall(a, Opcode.Binary, p, true, 0);
      expected.push(...encode(new FrameEncoder(null), Opcode.Binary, p));
    }
    expect(a.runs).toHaveLength(0);
    enc.closeRun();
    expect(a.runs).toHaveLength(1);
    expect(a.runs[0]).toEqual(concatBytes(expected));
    expect(decodeChunks(a.runs, { expectMasked: false }).frames.map((f) => f.payload.length)).toEqual([0, 5, 125, 126, 1024]);
  });

  it("another owner's append closes the open run first, so neither owner's output is mixed", () => {
    const enc = new FrameEncoder(null);
    const a = owner();
    const b = owner();
    enc.appendSmall(a, Opcode.Text, bytes(3, 1), true, 0);
    enc.appendSmall(b, Opcode.Text, bytes(4, 2), false, 0x40);
    expect(a.runs.map((r) => r.length)).toEqual([5]);
    enc.appendSmall(a, Opcode.Continuation, bytes(6, 3), true, 0);
    expect(b.runs.map((r) => [...r.subarray(0, 2)])).toEqual([[0x41, 4]]);
    enc.closeRun();
    expect(a.runs.map((r) => r.length)).toEqual([5, 8]);
    expect(a.runs[1]![0]).toBe(0x80);
  });

  it('a full slab closes the run and starts a new slab; handed-out runs are never written again', () => {
    const enc = new FrameEncoder(null);
    const a = owner();
    const payload = bytes(1000, 9);
    for (let i = 0; i < 40; i++) enc.appendSmall(a, Opcode.Binary, payload, true, 0);
    enc.closeRun();
    const total = a.runs.reduce((n, r) => n + r.length, 0);
    expect(total).toBe(40 * 1004);
    expect(a.runs.length).toBeGreaterThan(1);
    const snapshot = a.runs.map((r) => Uint8Array.from(r));
    for (let i = 0; i < 40; i++) enc.appendSmall(a, Opcode.Text, bytes(900, 1), true, 0);
    expect(a.runs.slice(0, snapshot.length)).toEqual(snapshot);
    expect(decodeChunks(snapshot, { expectMasked: false }).frames.length).toBe(40);
  });

  it('is offered for unmasked encoders only', () => {
    expect(new FrameEncoder(null).appendsSmall).toBe(true);
    expect(new FrameEncoder(fixedKey([1, 2, 3, 4])).appendsSmall).toBe(false);
  });
});
