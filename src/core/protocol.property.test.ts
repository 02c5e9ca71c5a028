/**
 * Model-based test of the Protocol state machine: random sequences of sends, received frames
 * (valid and invalid), garbage, EOF and fail() against a small reference model that predicts the
 * state and whether each send is allowed; after every step the bytes written so far must obey
 * the RFC's ordering rules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFrame, concatBytes, decodeChunks, splitAt } from '../../test/helpers/frames.js';
import { State } from './constants.js';
import { Protocol, type ProtocolEvent, SEND_EOF } from './protocol.js';

type Action =
  | { kind: 'sendText'; text: string }
  | { kind: 'sendPing' }
  | { kind: 'sendClose'; code: number }
  | { kind: 'fail'; code: number }
  | { kind: 'recvText'; text: string }
  | { kind: 'recvPing' }
  | { kind: 'recvClose'; code: number }
  | { kind: 'recvInvalid' }
  | { kind: 'recvGarbage'; bytes: Uint8Array }
  | { kind: 'eof' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('sendText' as const), text: fc.string({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('sendPing' as const) }),
  fc.record({ kind: fc.constant('sendClose' as const), code: fc.constantFrom(1000, 1001, 4000) }),
  fc.record({ kind: fc.constant('fail' as const), code: fc.constantFrom(1002, 1008, 1011) }),
  fc.record({ kind: fc.constant('recvText' as const), text: fc.string({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('recvPing' as const) }),
  fc.record({ kind: fc.constant('recvClose' as const), code: fc.constantFrom(1000, 1001, 3000) }),
  fc.record({ kind: fc.constant('recvInvalid' as const) }),
  fc.record({ kind: fc.constant('recvGarbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
  fc.record({ kind: fc.constant('eof' as const) }),
);

interface Model {
  state: State;
  closeSent: boolean;
  /** Input is being discarded: after a received close, a failure or EOF. */
  discarding: boolean;
  /** Garbage makes the decoder's fate unknowable to this model: stop predicting receive effects. */
  unknown: boolean;
}

/** A valid close frame or a protocol error from the peer: (unless input was already being discarded) a close goes out and input stops. */
function peerEndedInput(model: Model): void {
  if (model.discarding || model.state === State.Closed) return;
  model.state = State.Closing;
  model.closeSent = true;
  model.discarding = true;
}

