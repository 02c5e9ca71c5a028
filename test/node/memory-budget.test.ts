// The server-wide memory budget: connections holding incomplete messages past maxBufferedBytes
// are cut, largest first, with 1013, while small connections keep working.
import { afterEach, describe, expect, it } from 'vitest';
import { next, openClient, startServer } from '../helpers/node.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A masked (zero key) binary frame header announcing `length` bytes (64-bit length form). */
function header(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h; // bytes 10..13 stay 0: the masking key
}

describe('maxBufferedBytes', () => {
  it('cuts the largest holder with 1013; smaller ones and honest clients go on', async () => {
    const { wss, port, url } = await startServer({ maxBufferedBytes: 3 * 1024 * 1024, closeTimeout: 300 });
    cleanups.push(() => wss.close());
    wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    const peers: RawPeer[] = [];
    // Three connections hold 0.5 MiB, 0.5 MiB and 2.5 MiB of unfinished 4 MiB messages: 3.5 MiB in all.
    for (const held of [0.5 * 1024 * 1024, 0.5 * 1024 * 1024, 2.5 * 1024 * 1024]) {
      const p = await RawPeer.toServer(port);
      cleanups.push(() => p.socket.destroy());
      p.socket.write(Buffer.concat([header(4 * 1024 * 1024), Buffer.alloc(Math.floor(held))]));
      peers.push(p);
      await sleep(100);
    }
    const deadline = Date.now() + 3000;
    while (peers[2]!.closedAfter === -1 && Date.now() < deadline) await sleep(5);
    const close = peers[2]!.frames.find((f) => f.opcode === 8);
    expect(close?.payload.readUInt16BE(0)).toBe(1013);
    expect(peers[0]!.closedAfter).toBe(-1);
    expect(peers[1]!.closedAfter).toBe(-1);
    const honest = await openClient(url);
    honest.send('hi');
    expect(String((await next<[Buffer]>(honest, 'message'))[0])).toBe('hi');
    honest.close();
    expect(wss.stats().limits.maxBufferedBytes).toBe(1);
  });
});
