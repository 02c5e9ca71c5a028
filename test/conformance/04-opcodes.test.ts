// Autobahn 4.x — reserved opcodes fail the connection with 1002 (§5.2).
import { describe, it } from 'vitest';
import { EchoEndpoint, expectFailed, expectFrames, ROLES } from './harness.js';

describe.each(ROLES)('4 opcodes (%s)', (role) => {
  describe.each([
    ['4.1 non-control', [3, 4, 5, 6, 7]],
    ['4.2 control', [11, 12, 13, 14, 15]],
  ] as const)('%s', (_name, opcodes) => {
    it.each(opcodes)('opcode %i alone → 1002', (opcode) => {
      expectFailed(new EchoEndpoint(role).send({ opcode }), 1002);
    });
    it.each(opcodes)('text, opcode %i with payload, ping → echo, 1002, no pong', (opcode) => {
      const e = new EchoEndpoint(role).send([{ opcode: 1, payload: 'Hello, world!' }, { opcode, payload: 'reserved' }, { opcode: 9 }]);
      expectFrames(e, [[1, 'Hello, world!']]);
      expectFailed(e, 1002);
    });
  });
});
