// Autobahn 2.x — pings and pongs (§5.5.2, §5.5.3).
import { describe, it } from 'vitest';
import { closePayload, EchoEndpoint, expectCleanClose, expectFailed, expectFrames, ROLES } from './harness.js';

const close = { opcode: 8, payload: closePayload(1000) };

describe.each(ROLES)('2 ping/pong (%s)', (role) => {
  it('2.1 ping without payload → pong without payload', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 9 }, close]);
    expectFrames(e, [[10, '']]);
    expectCleanClose(e, 1000);
  });
  it('2.2 ping with a text payload → pong with it', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 9, payload: 'Hello, world!' }, close]);
    expectFrames(e, [[10, 'Hello, world!']]);
  });
  it('2.3 ping with a binary payload → pong with it', () => {
    const payload = Uint8Array.of(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff);
    const e = new EchoEndpoint(role).send([{ opcode: 9, payload }, close]);
    expectFrames(e, [[10, payload]]);
  });
  it('2.4 ping with 125 bytes → pong with them', () => {
    const payload = new Uint8Array(125).fill(0xfe);
    const e = new EchoEndpoint(role).send([{ opcode: 9, payload }, close]);
    expectFrames(e, [[10, payload]]);
  });
  it('2.5 ping with 126 bytes → fail with 1002', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 9, payload: new Uint8Array(126).fill(0xfe) }, close]);
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it('2.6 ping with 125 bytes written one byte at a time → pong', () => {
    const payload = new Uint8Array(125).fill(0x36);
    const e = new EchoEndpoint(role).send({ opcode: 9, payload }, 1).send(close, 1);
    expectFrames(e, [[10, payload]]);
    expectCleanClose(e, 1000);
  });
  it('2.7 unsolicited pong without payload → nothing', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 10 }, close]);
    expectFrames(e, []);
    expectCleanClose(e, 1000);
  });
  it('2.8 unsolicited pong with payload → nothing', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 10, payload: 'unsolicited pong payload' }, close]);
    expectFrames(e, []);
  });
  it('2.9 unsolicited pong, then ping → pong for the ping only', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 10, payload: 'unsolicited pong payload' }, { opcode: 9, payload: 'ping payload' }, close]);
    expectFrames(e, [[10, 'ping payload']]);
  });
  it('2.10 ten pings in one write → ten pongs with their payloads', () => {
    const e = new EchoEndpoint(role);
    const burst = Array.from({ length: 10 }, (_, i) => e.wire({ opcode: 9, payload: `payload-${i}` }));
    e.write(Uint8Array.from(burst.flatMap((b) => Array.from(b)))).send(close);
    expectFrames(e, Array.from({ length: 10 }, (_, i) => [10, `payload-${i}`] as [number, string]));
  });
  it('2.11 ten pings written byte by byte → ten pongs', () => {
    const e = new EchoEndpoint(role);
    for (let i = 0; i < 10; i++) e.send({ opcode: 9, payload: `payload-${i}` }, 1);
    expectFrames(e, Array.from({ length: 10 }, (_, i) => [10, `payload-${i}`] as [number, string]));
  });
});