describe('Protocol model-based properties', () => {
  it.each(['server', 'client'] as const)('%s: state, sends and output follow the model and the RFC ordering rules', (role) => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), (actions) => {
        const p = new Protocol({ role, maxPayload: 1000 });
        const model: Model = { state: State.Open, closeSent: false, discarding: false, unknown: false };
        const written: Uint8Array[] = [];
        let eofWritten = false;
        const events: ProtocolEvent[] = [];
        const peer = (frame: Parameters<typeof buildFrame>[0]) =>
          buildFrame(role === 'server' ? { ...frame, mask: [7, 7, 7, 7] } : frame);

        for (const a of actions) {
          const before = p.state;
          switch (a.kind) {
            case 'sendText':
            case 'sendPing': {
              const allowed = !p.closeSent && p.state !== State.Closed;
              if (!model.unknown) expect(allowed).toBe(!model.closeSent && model.state !== State.Closed);
              const send = () => (a.kind === 'sendText' ? p.sendText(a.text) : p.sendPing());
              if (allowed) send();
              else expect(send).toThrow();
              break;
            }
            case 'sendClose': {
              const allowed = p.state === State.Open;
              if (!model.unknown) expect(allowed).toBe(model.state === State.Open);
              if (allowed) {
                p.sendClose(a.code);
                model.state = State.Closing;
                model.closeSent = true;
              } else expect(() => p.sendClose(a.code)).toThrow();
              break;
            }
            case 'fail':
              p.fail(a.code);
              if (model.state !== State.Closed) {
                model.state = State.Closing;
                model.closeSent = true;
                model.discarding = true;
              }
              break;
            case 'recvText':
              p.receiveData(peer({ opcode: 1, payload: a.text }));
              break;
            case 'recvPing':
              p.receiveData(peer({ opcode: 9, payload: 'p' }));
              break;
            case 'recvClose':
              p.receiveData(peer({ opcode: 8, payload: Uint8Array.of(a.code >> 8, a.code & 0xff) }));
              peerEndedInput(model);
              break;
            case 'recvInvalid':
              p.receiveData(peer({ opcode: 4 }));
              peerEndedInput(model);
              break;
            case 'recvGarbage':
              p.receiveData(a.bytes);
              if (!model.discarding && model.state !== State.Closed) model.unknown = true;
              break;
            case 'eof':
              p.receiveEof();
              model.state = State.Closed;
              model.discarding = true;
              break;
          }
          events.push(...p.eventsReceived());
          for (const chunk of p.dataToSend()) {
            expect(eofWritten, 'nothing after SEND_EOF').toBe(false);
            if (chunk === SEND_EOF) eofWritten = true;
            else written.push(chunk);
          }
          // State never goes back.
          expect(p.state).toBeGreaterThanOrEqual(before);
          if (!model.unknown) expect(p.state).toBe(model.state);
        }

        // The whole output is a valid frame stream for the peer, with at most one close, and it is last.
        const decoded = decodeChunks(written, { expectMasked: role === 'client' });
        expect(decoded.error).toBeNull();
        const closes = decoded.frames.filter((f) => f.opcode === 8);
        expect(closes.length).toBeLessThanOrEqual(1);
        if (closes.length === 1) expect(decoded.frames[decoded.frames.length - 1]!.opcode).toBe(8);
        if (p.closeSent !== null) expect(closes).toHaveLength(1);
        // A server that sent EOF had closed or failed; EOF only once (checked above).
        if (eofWritten && p.state !== State.Closed) {
          expect(role).toBe('server');
          expect(closes).toHaveLength(1);
        }
        // 'closed' appears at most once, and last.
        const closedIndex = events.findIndex((e) => e.type === 'closed');
        if (closedIndex !== -1) expect(closedIndex).toBe(events.length - 1);
        expect(p.state === State.Closed).toBe(closedIndex !== -1);
      }),
      { numRuns: 500 },
    );
  });
});

describe('receiving at any split of the byte stream', () => {
  // Messages of up to 3 frames, from empty to larger than one socket read, masked or not by role;
  // the stream cut at random points. Large one-frame messages are unmasked straight into their
  // final buffer once half of them has arrived: the bytes delivered must not depend on where the
  // cuts fall, and a message must never be changed by the bytes that follow it.
  const message = fc.record({
    size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 4000, max: 140_000 })),
    frames: fc.integer({ min: 1, max: 3 }),
    seed: fc.nat(255),
    mask: fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }),
  });
  for (const role of ['server', 'client'] as const) {
    it(`${role}: every message is delivered whole and exact`, () => {
      fc.assert(
        fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (specs, cutFractions) => {
          const expected: Uint8Array[] = [];
          const wire: Uint8Array[] = [];
          for (const spec of specs) {
            const payload = Uint8Array.from({ length: spec.size }, (_, i) => (i * 31 + spec.seed) & 0xff);
            expected.push(payload);
            const step = Math.ceil(spec.size / spec.frames) || 1;
            let offset = 0;
            let first = true;
            do {
              const end = Math.min(spec.size, offset + step);
              wire.push(
                buildFrame({
                  opcode: first ? 2 : 0,
                  fin: end === spec.size,
                  payload: payload.subarray(offset, end),
                  ...(role === 'server' ? { mask: spec.mask } : {}),
                }),
              );
              first = false;
              offset = end;
            } while (offset < spec.size);
          }
          const stream = concatBytes(wire);
          const total = stream.length;
          const p = new Protocol({ role, allocate: (n) => new Uint8Array(n) });
          const received: Uint8Array[] = [];
          for (const chunk of splitAt(stream, cutFractions.map((f) => Math.floor(f * total)))) {
            p.receiveData(chunk);
            for (const event of p.eventsReceived()) if (event.type === 'message') received.push(event.data);
          }
          expect(received.map((m) => m.length)).toEqual(expected.map((m) => m.length));
          received.forEach((m, i) => expect(Buffer.from(m).equals(Buffer.from(expected[i]!))).toBe(true));
        }),
        { numRuns: 150 },
      );
    });
  }
});
