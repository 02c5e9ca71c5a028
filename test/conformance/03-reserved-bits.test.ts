// Autobahn 3.x — reserved bits without a negotiated extension fail with 1002 (§5.2).
import { describe, it } from 'vitest';
import { EchoEndpoint, expectFailed, expectFrames, ROLES } from './harness.js';

describe.each(ROLES)('3 reserved bits (%s)', (role) => {
  it('3.1 text with RSV = 1 → 1002', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 1, rsv: 0x40, payload: 'Hello, world!' }), 1002);
  });
  it('3.2 text, text with RSV = 2, ping → echo of the first only, then 1002 and no pong', () => {
    const e = new EchoEndpoint(role).send([
      { opcode: 1, payload: 'Hello, world!' },
      { opcode: 1, rsv: 0x20, payload: 'Hello, world!' },
      { opcode: 9 },
    ]);
    expectFrames(e, [[1, 'Hello, world!']]);
    expectFailed(e, 1002);
  });
  it('3.3 same, written in one write (RSV = 3)', () => {
    const e = new EchoEndpoint(role);
    const bytes = [e.wire({ opcode: 1, payload: 'Hello, world!' }), e.wire({ opcode: 1, rsv: 0x60, payload: 'Hello, world!' }), e.wire({ opcode: 9 })];
    e.write(Uint8Array.from(bytes.flatMap((b) => Array.from(b))));
    expectFrames(e, [[1, 'Hello, world!']]);
    expectFailed(e, 1002);
  });
  it('3.4 same, written byte by byte (RSV = 4)', () => {
    const e = new EchoEndpoint(role).send({ opcode: 1, payload: 'Hello, world!' }, 1).send({ opcode: 1, rsv: 0x10, payload: 'Hello, world!' }, 1).send({ opcode: 9 }, 1);
    expectFrames(e, [[1, 'Hello, world!']]);
    expectFailed(e, 1002);
  });
  it('3.5 binary with RSV = 5 → 1002', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 2, rsv: 0x50, payload: Uint8Array.of(0, 0xff, 0xfe) }), 1002);
  });
  it('3.6 ping with RSV = 6 → 1002 and no pong', () => {
    const e = new EchoEndpoint(role).send({ opcode: 9, rsv: 0x60, payload: 'Hello' });
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it('3.7 close with RSV = 7 → 1002', () => {
    expectFailed(new EchoEndpoint(role).send({ opcode: 8, rsv: 0x70 }), 1002);
  });
});
