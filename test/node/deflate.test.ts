// permessage-deflate end to end: our server and client with every parameter set, interop with ws
// in both directions, the wire format (RSV1, compressed + fragmented + interleaved pings), and the
// safety limits (decompression bomb, corrupt data, RSV1 where it is not allowed).
import { once } from 'node:events';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import WsLib, { WebSocketServer as WsServer } from 'ws';
import { type PerMessageDeflateConfig, WebSocket, type WebSocketServer } from '../../src/index.js';
import { next, openClient, startServer } from '../helpers/node.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function deflateEchoServer(perMessageDeflate: boolean | PerMessageDeflateConfig = true, extra = {}): Promise<{ wss: WebSocketServer; url: string; port: number }> {
  const started = await startServer({ perMessageDeflate, ...extra });
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanups.push(() => started.wss.close());
  return started;
}

const text = 'The quick brown fox jumps over the lazy dog. '.repeat(4000);
const binary = Buffer.alloc(100_000).map((_, i) => (i * 7) & 0x3f);

async function echoBoth(ws: WebSocket | WsLib): Promise<void> {
  const got: [boolean, Buffer][] = [];
  const all = new Promise<void>((resolve) => {
    (ws as WebSocket).on('message', (data, isBinary: boolean) => {
      got.push([isBinary, Buffer.from(data as Buffer)]);
      if (got.length === 4) resolve();
    });
  });
  for (let i = 0; i < 2; i++) {
    ws.send(text);
    ws.send(binary);
  }
  await all;
  expect(got.map(([b]) => b)).toEqual([false, true, false, true]);
  expect(got[0]![1].toString()).toBe(text);
  expect(got[1]![1].equals(binary)).toBe(true);
  expect(got[2]![1].toString()).toBe(text);
  expect(got[3]![1].equals(binary)).toBe(true);
}

const combos: [string, PerMessageDeflateConfig][] = [
  ['context takeover both ways', {}],
  ['server_no_context_takeover', { serverNoContextTakeover: true }],
  ['client_no_context_takeover', { clientNoContextTakeover: true }],
  ['no context takeover either way', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
];

describe('permessage-deflate between our server and our client', () => {
  for (const [name, options] of combos) {
    for (const bits of [9, 15]) {
      it(`${name}, window bits ${bits}: messages survive and the wire carries compressed data`, async () => {
        const { url, wss } = await deflateEchoServer(true);
        const connected = next<[WebSocket, { socket: { bytesRead: number } }]>(wss, 'connection');
        const ws = await openClient(url, [], { perMessageDeflate: { ...options, serverMaxWindowBits: bits, clientMaxWindowBits: bits } });
        const [, request] = await connected;
        expect(ws.extensions).toContain('permessage-deflate');
        await echoBoth(ws);
        // 2 × (180 KB of text + 100 KB of binary) went in; a small fraction crossed the wire.
        expect(request.socket.bytesRead).toBeLessThan(60_000);
        await ws.close();
      });
    }
  }

  it('sends small messages and compress: false messages uncompressed, in order with compressed ones', async () => {
    const { url } = await deflateEchoServer({ threshold: 100 });
    const ws = await openClient(url);
    const got: string[] = [];
    const done = new Promise<void>((resolve) => ws.on('message', (d) => (got.push(d.toString().slice(0, 5)), got.length === 4 && resolve())));
    ws.send('a'.repeat(5000));
    ws.send('short');
    ws.send('b'.repeat(5000), { compress: false });
    ws.send('c'.repeat(5000));
    await done;
    expect(got).toEqual(['aaaaa', 'short', 'bbbbb', 'ccccc']);
    await ws.close();
  });

  it('keeps order when a close follows messages still being compressed', async () => {
    const { url, wss } = await deflateEchoServer();
    const connected = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await connected;
    const received: string[] = [];
    peer.removeAllListeners('message');
    peer.on('message', (d) => received.push(d.toString().slice(0, 3)));
    const closed = next<[number]>(peer, 'close');
    for (let i = 0; i < 5; i++) ws.send(`m${i}-${'x'.repeat(20_000)}`);
    ws.close(4000);
    expect((await closed)[0]).toBe(4000);
    expect(received).toEqual(['m0-', 'm1-', 'm2-', 'm3-', 'm4-']);
  });

  it('is off on the server by default, and a client can decline it', async () => {
    const plain = await startServer();
    cleanups.push(() => plain.wss.close());
    const a = await openClient(plain.url);
    expect(a.extensions).toBe('');
    await a.close();
    const { url } = await deflateEchoServer();
    const b = await openClient(url, [], { perMessageDeflate: false });
    expect(b.extensions).toBe('');
    await b.close();
  });
});

describe('permessage-deflate interop with ws', () => {
  for (const [name, options] of combos) {
    for (const bits of [9, 15]) {
      const wsOptions = { serverNoContextTakeover: options.serverNoContextTakeover ?? false, clientNoContextTakeover: options.clientNoContextTakeover ?? false, serverMaxWindowBits: bits, clientMaxWindowBits: bits, threshold: 0 };
      it(`ws client → our server: ${name}, window bits ${bits}`, async () => {
        const { url } = await deflateEchoServer({ ...options, serverMaxWindowBits: bits, clientMaxWindowBits: bits });
        const ws = new WsLib(url, { perMessageDeflate: wsOptions });
        await once(ws, 'open');
        expect(ws.extensions).toContain('permessage-deflate');
        await echoBoth(ws);
        ws.close();
        await once(ws, 'close');
      });
      it(`our client → ws server: ${name}, window bits ${bits}`, async () => {
        const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: wsOptions });
        await once(wss, 'listening');
        cleanups.push(() => new Promise((r) => wss.close(r)));
        wss.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })));
        const ws = await openClient(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, [], {
          perMessageDeflate: { ...options, serverMaxWindowBits: bits, clientMaxWindowBits: bits },
        });
        expect(ws.extensions).toContain('permessage-deflate');
        await echoBoth(ws);
        await ws.close();
      });
    }
  }
});

