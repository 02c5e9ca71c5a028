import { describe, expect, it } from 'vitest';
import { encodeClosePayload, parseClosePayload } from './close-payload.js';
import { ErrorCode, WebSocketError } from './errors.js';

const payload = (code: number, reason: number[] = []) => Uint8Array.from([code >> 8, code & 0xff, ...reason]);

describe('parseClosePayload (§5.5.1, §7.4)', () => {
  it('reads an empty payload as 1005 without reason', () => {
    expect(parseClosePayload(new Uint8Array(0))).toEqual({ code: 1005, reason: '' });
  });
  it('rejects a 1-byte payload with 1002', () => {
    const r = parseClosePayload(Uint8Array.of(3));
    expect(r).toBeInstanceOf(WebSocketError);
    expect((r as WebSocketError).code).toBe(ErrorCode.InvalidClosePayload);
    expect((r as WebSocketError).closeCode).toBe(1002);
  });
  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])('accepts code %i', (code) => {
    expect(parseClosePayload(payload(code, [0x68, 0x69]))).toEqual({ code, reason: 'hi' });
  });
  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])('rejects code %i with 1002', (code) => {
    const r = parseClosePayload(payload(code));
    expect((r as WebSocketError).code).toBe(ErrorCode.InvalidCloseCode);
    expect((r as WebSocketError).closeCode).toBe(1002);
  });
  it('rejects a reason that is not UTF-8 with 1007', () => {
    const r = parseClosePayload(payload(1000, [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]));
    expect((r as WebSocketError).closeCode).toBe(1007);
  });
  it('accepts a 123-byte reason', () => {
    const r = parseClosePayload(payload(1000, new Array(123).fill(0x2a)));
    expect(r).toEqual({ code: 1000, reason: '*'.repeat(123) });
  });
});

describe('encodeClosePayload', () => {
  it('encodes code and reason', () => {
    expect(Array.from(encodeClosePayload(1000, 'ok'))).toEqual([0x03, 0xe8, 0x6f, 0x6b]);
  });
  it('encodes no code as an empty payload', () => {
    expect(encodeClosePayload()).toHaveLength(0);
    expect(encodeClosePayload(1005)).toHaveLength(0);
  });
  it.each([1005, 1006, 1015, 999, 1004, 2000, 5000, 1000.5])('refuses to send code %s with a reason', (code) => {
    expect(() => encodeClosePayload(code, 'x')).toThrow(WebSocketError);
  });
  it('refuses a reason over 123 bytes, counting UTF-8 bytes', () => {
    expect(() => encodeClosePayload(1000, 'é'.repeat(62))).toThrow(/123/);
    expect(encodeClosePayload(1000, 'é'.repeat(61))).toHaveLength(124);
  });
  it('refuses a reason without a code', () => {
    expect(() => encodeClosePayload(undefined, 'why')).toThrow(/needs a close code/);
  });
});
