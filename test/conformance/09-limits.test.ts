// Autobahn 9.x — large messages, many fragments, chopped writes and many small messages, at
// sizes that keep the run short; plus what happens beyond the configured limits (1009).
import { describe, expect, it } from 'vitest';
import { EchoEndpoint, expectFailed, ROLES } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
// Default options except maxPayload: what users get (the Autobahn harness runs the same way).
const options = { maxPayload: 16 * MiB };

function payloadOf(size: number, text: boolean): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = text ? 0x41 + (i % 26) : (i * 7) & 0xff;
  return bytes;
}

function expectEchoOf(e: EchoEndpoint, opcode: number, payload: Uint8Array): void {
  expect(e.events.filter((ev) => ev.type === 'error')).toEqual([]);
  const echoed = e.dataFrames.filter((f) => f.opcode === opcode);
  expect(echoed).toHaveLength(1);
  expect(Buffer.from(echoed[0]!.payload).equals(payload)).toBe(true);
}

describe.each(ROLES)('9 limits and performance (%s)', (role) => {
  describe.each([
    ['9.1 text', 1],
    ['9.2 binary', 2],
  ] as const)('%s', (_name, opcode) => {
    it.each([64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 16 * MiB])('echoes a single-frame message of %i bytes', (size) => {
      const payload = payloadOf(size, opcode === 1);
      expectEchoOf(new EchoEndpoint(role, options).send({ opcode, payload }, 64 * KiB), opcode, payload);
    });
  });
  describe.each([
    ['9.3 fragmented text', 1],
    ['9.4 fragmented binary', 2],
  ] as const)('%s', (_name, opcode) => {
    it.each([64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB])('echoes a 1 MiB message in fragments of %i bytes', (fragment) => {
      const payload = payloadOf(MiB, opcode === 1);
      const e = new EchoEndpoint(role, options);
      const frames = [];
      for (let offset = 0; offset < payload.length; offset += fragment) {
        frames.push(e.wire({ opcode: offset === 0 ? opcode : 0, fin: offset + fragment >= payload.length, payload: payload.subarray(offset, offset + fragment) }));
      }
      let total = 0;
      for (const f of frames) total += f.length;
      const stream = new Uint8Array(total);
      let o = 0;
      for (const f of frames) {
        stream.set(f, o);
        o += f.length;
      }
      e.write(stream, 64 * KiB);
      expectEchoOf(e, opcode, payload);
    });
    it('Autobahn 9.3.1 / 9.4.1 with default maxFragments: 4 MiB as 65,536 fragments of 64 bytes and an empty final one', () => {
      const payload = payloadOf(4 * MiB, opcode === 1);
      const e = new EchoEndpoint(role, options);
      for (let offset = 0; offset < payload.length; offset += 64) {
        e.send({ opcode: offset === 0 ? opcode : 0, fin: false, payload: payload.subarray(offset, offset + 64) });
      }
      e.send({ opcode: 0, fin: true, payload: new Uint8Array(0) });
      expectEchoOf(e, opcode, payload);
    });
  });
  describe.each([
    ['9.5 text', 1],
    ['9.6 binary', 2],
  ] as const)('%s written in chops', (_name, opcode) => {
    it.each([64, 128, 256, 512, 1024, 2048])('echoes a 1 MiB message written in %i-byte chops', (chop) => {
      const payload = payloadOf(MiB, opcode === 1);
      expectEchoOf(new EchoEndpoint(role, options).send({ opcode, payload }, chop), opcode, payload);
    });
  });
  describe.each([
    ['9.7 text', 1],
    ['9.8 binary', 2],
  ] as const)('%s round trips', (_name, opcode) => {
    it.each([0, 16, 64, 256, 1024, 4096])('echoes 1000 messages of %i bytes in order', (size) => {
      const e = new EchoEndpoint(role, options);
      for (let i = 0; i < 1000; i++) e.send({ opcode, payload: payloadOf(size, opcode === 1).map((b, j) => (j === 0 ? 0x30 + (i % 10) : b)) });
      expect(e.dataFrames).toHaveLength(1000);
      e.dataFrames.forEach((f, i) => {
        expect(f.payload.length).toBe(size);
        if (size) expect(f.payload[0]).toBe(0x30 + (i % 10));
      });
    });
  });
  describe('beyond the configured limits', () => {
    it('a message one byte over maxPayload → 1009, from its header', () => {
      const e = new EchoEndpoint(role, { maxPayload: 64 * KiB });
      const frame = e.wire({ opcode: 2, payload: new Uint8Array(64 * KiB + 1) });
      e.write(frame.subarray(0, 14));
      expectFailed(e, 1009);
    });
    it('fragments adding up past maxPayload → 1009', () => {
      const e = new EchoEndpoint(role, { maxPayload: 1000 });
      e.send([{ opcode: 1, fin: false, payload: 'a'.repeat(600) }, { opcode: 0, payload: 'b'.repeat(401) }]);
      expectFailed(e, 1009);
    });
    it('more fragments than maxFragments → 1009, empty ones included', () => {
      const e = new EchoEndpoint(role, { maxFragments: 100 });
      e.send({ opcode: 2, fin: false });
      for (let i = 0; i < 100; i++) e.send({ opcode: 0, fin: false });
      expectFailed(e, 1009);
    });
  });
});
