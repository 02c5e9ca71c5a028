// Autobahn 1.x — framing: text and binary messages at every length-encoding boundary (§5.2).
import { describe, it } from 'vitest';
import { closePayload, EchoEndpoint, expectCleanClose, expectFrames, ROLES } from './harness.js';

const lengths = [0, 125, 126, 127, 128, 65535, 65536];

describe.each(ROLES)('1 framing (%s)', (role) => {
  describe('1.1 text', () => {
    it.each(lengths)('1.1.x echoes a text message of %i bytes', (n) => {
      const e = new EchoEndpoint(role).send({ opcode: 1, payload: '*'.repeat(n) }).send({ opcode: 8, payload: closePayload(1000) });
      expectFrames(e, [[1, '*'.repeat(n)]]);
      expectCleanClose(e, 1000);
    });
    it('1.1.8 echoes a 65536-byte text message written in 997-byte chops', () => {
      const e = new EchoEndpoint(role).send({ opcode: 1, payload: '*'.repeat(65536) }, 997);
      expectFrames(e, [[1, '*'.repeat(65536)]]);
    });
  });
  describe('1.2 binary', () => {
    it.each(lengths)('1.2.x echoes a binary message of %i bytes', (n) => {
      const payload = new Uint8Array(n).fill(0xfe);
      const e = new EchoEndpoint(role).send({ opcode: 2, payload }).send({ opcode: 8, payload: closePayload(1000) });
      expectFrames(e, [[2, payload]]);
      expectCleanClose(e, 1000);
    });
    it('1.2.8 echoes a 65536-byte binary message written in 997-byte chops', () => {
      const payload = new Uint8Array(65536).fill(0xfe);
      const e = new EchoEndpoint(role).send({ opcode: 2, payload }, 997);
      expectFrames(e, [[2, payload]]);
    });
  });
});
