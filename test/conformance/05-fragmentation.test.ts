// Autobahn 5.x — fragmentation (§5.4): control frames may be injected, but never fragmented;
// continuations need a message to continue; messages never interleave.
import { describe, it } from 'vitest';
import type { RawFrame } from '../helpers/frames.js';
import { closePayload, EchoEndpoint, expectCleanClose, expectFailed, expectFrames, ROLES } from './harness.js';

const close: RawFrame = { opcode: 8, payload: closePayload(1000) };
const chops = [
  ['in one write each', 0],
  ['byte by byte', 1],
] as const;

describe.each(ROLES)('5 fragmentation (%s)', (role) => {
  it('5.1 ping in 2 fragments → 1002', () => {
    expectFailed(new EchoEndpoint(role).send([{ opcode: 9, fin: false, payload: 'frag1' }, { opcode: 0, payload: 'frag2' }]), 1002);
  });
  it('5.2 pong in 2 fragments → 1002', () => {
    expectFailed(new EchoEndpoint(role).send([{ opcode: 10, fin: false, payload: 'frag1' }, { opcode: 0, payload: 'frag2' }]), 1002);
  });
  it.each(chops)('5.3–5.5 text in 2 fragments, %s → one echoed message', (_n, chop) => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false, payload: 'frag1' }, { opcode: 0, payload: 'frag2' }, close], chop);
    expectFrames(e, [[1, 'frag1frag2']]);
    expectCleanClose(e, 1000);
  });
  it.each(chops)('5.6–5.8 text in 2 fragments with a ping between, %s → pong, then echo', (_n, chop) => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false, payload: 'fragment1' }, { opcode: 9, payload: 'pongme!' }, { opcode: 0, payload: 'fragment2' }, close], chop);
    expectFrames(e, [
      [10, 'pongme!'],
      [1, 'fragment1fragment2'],
    ]);
  });
  it.each(chops)('5.9–5.11 continuation (FIN) with nothing to continue, then text, %s → 1002', (_n, chop) => {
    const e = new EchoEndpoint(role).send([{ opcode: 0, payload: 'non-continuation payload' }, { opcode: 1, payload: 'Hello, world!' }], chop);
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it.each(chops)('5.12–5.14 continuation (no FIN) with nothing to continue, then text, %s → 1002', (_n, chop) => {
    const e = new EchoEndpoint(role).send([{ opcode: 0, fin: false, payload: 'non-continuation payload' }, { opcode: 1, payload: 'Hello, world!' }], chop);
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it('5.15 a fragmented message, a stray continuation, a text → echo of the first, then 1002', () => {
    const e = new EchoEndpoint(role).send([
      { opcode: 1, fin: false, payload: 'fragment1' },
      { opcode: 0, payload: 'fragment2' },
      { opcode: 0, fin: false, payload: 'fragment3' },
      { opcode: 1, payload: 'fragment4' },
    ]);
    expectFrames(e, [[1, 'fragment1fragment2']]);
    expectFailed(e, 1002);
  });
  it.each([false, true])('5.16/5.17 stray continuation (FIN %s) before a fragmented text → 1002 at once', (fin) => {
    const e = new EchoEndpoint(role).send([
      { opcode: 0, fin, payload: 'fragment1' },
      { opcode: 1, fin: false, payload: 'fragment2' },
      { opcode: 0, payload: 'fragment3' },
    ]);
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it('5.18 second fragment with a text opcode instead of continuation → 1002', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false, payload: 'fragment1' }, { opcode: 1, payload: 'fragment2' }]);
    expectFrames(e, []);
    expectFailed(e, 1002);
  });
  it('5.19/5.20 text in 5 fragments with pings between → pongs as they come, then the echo', () => {
    const e = new EchoEndpoint(role).send([
      { opcode: 1, fin: false, payload: 'fragment1' },
      { opcode: 0, fin: false, payload: 'fragment2' },
      { opcode: 9, payload: 'pongme 1!' },
      { opcode: 0, fin: false, payload: 'fragment3' },
      { opcode: 0, fin: false, payload: 'fragment4' },
      { opcode: 9, payload: 'pongme 2!' },
      { opcode: 0, payload: 'fragment5' },
      close,
    ]);
    expectFrames(e, [
      [10, 'pongme 1!'],
      [10, 'pongme 2!'],
      [1, 'fragment1fragment2fragment3fragment4fragment5'],
    ]);
    expectCleanClose(e, 1000);
  });
});
