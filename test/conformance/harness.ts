/**
 * Conformance harness at the Protocol level: an echo endpoint (what Autobahn's fuzzing peers
 * talk to) built on a `Protocol` of either role, fed raw frames the way a peer would write them
 * (masked towards a server), optionally chopped into small writes, whose output is decoded as the
 * peer would read it. Assertions speak Autobahn's language: echoed frames, the close code sent,
 * whether TCP was closed.
 */
import { expect } from 'vitest';
import { FrameDecoder, Protocol, type ProtocolEvent, type ProtocolOptions, SEND_EOF } from '../../src/core/index.js';
import { buildFrame, type RawFrame } from '../helpers/frames.js';

/** A frame our endpoint wrote, as the peer decoded it. */
export interface WireFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  payload: Uint8Array;
}

/** The roles under test: a server (Autobahn fuzzingclient) and a client (fuzzingserver). */
export const ROLES = ['server', 'client'] as const;

/** An echo endpoint over a Protocol. */
export class EchoEndpoint {
  readonly protocol: Protocol;
  readonly frames: WireFrame[] = [];
  readonly events: ProtocolEvent[] = [];
  eof = false;
  private current: WireFrame | null = null;
  private parts: Uint8Array[] = [];
  private readonly peerDecoder: FrameDecoder;

  constructor(role: 'server' | 'client', options: Omit<ProtocolOptions, 'role'> = {}) {
    this.protocol = new Protocol({ role, ...options });
    this.peerDecoder = new FrameDecoder(
      {
        frameStart: (opcode, fin, rsv) => {
          this.current = { opcode, fin, rsv, payload: new Uint8Array(0) };
          this.parts = [];
        },
        framePayload: (piece) => this.parts.push(piece.slice()),
        frameEnd: () => {
          const total = this.parts.reduce((n, p) => n + p.length, 0);
          const payload = new Uint8Array(total);
          let o = 0;
          for (const p of this.parts) {
            payload.set(p, o);
            o += p.length;
          }
          this.frames.push({ ...this.current!, payload });
        },
        controlFrame: (opcode, payload) => this.frames.push({ opcode, fin: true, rsv: 0, payload: payload.slice() }),
        frameError: (error) => {
          throw new Error(`endpoint wrote an invalid frame: ${error.message}`);
        },
      },
      { expectMasked: role === 'client' },
    );
  }

  /** Bytes the peer writes for `frame` (masked when we are the server). */
  wire(frame: RawFrame): Uint8Array {
    return buildFrame(this.protocol.role === 'server' && !frame.mask ? { ...frame, mask: [0xa1, 0xb2, 0xc3, 0xd4] } : frame);
  }

  /** Peer writes these frames in one write each (`chop` splits every write into pieces of that size). */
  send(frames: RawFrame | RawFrame[], chop = 0): this {
    for (const frame of Array.isArray(frames) ? frames : [frames]) this.write(this.wire(frame), chop);
    return this;
  }

  /** Peer writes raw bytes. */
  write(bytes: Uint8Array, chop = 0): this {
    if (chop <= 0) this.deliver(bytes.slice());
    else for (let i = 0; i < bytes.length; i += chop) this.deliver(bytes.slice(i, i + chop));
    return this;
  }

  /** Peer closes TCP. */
  peerEof(): this {
    this.protocol.receiveEof();
    this.pump();
    return this;
  }

  /** Frames we wrote whose opcode is not close. */
  get dataFrames(): WireFrame[] {
    return this.frames.filter((f) => f.opcode !== 8);
  }

  /** Close frames we wrote. */
  get closeFrames(): WireFrame[] {
    return this.frames.filter((f) => f.opcode === 8);
  }

  private deliver(chunk: Uint8Array): void {
    this.protocol.receiveData(chunk);
    this.pump();
  }

  private pump(): void {
    for (const event of this.protocol.eventsReceived()) {
      this.events.push(event);
      if (event.type === 'message' && this.protocol.state === 1) {
        if (event.binary) this.protocol.sendBinary(event.data);
        else this.protocol.sendText(event.data);
      }
    }
    for (const chunk of this.protocol.dataToSend()) {
      expect(this.eof, 'nothing written after FIN').toBe(false);
      if (chunk === SEND_EOF) this.eof = true;
      else this.peerDecoder.push(chunk.slice());
    }
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const enc = (s: string) => new TextEncoder().encode(s);

/** Close payload bytes. */
export function closePayload(code: number, reason: string | Uint8Array = ''): Uint8Array {
  const r = typeof reason === 'string' ? enc(reason) : reason;
  return Uint8Array.from([code >> 8, code & 0xff, ...r]);
}

/** Code of a close frame we wrote; 1005 for an empty one. */
export function codeOf(frame: WireFrame): number {
  return frame.payload.length >= 2 ? (frame.payload[0]! << 8) | frame.payload[1]! : 1005;
}

/** Assert the data and control frames we wrote, before any close, as [opcode, payload]. */
export function expectFrames(e: EchoEndpoint, expected: [number, string | Uint8Array][]): void {
  expect(e.dataFrames.length, 'number of frames written').toBe(expected.length);
  e.dataFrames.forEach((f, i) => {
    const [opcode, payload] = expected[i]!;
    expect(f.opcode).toBe(opcode);
    if (typeof payload === 'string') expect(text(f.payload)).toBe(payload);
    else expect(Buffer.from(f.payload).equals(payload)).toBe(true);
  });
}

/** Assert the endpoint failed the connection with `code`: one close frame, last, and (server) TCP closed at once. */
export function expectFailed(e: EchoEndpoint, code: number): void {
  expect(e.events.filter((ev) => ev.type === 'error'), 'an error was reported').toHaveLength(1);
  expect(e.closeFrames.map(codeOf)).toEqual([code]);
  expect(e.frames[e.frames.length - 1]!.opcode).toBe(8);
  if (e.protocol.role === 'server') expect(e.eof).toBe(true);
}

/** Assert a clean close handshake answered with `code` (the peer started it). */
export function expectCleanClose(e: EchoEndpoint, code: number): void {
  expect(e.events.filter((ev) => ev.type === 'error')).toHaveLength(0);
  expect(e.closeFrames.map(codeOf)).toEqual([code]);
  if (e.protocol.role === 'server') expect(e.eof).toBe(true);
  else expect(e.protocol.closeExpected()).toBe(true);
}
