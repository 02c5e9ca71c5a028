import { describe, expect, it } from 'vitest';
import { isValidUtf8, Utf8Validator } from './utf8.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('UTF-8 validation (RFC 3629; Autobahn 6.x classes)', () => {
  it.each([
    ['empty', bytes()],
    ['ASCII', new TextEncoder().encode('Hello-µ@ßöäüàá-UTF-8!!')],
    ['κόσμε', bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5)],
    ['U+0080', bytes(0xc2, 0x80)],
    ['U+07FF', bytes(0xdf, 0xbf)],
    ['U+0800', bytes(0xe0, 0xa0, 0x80)],
    ['U+D7FF', bytes(0xed, 0x9f, 0xbf)],
    ['U+E000', bytes(0xee, 0x80, 0x80)],
    ['U+FFFD', bytes(0xef, 0xbf, 0xbd)],
    ['U+FFFF', bytes(0xef, 0xbf, 0xbf)],
    ['U+10000', bytes(0xf0, 0x90, 0x80, 0x80)],
    ['U+10FFFF', bytes(0xf4, 0x8f, 0xbf, 0xbf)],
  ])('accepts %s', (_name, input) => {
    expect(isValidUtf8(input)).toBe(true);
  });

  it.each([
    ['lone continuation', bytes(0x80)],
    ['overlong 2-byte /', bytes(0xc0, 0xaf)],
    ['overlong 2-byte C1', bytes(0xc1, 0xbf)],
    ['overlong 3-byte', bytes(0xe0, 0x80, 0xaf)],
    ['overlong 4-byte', bytes(0xf0, 0x80, 0x80, 0xaf)],
    ['surrogate U+D800', bytes(0xed, 0xa0, 0x80)],
    ['surrogate U+DFFF', bytes(0xed, 0xbf, 0xbf)],
    ['above U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80)],
    ['F5 lead', bytes(0xf5, 0x80, 0x80, 0x80)],
    ['5-byte form', bytes(0xf8, 0x88, 0x80, 0x80, 0x80)],
    ['6-byte form', bytes(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)],
    ['FE', bytes(0xfe)],
    ['FF', bytes(0xff)],
    ['truncated 2-byte', bytes(0xc2)],
    ['truncated 3-byte', bytes(0xe1, 0x80)],
    ['truncated 4-byte', bytes(0xf0, 0x90, 0x80)],
    ['Autobahn 6.3.1 (valid then ED A0 80)', bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64)],
  ])('rejects %s', (_name, input) => {
    expect(isValidUtf8(input)).toBe(false);
  });

  it('fails fast: the chunk with the first impossible byte is rejected before the text ends', () => {
    const v = new Utf8Validator();
    expect(v.write(bytes(0xce, 0xba, 0xe1, 0xbd))).toBe(true);
    expect(v.isComplete()).toBe(false);
    expect(v.write(bytes(0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4))).toBe(true);
    expect(v.write(bytes(0x90))).toBe(false);
    // stays failed
    expect(v.write(bytes(0x41))).toBe(false);
    v.reset();
    expect(v.write(bytes(0x41))).toBe(true);
    expect(v.isComplete()).toBe(true);
  });

  it('validates a sequence split at every position', () => {
    const text = new TextEncoder().encode('a€😀ß');
    for (let cut = 0; cut <= text.length; cut++) {
      const v = new Utf8Validator();
      expect(v.write(text.subarray(0, cut))).toBe(true);
      expect(v.write(text.subarray(cut))).toBe(true);
      expect(v.isComplete()).toBe(true);
    }
  });
});
