import { describe, expect, it } from 'vitest';
import { naiveMask } from '../../test/helpers/frames.js';
import { applyMask, MaskKeyPool } from './mask.js';

describe('applyMask', () => {
  it('masks the RFC 6455 §5.7 "Hello" example', () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const hello = new TextEncoder().encode('Hello');
    const out = new Uint8Array(5);
    applyMask(hello, out, 0, key, 0);
    expect(Array.from(out)).toEqual([0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  });

  it('unmasks in place', () => {
    const key = Uint8Array.of(1, 2, 3, 4);
    const data = new Uint8Array(1000).map((_, i) => i & 0xff);
    const expected = naiveMask(data, key);
    applyMask(data, data, 0, key, 0);
    expect(data).toEqual(expected);
  });

  it('writes only the target range and leaves the source alone when copying', () => {
    const key = Uint8Array.of(9, 8, 7, 6);
    const source = new Uint8Array(300).fill(0x55);
    const target = new Uint8Array(310).fill(0xee);
    applyMask(source, target, 5, key, 2);
    expect(source.every((b) => b === 0x55)).toBe(true);
    expect(Array.from(target.subarray(0, 5))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
    expect(Array.from(target.subarray(305))).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
    expect(target.subarray(5, 305)).toEqual(naiveMask(source, key, 2));
  });

  it('handles misaligned source and target (byte-loop path)', () => {
    const key = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    const backing = new Uint8Array(1030).map((_, i) => (i * 7) & 0xff);
    const source = backing.subarray(1, 1025);
    const target = new Uint8Array(1030);
    applyMask(source, target, 2, key, 1);
    expect(target.subarray(2, 1026)).toEqual(naiveMask(source, key, 1));
  });
});

describe('MaskKeyPool', () => {
  it('hands out consecutive bytes of the random source, refilling when empty', () => {
    let calls = 0;
    const pool = new MaskKeyPool((target) => {
      calls++;
      for (let i = 0; i < target.length; i++) target[i] = (i + calls * 16) & 0xff;
    }, 8);
    const keys: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const key = new Uint8Array(4);
      pool.writeKey(key, 0);
      keys.push(Array.from(key));
    }
    expect(calls).toBe(2);
    expect(keys).toEqual([
      [16, 17, 18, 19],
      [20, 21, 22, 23],
      [32, 33, 34, 35],
    ]);
  });

  it('uses Web Crypto by default and produces varying keys', () => {
    const pool = new MaskKeyPool();
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const key = new Uint8Array(4);
      pool.writeKey(key, 0);
      seen.add(key.join(','));
    }
    expect(seen.size).toBeGreaterThan(60);
  });
});
