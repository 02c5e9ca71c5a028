// Autobahn 7.x — the closing handshake (§5.5.1, §7): echo of the code, no frames after close,
// close payload rules (length, code ranges, UTF-8 reason), TCP closed by the server.
import { describe, expect, it } from 'vitest';
import { closePayload, codeOf, EchoEndpoint, expectCleanClose, expectFailed, expectFrames, ROLES } from './harness.js';

const close1000 = { opcode: 8, payload: closePayload(1000) };

describe.each(ROLES)('7 close handling (%s)', (role) => {
  it('7.1.1 text echo, then clean close', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, payload: 'Hello World!' }, close1000]);
    expectFrames(e, [[1, 'Hello World!']]);
    expectCleanClose(e, 1000);
  });
  it('7.1.1 text and close arriving in one read → echo, then the close reply', () => {
    const e = new EchoEndpoint(role);
    e.write(Uint8Array.from([...e.wire({ opcode: 1, payload: 'Hello World!' }), ...e.wire(close1000)]));
    expectFrames(e, [[1, 'Hello World!']]);
    expect(e.frames.at(-1)?.opcode).toBe(8);
    expectCleanClose(e, 1000);
  });
  it('7.1.2 a second close frame is ignored', () => {
    const e = new EchoEndpoint(role).send([close1000, close1000]);
    expectCleanClose(e, 1000);
  });
  it('7.1.3 a ping after close gets no pong', () => {
    const e = new EchoEndpoint(role).send([close1000, { opcode: 9, payload: 'ping' }]);
    expectFrames(e, []);
    expectCleanClose(e, 1000);
  });
  it('7.1.4 a text after close gets no echo', () => {
    const e = new EchoEndpoint(role).send([close1000, { opcode: 1, payload: 'Hello World!' }]);
    expectFrames(e, []);
    expectCleanClose(e, 1000);
  });
  it('7.1.5 the rest of a fragmented message after close is ignored', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false, payload: 'fragment1' }, close1000, { opcode: 0, payload: 'fragment2' }]);
    expectFrames(e, []);
    expectCleanClose(e, 1000);
  });
  it('7.1.6 (informational) a 256 KiB message, a close and a ping in one write → clean close, no pong', () => {
    const e = new EchoEndpoint(role);
    const big = 'BAsd7&jh23'.repeat(26214);
    const parts = [e.wire({ opcode: 1, payload: big }), e.wire(close1000), e.wire({ opcode: 9, payload: 'Hello World!' })];
    e.write(Uint8Array.from(parts.flatMap((p) => Array.from(p))));
    // Autobahn leaves the echo implementation-defined; ours goes out, because the close reply waits
    // for the replies to what came before it in the same read.
    expect(e.events.map((ev) => ev.type)).toEqual(['message', 'close']);
    expectFrames(e, [[1, big]]);
    expectCleanClose(e, 1000);
  });
  it('7.3.1 empty close payload → empty close reply', () => {
    const e = new EchoEndpoint(role).send({ opcode: 8 });
    expect(e.closeFrames.map((f) => f.payload.length)).toEqual([0]);
    expect(e.events.filter((ev) => ev.type === 'error')).toHaveLength(0);
  });
  it('7.3.2 close payload of 1 byte → 1002', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 8, payload: Uint8Array.of(0x03) }), 1002);
  });
  it('7.3.3 close with code only → echoed', () => {
    expectCleanClose(new EchoEndpoint(role).send(close1000), 1000);
  });
  it('7.3.4 close with code and reason → code echoed', () => {
    expectCleanClose(new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(1000, 'Hello World!') }), 1000);
  });
  it('7.3.5 close with a 123-byte reason → code echoed', () => {
    expectCleanClose(new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(1000, '*'.repeat(123)) }), 1000);
  });
  it('7.3.6 close with a 124-byte reason (126-byte control frame) → 1002', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(1000, '*'.repeat(124)) }), 1002);
  });
  it('7.5.1 close reason that is not UTF-8 → 1007', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(1000, Uint8Array.of(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64)) }), 1007);
  });
  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])('7.7.x valid close code %i is echoed', (code) => {
    const e = new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(code) });
    expectCleanClose(e, code);
    expect(e.events.find((ev) => ev.type === 'close')).toMatchObject({ code });
  });
  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])('7.9.x / 7.13.x invalid close code %i → 1002', (code) => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 8, payload: closePayload(code) }), 1002);
  });
  it('closes TCP after the handshake: the server at once, the client when the server has', () => {
    const e = new EchoEndpoint(role).send(close1000);
    if (role === 'server') {
      expect(e.eof).toBe(true);
    } else {
      expect(e.eof).toBe(false);
      e.peerEof();
      expect(e.eof).toBe(true);
    }
    expect(e.events.at(-1)?.type === 'closed' || role === 'server').toBe(true);
    expect(codeOf(e.closeFrames[0]!)).toBe(1000);
  });
});
