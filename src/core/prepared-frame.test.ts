import { describe, expect, it } from 'vitest';
import { Protocol } from './protocol.js';
import { prepareFrame } from './prepared-frame.js';

describe('prepareFrame', () => {
  it.each([0, 5, 125, 126, 65_535, 65_536, 100_000])('encodes a %i-byte message as one final unmasked frame a client decodes', (size) => {
    const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
    const frame = prepareFrame(payload, true);
    expect(frame.byteLength).toBe(frame.chunks.reduce((n, c) => n + c.length, 0));
    // Small messages are one buffer; large ones keep the payload by reference.
    if (size <= 16 * 1024) expect(frame.chunks).toHaveLength(1);
    else expect(frame.chunks[1]).toBe(payload);
    const client = new Protocol({ role: 'client' });
    for (const chunk of frame.chunks) client.receiveData(Uint8Array.from(chunk));
    const event = client.nextEvent();
    expect(event).toMatchObject({ type: 'message', binary: true });
    expect(Buffer.from((event as { data: Uint8Array }).data).equals(Buffer.from(payload))).toBe(true);
  });
  it('is queued unchanged by a server, and refused by a client, mid-fragment, after close and for unclaimed RSV bits', () => {
    const frame = prepareFrame(new TextEncoder().encode('hi'), false);
    const server = new Protocol({ role: 'server' });
    server.sendPrepared(frame);
    expect(server.dataToSend()).toEqual([frame.chunks[0]]);
    expect(() => new Protocol({ role: 'client' }).sendPrepared(frame)).toThrow(/for servers/);
    server.sendText('part', false);
    expect(() => server.sendPrepared(frame)).toThrow(/fragmented message/);
    server.sendContinuation(new Uint8Array(0), true);
    expect(() => server.sendPrepared(prepareFrame(new Uint8Array(1), false, 0x40))).toThrow(/RSV/);
    server.sendClose(1000);
    expect(() => server.sendPrepared(frame)).toThrow(/after the close frame/);
  });
});
