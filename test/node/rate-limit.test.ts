// Per-connection input rate limits on a real server: a ping flood and a message flood are cut with
// 1008 (or, for data with overflow 'drop', thinned), while an honest client keeps echoing.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions, WebSocketServer } from '../../src/index.js';
import { next, openClient, startServer } from '../helpers/node.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echo(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string; delivered: () => number }> {
  const started = await startServer({ closeTimeout: 500, ...options });
  let delivered = 0;
  started.wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => {
      delivered++;
      ws.send(data, { binary: isBinary });
    }),
  );
  cleanups.push(() => started.wss.close());
  return { ...started, delivered: () => delivered };
}

/** `n` masked (zero key) frames of `opcode` with a one-byte payload, in one buffer. */
function frames(opcode: number, n: number): Buffer {
  const one = Buffer.from([0x80 | opcode, 0x81, 0, 0, 0, 0, 0x61]);
  return Buffer.concat(new Array<Buffer>(n).fill(one));
}

/** Wait (at most 3 s) until the server closed the peer's connection. */
async function closedBy(peer: RawPeer): Promise<void> {
  const deadline = Date.now() + 3000;
  while (peer.closedAfter === -1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

const closeCode = (peer: RawPeer) => {
  const close = peer.frames.find((f) => f.opcode === 8);
  return close === undefined || close.payload.length < 2 ? undefined : close.payload.readUInt16BE(0);
};

describe('control frames', () => {
  it('a ping flood is closed with 1008 under the default limits; an honest client keeps echoing', async () => {
    const { port, url } = await echo();
    const flooder = await RawPeer.toServer(port);
    cleanups.push(() => flooder.socket.destroy());
    flooder.socket.write(frames(0x9, 5000));
    const honest = await openClient(url);
    honest.send('still fine');
    const [data] = await next<[Buffer]>(honest, 'message');
    expect(String(data)).toBe('still fine');
    await closedBy(flooder);
    expect(closeCode(flooder)).toBe(1008);
    expect(flooder.frames.filter((f) => f.opcode === 0xa).length).toBeLessThanOrEqual(1016);
    honest.close();
  });
  it('rateLimit: false lets the same burst through', async () => {
    const { port } = await echo({ rateLimit: false });
    const peer = await RawPeer.toServer(port);
    cleanups.push(() => peer.socket.destroy());
    peer.socket.write(frames(0x9, 5000));
    await new Promise((r) => setTimeout(r, 300));
    expect(peer.closedAfter).toBe(-1);
    expect(closeCode(peer)).toBeUndefined();
  });
});

describe('data messages', () => {
  it('over messagesPerSecond and its burst: 1008', async () => {
    const { port, delivered } = await echo({ rateLimit: { messagesPerSecond: 10, messageBurst: 10 } });
    const peer = await RawPeer.toServer(port);
    cleanups.push(() => peer.socket.destroy());
    peer.socket.write(frames(0x1, 50));
    await closedBy(peer);
    expect(closeCode(peer)).toBe(1008);
    expect(delivered()).toBe(10);
  });
  it("with overflow 'drop', messages over the limit are dropped and the connection stays open", async () => {
    const { port, delivered } = await echo({ rateLimit: { messagesPerSecond: 10, messageBurst: 10, overflow: 'drop' } });
    const peer = await RawPeer.toServer(port);
    cleanups.push(() => peer.socket.destroy());
    peer.socket.write(frames(0x1, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered()).toBeGreaterThanOrEqual(10);
    expect(delivered()).toBeLessThan(20);
    expect(peer.closedAfter).toBe(-1);
  });
  it('over bytesPerSecond: 1008', async () => {
    const { port } = await echo({ rateLimit: { bytesPerSecond: 100, byteBurst: 100 } });
    const peer = await RawPeer.toServer(port);
    cleanups.push(() => peer.socket.destroy());
    peer.socket.write(frames(0x2, 150));
    await closedBy(peer);
    expect(closeCode(peer)).toBe(1008);
  });
  it('rejects unknown rateLimit keys', async () => {
    await expect(startServer({ rateLimit: { perSecond: 1 } as never })).rejects.toThrow(/unknown option "perSecond"/);
  });
});
