/**
 * Domain helpers for testing a `Protocol`: make one per role, feed it frames as a peer would
 * send them (masked when the peer is a client), read back what it wrote as decoded frames, and
 * assert the outcomes the RFC talks about ("frame sent", "connection failing with code N").
 */
import { expect } from 'vitest';
import { type OutgoingChunk, Protocol, type ProtocolEvent, type ProtocolOptions, SEND_EOF } from '../../src/core/index.js';
import { buildFrame, type DecodedFrame, decodeChunks, type RawFrame } from './frames.js';

/** A server-role protocol with test-friendly defaults. */
export function serverProtocol(options: Omit<ProtocolOptions, 'role'> = {}): Protocol {
  return new Protocol({ role: 'server', ...options });
}

/** A client-role protocol with test-friendly defaults. */
export function clientProtocol(options: Omit<ProtocolOptions, 'role'> = {}): Protocol {
  return new Protocol({ role: 'client', ...options });
}

/** Bytes a peer of `p` would send for `frame`: masked (random key) when `p` is a server. */
export function peerFrame(p: Protocol, frame: RawFrame): Uint8Array {
  if (p.role === 'server' && frame.mask === undefined) {
    return buildFrame({ ...frame, mask: [0x12, 0x34, 0x56, 0x78] });
  }
  return buildFrame(frame);
}

/** What `p` wrote since the last call: decoded frames, and whether it half-closed. */
export interface Sent {
  frames: DecodedFrame[];
  eof: boolean;
  /** Whether anything came after SEND_EOF (must never happen). */
  afterEof: boolean;
  raw: OutgoingChunk[];
}

/** Drain and decode `p.dataToSend()` as `p`'s peer would. */
export function sent(p: Protocol): Sent {
  const raw = p.dataToSend();
  const bytes: Uint8Array[] = [];
  let eof = false;
  let afterEof = false;
  for (const chunk of raw) {
    if (chunk === SEND_EOF) {
      eof = true;
    } else {
      if (eof) afterEof = true;
      bytes.push(chunk);
    }
  }
  const decoded = decodeChunks(bytes, { expectMasked: p.role === 'client', allowedRsv: 0x70 });
  if (decoded.error) throw decoded.error;
  return { frames: decoded.frames, eof, afterEof, raw };
}

/** Close code carried by a decoded close frame, or 1005 for an empty one. */
export function closeCodeOfFrame(frame: DecodedFrame): number {
  return frame.payload.length >= 2 ? (frame.payload[0]! << 8) | frame.payload[1]! : 1005;
}

/** Assert `p` reported a protocol error and is failing the connection with `code`. */
export function assertConnectionFailing(p: Protocol, code: number, events: ProtocolEvent[] = p.eventsReceived()): void {
  const errors = events.filter((e) => e.type === 'error');
  expect(errors, 'an error event').toHaveLength(1);
  const error = errors[0]!;
  if (error.type === 'error') expect(error.error.closeCode).toBe(code);
  const out = sent(p);
  const closes = out.frames.filter((f) => f.opcode === 0x8);
  expect(closes, 'one close frame sent').toHaveLength(1);
  expect(closeCodeOfFrame(closes[0]!)).toBe(code);
  expect(out.frames[out.frames.length - 1]!.opcode, 'close is the last frame').toBe(0x8);
  expect(p.state).toBe(2);
  if (p.role === 'server') expect(out.eof, 'server closes TCP at once').toBe(true);
}

/** Assert `p` sent exactly these frames (opcode and text payload) since the last drain. */
export function assertFramesSent(p: Protocol, expected: [opcode: number, payload: string][]): Sent {
  const out = sent(p);
  expect(out.frames.map((f) => [f.opcode, new TextDecoder().decode(f.payload)])).toEqual(expected);
  return out;
}

/** Messages among events, as [binary, text] pairs. */
export function messages(events: ProtocolEvent[]): [boolean, string][] {
  return events.flatMap((e) => (e.type === 'message' ? [[e.binary, new TextDecoder().decode(e.data)] as [boolean, string]] : []));
}
