// Autobahn 10.x — auto-fragmentation: a message arriving in many frames is echoed intact, and an
// endpoint that fragments its own output (fragmentSize) still produces the same message.
import { describe, expect, it } from 'vitest';
import { EchoEndpoint, ROLES } from './harness.js';

describe.each(ROLES)('10 auto-fragmentation (%s)', (role) => {
  it('10.1.1 a 65536-byte text message in 1300-byte fragments is echoed intact', () => {
    const text = 'x'.repeat(65536);
    const e = new EchoEndpoint(role);
    for (let offset = 0; offset < text.length; offset += 1300) {
      e.send({ opcode: offset === 0 ? 1 : 0, fin: offset + 1300 >= text.length, payload: text.slice(offset, offset + 1300) });
    }
    const echoed = e.dataFrames;
    expect(echoed).toHaveLength(1);
    expect(new TextDecoder().decode(echoed[0]!.payload)).toBe(text);
  });
  it('an endpoint with fragmentSize = 1300 echoes the same message as valid fragments', () => {
    const text = 'y'.repeat(65536);
    const e = new EchoEndpoint(role, { fragmentSize: 1300 }).send({ opcode: 1, payload: text });
    const frames = e.dataFrames;
    expect(frames).toHaveLength(Math.ceil(65536 / 1300));
    expect(frames[0]!.opcode).toBe(1);
    expect(frames.slice(1).every((f) => f.opcode === 0)).toBe(true);
    expect(frames.map((f) => f.fin)).toEqual(frames.map((_, i) => i === frames.length - 1));
    expect(frames.every((f) => f.payload.length <= 1300)).toBe(true);
    expect(new TextDecoder().decode(Buffer.concat(frames.map((f) => f.payload)))).toBe(text);
  });
});
