// Autobahn 6.x — UTF-8 handling (§8.1): valid text of every shape is echoed, invalid text fails
// with 1007 as soon as the invalid byte arrives (fail-fast), across fragments and inside a frame.
import { describe, expect, it } from 'vitest';
import { isUtf8Reference } from '../helpers/frames.js';
import { closePayload, EchoEndpoint, expectCleanClose, expectFailed, expectFrames, ROLES } from './harness.js';

const hex = (s: string) => Uint8Array.from((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));
const kosme = hex('cebae1bdb9cf83cebcceb5');
const helloUtf8 = new TextEncoder().encode('Hello-µ@ßöäüàá-UTF-8!!');

/** Autobahn 6.5–6.23 style samples: [name, bytes, valid]. */
const samples: [string, Uint8Array, boolean][] = [
  ['6.5.1 κόσμε', kosme, true],
  ['6.6 κόσμε and prefixes', kosme.subarray(0, 5), true],
  ['6.7.1 U+0000', hex('00'), true],
  ['6.7.2 U+0080', hex('c280'), true],
  ['6.7.3 U+0800', hex('e0a080'), true],
  ['6.7.4 U+10000', hex('f0908080'), true],
  ['6.8.1 5-byte U+200000', hex('f888808080'), false],
  ['6.8.2 6-byte U+4000000', hex('fc8480808080'), false],
  ['6.9.1 U+007F', hex('7f'), true],
  ['6.9.2 U+07FF', hex('dfbf'), true],
  ['6.9.3 U+FFFF', hex('efbfbf'), true],
  ['6.9.4 U+1FFFFF', hex('f7bfbfbf'), false],
  ['6.10.1 U+3FFFFFF (5 bytes)', hex('fbbfbfbfbf'), false],
  ['6.11.1 U+D7FF', hex('ed9fbf'), true],
  ['6.11.2 U+E000', hex('ee8080'), true],
  ['6.11.3 U+FFFD', hex('efbfbd'), true],
  ['6.11.4 U+10FFFF', hex('f48fbfbf'), true],
  ['6.11.5 U+110000', hex('f4908080'), false],
  ['6.12.1 lone continuation 80', hex('80'), false],
  ['6.12.2 lone continuation bf', hex('bf'), false],
  ['6.12.8 continuation run', hex('80bf80bf80bf80bf'), false],
  ['6.13.1 lead bytes with spaces', hex('c020c120c220'), false],
  ['6.14.1 truncated 2-byte', hex('c0'), false],
  ['6.14.3 truncated 3-byte', hex('e080'), false],
  ['6.14.4 truncated 4-byte', hex('f08080'), false],
  ['6.15.1 concatenated truncations', hex('c0e080f08080f8808080fc80808080df efbff7bfbffbbfbfbffdbfbfbfbf'.replace(' ', '')), false],
  ['6.16.1 fe', hex('fe'), false],
  ['6.16.2 ff', hex('ff'), false],
  ['6.16.3 fefeffff', hex('fefeffff'), false],
  ['6.17.1 overlong /', hex('c0af'), false],
  ['6.17.2 overlong / 3 bytes', hex('e080af'), false],
  ['6.17.3 overlong / 4 bytes', hex('f08080af'), false],
  ['6.18.1 max overlong 2 bytes', hex('c1bf'), false],
  ['6.18.2 max overlong 3 bytes', hex('e09fbf'), false],
  ['6.18.3 max overlong 4 bytes', hex('f08fbfbf'), false],
  ['6.19.1 overlong NUL', hex('c080'), false],
  ['6.20.1 surrogate U+D800', hex('eda080'), false],
  ['6.20.7 surrogate U+DFFF', hex('edbfbf'), false],
  ['6.21.1 surrogate pair', hex('eda080edb080'), false],
  ['6.21.8 surrogate pair max', hex('edafbfedbfbf'), false],
  ['6.22.1 noncharacter U+FFFE', hex('efbfbe'), true],
  ['6.22.2 noncharacter U+FFFF', hex('efbfbf'), true],
  ['6.22.x noncharacter U+10FFFE', hex('f48fbfbe'), true],
  ['6.23.1 U+FFFD', hex('efbfbd'), true],
];