describe('permessage-deflate on the wire and its limits', () => {
  const offer = ['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'];
  const compress = (data: string | Buffer) => {
    const out = deflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    return out.subarray(0, out.length - 4);
  };

  it('echoes a compressed message sent as fragments with pings between them; the echo has RSV1 on its first frame only', async () => {
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', offer);
    expect(peer.handshake).toMatch(/Sec-WebSocket-Extensions: permessage-deflate/);
    const payload = compress(text);
    const third = Math.floor(payload.length / 3);
    peer.send([
      { opcode: 1, rsv: 0x40, fin: false, payload: payload.subarray(0, third) },
      { opcode: 9, payload: 'p1' },
      { opcode: 0, fin: false, payload: payload.subarray(third, 2 * third) },
      { opcode: 9, payload: 'p2' },
      { opcode: 0, payload: payload.subarray(2 * third) },
    ]);
    expect(await peer.until(() => peer.dataFrames.length === 3)).toBe(true);
    const [pong1, pong2, echo] = peer.dataFrames;
    expect([pong1!.opcode, pong2!.opcode, echo!.opcode, echo!.rsv]).toEqual([10, 10, 1, 0x40]);
    expect(inflateRawSync(Buffer.concat([echo!.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 }).toString()).toBe(text);
    peer.destroy();
  });

  it('stops a decompression bomb at maxPayload with 1009, without inflating it whole', async () => {
    const { port } = await deflateEchoServer(true, { maxPayload: 1024 * 1024 });
    const peer = await RawPeer.toServer(port, '/', offer);
    const bomb = compress(Buffer.alloc(256 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(300 * 1024);
    const before = process.memoryUsage().rss;
    peer.send({ opcode: 2, rsv: 0x40, payload: bomb });
    expect(await peer.waitClosed(5000)).toBe(true);
    expect(peer.closeCodes).toEqual([1009]);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
  });

  it('stops a bomb in no-context mode too', async () => {
    const { port } = await deflateEchoServer({ clientNoContextTakeover: true }, { maxPayload: 1024 * 1024 });
    const peer = await RawPeer.toServer(port, '/', offer);
    peer.send({ opcode: 2, rsv: 0x40, payload: compress(Buffer.alloc(64 * 1024 * 1024)) });
    expect(await peer.waitClosed(5000)).toBe(true);
    expect(peer.closeCodes).toEqual([1009]);
  });

  it.each([
    ['corrupt compressed data', [{ opcode: 2, rsv: 0x40, payload: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }], 1007],
    ['compressed text that inflates to invalid UTF-8', [{ opcode: 1, rsv: 0x40, payload: compress(Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80])) }], 1007],
    ['RSV1 on a continuation frame', [{ opcode: 1, rsv: 0x40, fin: false, payload: compress('ab') }, { opcode: 0, rsv: 0x40, payload: Uint8Array.of(0) }], 1002],
    ['RSV1 on a ping', [{ opcode: 9, rsv: 0x40, payload: 'x' }], 1002],
  ] as const)('fails %s with %i', async (_name, frames, code) => {
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', offer);
    peer.send(frames as never);
    expect(await peer.waitClosed(3000)).toBe(true);
    expect(peer.closeCodes).toEqual([code]);
  });

  it('without negotiation, RSV1 is a protocol error', async () => {
    const { port } = await deflateEchoServer(false);
    const peer = await RawPeer.toServer(port, '/', offer);
    expect(peer.handshake).not.toMatch(/Sec-WebSocket-Extensions/);
    peer.send({ opcode: 1, rsv: 0x40, payload: compress('hello') });
    expect(await peer.waitClosed(3000)).toBe(true);
    expect(peer.closeCodes).toEqual([1002]);
  });

  it.each([
    ['context takeover', offer],
    ['client_no_context_takeover (pooled inflaters)', ['Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover']],
  ])('a message ending in a final DEFLATE block is delivered, and breaks neither the next message nor another connection (%s)', async (_name, extensions) => {
    // RFC 7692 §7.2.2 appends 0x00 0x00 0xff 0xff to every message; after a block with BFINAL set
    // zlib takes no more input. Before, the ended stream went back to the pool (the next
    // connection to borrow it failed) or stayed the connection's context (the next message came
    // out empty).
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', extensions);
    peer.send({ opcode: 1, rsv: 0x40, payload: deflateRawSync('final block') });
    peer.send({ opcode: 1, rsv: 0x40, payload: compress('after it') });
    const other = await openClient(`ws://127.0.0.1:${port}`, [], { perMessageDeflate: true });
    other.send('x'.repeat(5000));
    const [echo] = await next<[Buffer]>(other, 'message');
    expect(String(echo)).toBe('x'.repeat(5000));
    const deadline = Date.now() + 3000;
    while (peer.frames.filter((f) => f.opcode === 1).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(peer.frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString())).toEqual(['final block', 'after it']);
    other.close();
    peer.destroy();
  });

  it('fails bytes after a final DEFLATE block with 1007', async () => {
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', offer);
    peer.send({ opcode: 2, rsv: 0x40, payload: Buffer.concat([deflateRawSync('x'), Buffer.from([1, 2, 3, 4, 5])]) });
    expect(await peer.waitClosed(3000)).toBe(true);
    expect(peer.closeCodes).toEqual([1007]);
  });

  it('20 concurrent bombs do not hold an honest compressed echo behind them: every echo within 500 ms', async () => {
    // Before, inflation held its zlib slot to the end, so an honest message waited behind whole
    // bombs (1.8 s here; over 3 s with 40 of them at the default maxPayload), and each bomb's
    // output was joined after it had failed (a 32 MiB copy on the event loop). Now each
    // inflation gives up its slot after every 256 KiB of output, and a failed one is dropped.
    const { port, url } = await deflateEchoServer(true, { maxPayload: 32 * 1024 * 1024, maxConnectionsPerIp: 100 });
    const bomb = compress(Buffer.alloc(256 * 1024 * 1024));
    const bombers = await Promise.all(Array.from({ length: 20 }, () => RawPeer.toServer(port, '/', offer)));
    const honest = await openClient(url, [], { perMessageDeflate: true });
    const message = JSON.stringify({ n: 0, text: 'honest '.repeat(300) });
    // Warm the honest path up first.
    honest.send(message);
    await next(honest, 'message');
    for (const b of bombers) b.send({ opcode: 2, rsv: 0x40, payload: bomb });
    const latencies: number[] = [];
    while (bombers.some((b) => b.closedAfter === -1) && latencies.length < 200) {
      const sent = Date.now();
      honest.send(message);
      await next(honest, 'message');
      latencies.push(Date.now() - sent);
    }
    for (const b of bombers) expect(await b.waitClosed(10_000)).toBe(true);
    expect(bombers.flatMap((b) => b.closeCodes)).toEqual(new Array(20).fill(1009));
    expect(latencies.length).toBeGreaterThan(0);
    expect(Math.max(...latencies)).toBeLessThan(500);
    honest.close();
  });

  it('declines an invalid offer and falls back to the next one', async () => {
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', ['Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99, permessage-deflate; client_no_context_takeover']);
    expect(peer.handshake).toMatch(/Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r?$/m);
    peer.destroy();
  });
});

describe('permessage-deflate wire cases (Autobahn 12 and 13)', () => {
  const compress = (data: string | Buffer) => {
    const out = deflateRawSync(data, { finishFlush: 2 });
    return out.subarray(0, out.length - 4);
  };
  const inflate = (data: Buffer) => inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 });
  const sizes = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];

  it('12.x: compressed text and binary at every size, echoed compressed (RSV1) from 1 KiB up', async () => {
    const { port } = await deflateEchoServer();
    // server_no_context_takeover lets this peer inflate each echo on its own.
    const peer = await RawPeer.toServer(port, '/', ['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover']);
    const messages = sizes.flatMap((n) => [
      { opcode: 1, text: 'abcdefghij'.repeat(Math.ceil(n / 10)).slice(0, n) },
      { opcode: 2, text: 'BINARY-0123'.repeat(Math.ceil(n / 11)).slice(0, n) },
    ]);
    for (const m of messages) peer.send({ opcode: m.opcode, rsv: 0x40, payload: compress(m.text) }, 4096);
    expect(await peer.until(() => peer.dataFrames.length === messages.length, 10_000)).toBe(true);
    peer.dataFrames.forEach((frame, i) => {
      const m = messages[i]!;
      expect(frame.opcode).toBe(m.opcode);
      expect(frame.rsv).toBe(m.text.length >= 1024 ? 0x40 : 0);
      expect((frame.rsv ? inflate(frame.payload) : frame.payload).toString()).toBe(m.text);
    });
    peer.destroy();
  });

  it.each([
    ['the default offer', 'permessage-deflate', 'permessage-deflate'],
    ['client_no_context_takeover', 'permessage-deflate; client_no_context_takeover', 'permessage-deflate; client_no_context_takeover'],
    ['client_max_window_bits=8', 'permessage-deflate; client_max_window_bits=8', 'permessage-deflate; client_max_window_bits=8'],
    ['client_max_window_bits=15', 'permessage-deflate; client_max_window_bits=15', 'permessage-deflate; client_max_window_bits=15'],
    ['server_max_window_bits=8 (we then send uncompressed)', 'permessage-deflate; server_max_window_bits=8', 'permessage-deflate; server_max_window_bits=8'],
    ['several offers, the first acceptable wins', 'permessage-deflate; client_max_window_bits=7, permessage-deflate; client_no_context_takeover; client_max_window_bits=9', 'permessage-deflate; client_max_window_bits=9; client_no_context_takeover'],
  ])('13.x %s: answered as RFC 7692 requires, and messages echo', async (_name, offer, answer) => {
    const { port } = await deflateEchoServer();
    const peer = await RawPeer.toServer(port, '/', [`Sec-WebSocket-Extensions: ${offer}`]);
    expect(peer.handshake).toContain(`Sec-WebSocket-Extensions: ${answer}`);
    const message = 'ab'.repeat(3000);
    peer.send([
      { opcode: 1, rsv: 0x40, payload: compress(message) },
      { opcode: 1, rsv: 0x40, payload: compress(message) },
    ]);
    expect(await peer.until(() => peer.dataFrames.length === 2)).toBe(true);
    for (const frame of peer.dataFrames) {
      if (offer.includes('server_max_window_bits=8')) expect(frame.rsv).toBe(0);
      if (frame.rsv === 0) expect(frame.payload.toString()).toBe(message);
    }
    // The first echo starts a fresh compression context, so it inflates on its own.
    const first = peer.dataFrames[0]!;
    expect((first.rsv ? inflate(first.payload) : first.payload).toString()).toBe(message);
    peer.destroy();
  });
});
