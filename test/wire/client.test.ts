// Wire-level conformance of the real client: a raw-TCP fake server answers the handshake and then
// sends bytes (valid, broken, hostile) to a client that echoes every message; we assert the exact
// frames the client writes (masked), the close code it sends, and who closes TCP.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import type { RawFrame } from '../helpers/frames.js';
import { RawPeer } from './raw-peer.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A connected echo client and the fake server's end of it. */
async function connectEcho(options = {}): Promise<{ client: WebSocket; server: RawPeer }> {
  const fake = await RawPeer.fakeServer();
  cleanups.push(fake.close);
  const client = new WebSocket(fake.url, { closeTimeout: 1000, maxPayload: 16 * 1024 * 1024, ...options });
  client.on('message', (data, isBinary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  client.on('error', () => undefined);
  const server = await fake.accept();
  cleanups.push(() => server.destroy());
  await new Promise<void>((resolve) => (client.readyState === WebSocket.OPEN ? resolve() : client.once('open', () => resolve())));
  return { client, server };
}

const close1000: RawFrame = { opcode: 8, payload: Uint8Array.of(0x03, 0xe8) };

async function expectEcho(frames: RawFrame[], expected: [number, string | Uint8Array][], chop = 0): Promise<void> {
  const { client, server } = await connectEcho();
  server.send(frames, chop).send(close1000);
  expect(await server.until(() => server.closeCodes.length === 1)).toBe(true);
  expect(server.protocolError, 'client frames are masked and well-formed').toBeNull();
  expect(server.dataFrames.map((f) => f.opcode)).toEqual(expected.map(([op]) => op));
  server.dataFrames.forEach((f, i) => expect(f.payload.equals(Buffer.from(expected[i]![1] as string | Uint8Array))).toBe(true));
  expect(server.closeCodes).toEqual([1000]);
  // The client waits for the server to close TCP (RFC 6455 §7.1.1), then reports a clean close.
  expect(server.closedAfter).toBe(-1);
  server.socket.end();
  expect(await client.closed).toEqual({ code: 1000, reason: '', wasClean: true });
}

/** The fake server sends `frames`; the client must fail with `code`, then wait for the server to close TCP. */
async function expectFailure(frames: RawFrame[] | Uint8Array, code: number): Promise<void> {
  const { client, server } = await connectEcho();
  if (frames instanceof Uint8Array) server.write(frames);
  else server.send(frames);
  expect(await server.until(() => server.closeCodes.length === 1, 1000), 'client sent a close frame').toBe(true);
  expect(server.closeCodes).toEqual([code]);
  await new Promise((r) => setTimeout(r, 50));
  expect(server.closedAfter, 'the client leaves closing TCP to the server').toBe(-1);
  server.socket.end();
  expect((await client.closed).code).toBe(1006);
}

describe('client: 1 framing and 2 ping/pong', () => {
  it.each([0, 125, 126, 65535, 65536])('echoes text and binary of %i bytes, masked', async (n) => {
    await expectEcho([{ opcode: 1, payload: 'y'.repeat(n) }, { opcode: 2, payload: new Uint8Array(n).fill(7) }], [[1, 'y'.repeat(n)], [2, new Uint8Array(n).fill(7)]]);
  });
  it('answers pings written byte by byte, ignores unsolicited pongs', async () => {
    await expectEcho([{ opcode: 10, payload: 'u' }, { opcode: 9, payload: new Uint8Array(125).fill(1) }], [[10, new Uint8Array(125).fill(1)]], 1);
  });
});

describe('client: 3 reserved bits, 4 opcodes, masking', () => {
  it.each([0x40, 0x20, 0x10])('fails RSV %i with 1002', async (rsv) => {
    await expectFailure([{ opcode: 1, rsv, payload: 'x' }], 1002);
  });
  it.each([3, 7, 11, 15])('fails opcode %i with 1002', async (opcode) => {
    await expectFailure([{ opcode }], 1002);
  });
  it('fails a masked frame from the server with 1002', async () => {
    await expectFailure([{ opcode: 1, payload: 'x', mask: [1, 2, 3, 4] }], 1002);
  });
});

describe('client: 5 fragmentation and 6 UTF-8', () => {
  it('reassembles fragments with a ping between them', async () => {
    await expectEcho([{ opcode: 1, fin: false, payload: 'ab' }, { opcode: 9, payload: 'p' }, { opcode: 0, payload: 'cd' }], [[10, 'p'], [1, 'abcd']]);
  });
  it('fails a stray continuation and an interleaved message with 1002', async () => {
    await expectFailure([{ opcode: 0, payload: 'x' }], 1002);
    await expectFailure([{ opcode: 2, fin: false, payload: 'x' }, { opcode: 2, payload: 'y' }], 1002);
  });
  it('fails invalid UTF-8 with 1007, fail-fast inside one frame', async () => {
    const { client, server } = await connectEcho();
    const bytes = Uint8Array.from([0x81, 21, 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90]);
    server.write(bytes);
    expect(await server.until(() => server.closeCodes.length === 1, 1000)).toBe(true);
    expect(server.closeCodes).toEqual([1007]);
    server.socket.end();
    await client.closed;
  });
});

describe('client: 7 close handling and 9 limits', () => {
  it.each([1000, 1001, 3000, 4999])('echoes the server close code %i, then waits for the server to close TCP', async (code) => {
    const { client, server } = await connectEcho();
    server.send({ opcode: 8, payload: Uint8Array.of(code >> 8, code & 0xff) });
    expect(await server.until(() => server.closeCodes.length === 1)).toBe(true);
    expect(server.closeCodes).toEqual([code]);
    server.socket.end();
    expect(await client.closed).toEqual({ code, reason: '', wasClean: true });
  });
  it('fails invalid close codes with 1002', async () => {
    await expectFailure([{ opcode: 8, payload: Uint8Array.of(0x03, 0xed) }], 1002);
  });
  it('closes TCP itself when the server never does, after closeTimeout', async () => {
    const { client, server } = await connectEcho({ closeTimeout: 200 });
    server.send(close1000);
    expect(await server.waitClosed(2000)).toBe(true);
    expect((await client.closed).code).toBe(1000);
  });
  it('fails a 2^63 length with 1002', async () => {
    await expectFailure(Uint8Array.of(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0), 1002);
  });
  it('fails a message over maxPayload with 1009', async () => {
    const { client, server } = await connectEcho({ maxPayload: 1000 });
    server.send({ opcode: 2, payload: new Uint8Array(1001) });
    expect(await server.until(() => server.closeCodes.length === 1, 1000)).toBe(true);
    expect(server.closeCodes).toEqual([1009]);
    server.socket.end();
    await client.closed;
  });
  it('echoes a 4 MiB message sent in 64 KiB chops', async () => {
    const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 0xff);
    await expectEcho([{ opcode: 2, payload }], [[2, payload]], 65536);
  });
});