describe.each(ROLES)('6 UTF-8 (%s)', (role) => {
  it('6.1.1 empty text message is echoed', () => {
    expectFrames(new EchoEndpoint(role).send({ opcode: 1 }), [[1, '']]);
  });
  it('6.1.2/6.1.3 empty fragments, with and without payload in between, are echoed as one message', () => {
    const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false }, { opcode: 0, fin: false }, { opcode: 0 }]);
    const f = new EchoEndpoint(role).send([{ opcode: 1, fin: false }, { opcode: 0, fin: false, payload: 'middle frame payload' }, { opcode: 0 }]);
    expectFrames(e, [[1, '']]);
    expectFrames(f, [[1, 'middle frame payload']]);
  });
  it('6.2.1–6.2.4 valid UTF-8 split at every byte boundary, across fragments, is echoed', () => {
    const text = Uint8Array.from([...helloUtf8, ...kosme]);
    for (let cut = 1; cut < text.length; cut++) {
      const e = new EchoEndpoint(role).send([{ opcode: 1, fin: false, payload: text.subarray(0, cut) }, { opcode: 0, payload: text.subarray(cut) }]);
      expectFrames(e, [[1, text]]);
    }
  });
  it('6.3.1 invalid UTF-8 in one frame → 1007', () => {
    const e = new EchoEndpoint(role).send({ opcode: 1, payload: hex('cebae1bdb9cf83cebcceb5eda080656469746564') });
    expectFrames(e, []);
    expectFailed(e, 1007);
  });
  it('6.3.2 the same invalid text written byte by byte → 1007', () => {
    const e = new EchoEndpoint(role).send({ opcode: 1, payload: hex('cebae1bdb9cf83cebcceb5eda080656469746564') }, 1);
    expectFailed(e, 1007);
  });
  it('6.4.1 fail fast across fragments: 1007 right after the fragment with the invalid byte', () => {
    const e = new EchoEndpoint(role);
    e.send({ opcode: 1, fin: false, payload: hex('cebae1bdb9cf83cebcceb5') });
    expect(e.closeFrames).toHaveLength(0);
    e.send({ opcode: 0, fin: false, payload: hex('f4908080') });
    expectFailed(e, 1007);
    e.send({ opcode: 0, payload: hex('656469746564') });
    expect(e.closeFrames).toHaveLength(1);
  });
  it('6.4.2 fail fast across fragments, invalid sequence starting in a valid prefix', () => {
    const e = new EchoEndpoint(role);
    e.send({ opcode: 1, fin: false, payload: hex('cebae1bdb9cf83cebcceb5f4') });
    expect(e.closeFrames).toHaveLength(0);
    e.send({ opcode: 0, fin: false, payload: hex('90') });
    expectFailed(e, 1007);
  });
  it('6.4.3 fail fast inside one frame: 1007 before the rest of the frame arrives', () => {
    const e = new EchoEndpoint(role);
    const frame = e.wire({ opcode: 1, payload: hex('cebae1bdb9cf83cebcceb5f4908080656469746564') });
    const header = frame.length - 21;
    e.write(frame.subarray(0, header + 11));
    expect(e.closeFrames).toHaveLength(0);
    e.write(frame.subarray(header + 11, header + 15));
    expectFailed(e, 1007);
  });
  it('6.4.4 fail fast inside one frame, one byte at a time', () => {
    const e = new EchoEndpoint(role);
    const frame = e.wire({ opcode: 1, payload: hex('cebae1bdb9cf83cebcceb5f4908080656469746564') });
    const header = frame.length - 21;
    e.write(frame.subarray(0, header + 12));
    expect(e.closeFrames).toHaveLength(0);
    e.write(frame.subarray(header + 12, header + 13));
    expectFailed(e, 1007);
  });
  it.each(samples)('%s (valid: %s) in one frame and byte by byte', (_name, bytes, valid) => {
    expect(valid, 'sample table agrees with TextDecoder').toBe(isUtf8Reference(bytes));
    for (const chop of [0, 1]) {
      const e = new EchoEndpoint(role).send([{ opcode: 1, payload: bytes }, { opcode: 8, payload: closePayload(1000) }], chop);
      if (valid) {
        expectFrames(e, [[1, bytes]]);
        expectCleanClose(e, 1000);
      } else {
        expectFrames(e, []);
        expectFailed(e, 1007);
      }
    }
  });
});
