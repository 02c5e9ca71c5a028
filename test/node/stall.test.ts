// Stall timers: input left incomplete without progress is failed with 1008; a peer that takes
// none of our output is cut off; peers that make progress, however slowly, are left alone.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions, WebSocket, WebSocketServer } from '../../src/index.js';
import { next, startServer } from '../helpers/node.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function server(options: Omit<ServerOptions, 'port'>): Promise<{ wss: WebSocketServer; port: number }> {
  const started = await startServer({ closeTimeout: 300, ...options });
  cleanups.push(() => started.wss.close());
  return started;
}

async function peer(port: number): Promise<RawPeer> {
  const p = await RawPeer.toServer(port);
  cleanups.push(() => p.socket.destroy());
  return p;
}

const closeCodeOf = (p: RawPeer) => {
  const close = p.frames.find((f) => f.opcode === 8);
  return close === undefined || close.payload.length < 2 ? undefined : close.payload.readUInt16BE(0);
};

describe('stalledInputTimeout', () => {
  it('fails a fragmented message that never gets its final frame with 1008', async () => {
    const { port } = await server({ stalledInputTimeout: 200 });
    const p = await peer(port);
    p.socket.write(Buffer.from([0x01, 0x81, 0, 0, 0, 0, 0x61])); // text, fin = 0, "a"
    const started = Date.now();
    while (p.closedAfter === -1 && Date.now() - started < 2000) await sleep(5);
    expect(closeCodeOf(p)).toBe(1008);
    expect(Date.now() - started).toBeLessThan(800);
  });
  it('fails a frame whose announced payload never arrives', async () => {
    const { port } = await server({ stalledInputTimeout: 200 });
    const p = await peer(port);
    p.socket.write(Buffer.from([0x82, 0xfe, 0x03, 0xe8, 0, 0, 0, 0])); // binary, 1,000 bytes announced, none sent
    const started = Date.now();
    while (p.closedAfter === -1 && Date.now() - started < 2000) await sleep(5);
    expect(closeCodeOf(p)).toBe(1008);
  });
  it('leaves a slow but progressing sender alone, and idle connections between messages', async () => {
    const { port } = await server({ stalledInputTimeout: 200 });
    const slow = await peer(port);
    const idle = await peer(port);
    slow.socket.write(Buffer.from([0x82, 0x8a, 0, 0, 0, 0])); // 10 bytes announced
    for (let i = 0; i < 8; i++) {
      await sleep(100);
      slow.socket.write(Buffer.from([i]));
    }
    expect(slow.closedAfter).toBe(-1);
    expect(idle.closedAfter).toBe(-1);
  });
});

describe('stalledOutputTimeout', () => {
  it('cuts a peer that reads nothing while output waits, even below maxBufferedAmount', async () => {
    const { wss, port } = await server({ stalledOutputTimeout: 200 });
    let serverSide: WebSocket | undefined;
    wss.on('connection', (ws) => (serverSide = ws));
    const p = await peer(port);
    p.socket.pause();
    while (serverSide === undefined) await sleep(5);
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 16; i++) serverSide.send(big);
    const [code] = await next<[number]>(serverSide, 'close', 3000);
    expect(code).toBe(1006);
  });
});
