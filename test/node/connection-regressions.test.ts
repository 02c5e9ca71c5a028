// Regression tests for the connection-layer defects: each one failed (a crash, a lost message, a
// hang or a wrong answer) before the connection was rebuilt. Public API only, real sockets on
// loopback, hostile peers played with raw TCP.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServerOptions, WebSocket, type WebSocketServer } from '../../src/index.js';
import { next, openClient, RawClient, startServer, upgradeRequest } from '../helpers/node.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate';
/** A masked (zero key), compressed text frame: raw deflate of "hello" without the 00 00 ff ff tail. */
const COMPRESSED_HELLO_MASKED = Buffer.from('c18700000000ca48cdc9c90700', 'hex');
/** The same, unmasked, as a server sends it. */
const COMPRESSED_HELLO = Buffer.from('c107ca48cdc9c90700', 'hex');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Errors that reached the event loop during a test. */
let escaped: unknown[] = [];
const collect = (error: unknown) => escaped.push(error);
beforeEach(() => {
  escaped = [];
  process.on('uncaughtException', collect);
  process.on('unhandledRejection', collect);
  cleanups.push(() => {
    process.off('uncaughtException', collect);
    process.off('unhandledRejection', collect);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function maskedFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  if (data.length > 125) throw new Error('short frames only');
  // A zero masking key leaves the payload as is.
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | data.length, 0, 0, 0, 0]), data]);
}

async function echoServer(options = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const started = await startServer(options);
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanups.push(() => started.wss.close());
  return started;
}

async function upgradedRaw(port: number, extra: string[] = []): Promise<RawClient> {
  const raw = await RawClient.open(port);
  cleanups.push(() => raw.socket.destroy());
  raw.write(upgradeRequest('/', extra));
  await raw.until(() => raw.text().includes('\r\n\r\n'));
  expect(raw.text()).toMatch(/^HTTP\/1\.1 101/);
  return raw;
}

/** A raw TCP server that answers every upgrade with `respond(key)` and then runs `then(socket)`. */
async function rawServer(respond: (key: string) => string, then: (socket: Socket) => void = () => undefined): Promise<{ url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server: NetServer = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *([^\r]+)/i.exec(head)?.[1] ?? '';
      socket.write(respond(key));
      then(socket);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

/**
 * A WebSocketServer behind an http.Server on loopback: attached (`{ server }`), or with
 * `noServer: true` driven through handleUpgrade from the http server's 'upgrade' event.
 */
async function attachedServer(options: Omit<ServerOptions, 'port' | 'server'>): Promise<{ wss: WebSocketServer; port: number }> {
  const http = createHttpServer();
  const { WebSocketServer } = await import('../../src/index.js');
  const wss = options.noServer === true ? new WebSocketServer(options) : new WebSocketServer({ ...options, server: http });
  if (options.noServer === true) {
    http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
  }
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  cleanups.push(() => new Promise((resolve) => http.close(resolve)), () => wss.close());
  return { wss, port: (http.address() as AddressInfo).port };
}

const accept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');
const switching = (key: string, extra: string[] = []) =>
  ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept(key)}`, ...extra, '', ''].join('\r\n');

describe('1. remote crash: a compressed message followed at once by the end of TCP', () => {
  it.each(['FIN', 'RST'] as const)('the server survives 25 clients that send it and then %s, and still echoes', async (ending) => {
    const { port, url } = await echoServer({ perMessageDeflate: true });
    for (let i = 0; i < 25; i++) {
      const raw = await upgradedRaw(port, [DEFLATE_OFFER]);
      raw.socket.write(COMPRESSED_HELLO_MASKED);
      if (ending === 'FIN') raw.socket.end();
      else raw.socket.resetAndDestroy();
    }
    await sleep(100);
    const ws = await openClient(url);
    ws.send('still here');
    const [data] = await next<[Buffer]>(ws, 'message');
    expect(data.toString()).toBe('still here');
    ws.close();
    expect(escaped).toEqual([]);
  });

  it('the client survives a server that sends a compressed message and FIN while its handler replies', async () => {
    const { url } = await rawServer(
      (key) => switching(key, ['Sec-WebSocket-Extensions: permessage-deflate']),
      (socket) => socket.end(COMPRESSED_HELLO),
    );
    for (let i = 0; i < 10; i++) {
      const ws = new WebSocket(url);
      const got: string[] = [];
      ws.on('message', (data) => {
        got.push(String(data));
        ws.send('reply');
        ws.ping();
        ws.pong();
      });
      const [code] = await next<[number]>(ws, 'close');
      expect(code).toBe(1006);
      expect(got).toEqual(['hello']);
    }
    expect(escaped).toEqual([]);
  });

  it('send, ping and pong after the end are clean errors to their callbacks, never throws', async () => {
    const { port, wss } = await echoServer({ perMessageDeflate: true });
    const errors: string[] = [];
    wss.removeAllListeners('connection');
    wss.on('connection', (ws) =>
      ws.on('message', () => {
        ws.send('x', (error) => errors.push(String(error?.message)));
        ws.ping(undefined, undefined, (error) => errors.push(String(error?.message)));
      }),
    );
    const raw = await upgradedRaw(port, [DEFLATE_OFFER]);
    raw.socket.end(COMPRESSED_HELLO_MASKED);
    await raw.until(() => errors.length === 2);
    expect(errors.every((m) => m.includes('not open'))).toBe(true);
    expect(escaped).toEqual([]);
  });
});

describe('2. close() arguments are validated at the call', () => {
  it('a reason over 123 bytes throws synchronously while a message is being compressed', async () => {
    const { url } = await echoServer({ perMessageDeflate: true });
    const ws = await openClient(url);
    ws.send('compress me '.repeat(10_000));
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(/123 bytes/);
    // 1005 "MUST NOT be set as a status code in a Close control frame" (§7.4.1): a TypeError, as in ws.
    expect(() => ws.close(1005)).toThrow(TypeError);
    void ws.close();
    await ws.closed;
    await sleep(20);
    expect(escaped).toEqual([]);
  });
  it('an invalid code throws at once in every state', async () => {
    const { url } = await echoServer();
    const ws = new WebSocket(url);
    expect(() => ws.close(999)).toThrow(/may not be sent/);
    await next(ws, 'open');
    ws.close();
    await ws.closed;
    expect(() => ws.close(1000, 'y'.repeat(200))).toThrow(/123 bytes/);
  });
});

describe('3. frames sent right behind the upgrade request reach the connection listeners', () => {
  const request = Buffer.concat([Buffer.from(upgradeRequest('/'), 'latin1'), maskedFrame(1, 'early bird')]);
  const expectEarlyMessage = async (port: number, wss: WebSocketServer) => {
    const got = new Promise<string>((resolve) => wss.on('connection', (ws) => ws.on('message', (d) => resolve(String(d)))));
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(request);
    await expect(Promise.race([got, sleep(2000).then(() => 'lost')])).resolves.toBe('early bird');
  };
  it('standalone', async () => {
    const { wss, port } = await startServer();
    cleanups.push(() => wss.close());
    await expectEarlyMessage(port, wss);
  });
  it('attached to an http.Server', async () => {
    const { wss, port } = await attachedServer({});
    await expectEarlyMessage(port, wss);
  });
  it('handleUpgrade (noServer)', async () => {
    const { wss, port } = await attachedServer({ noServer: true });
    await expectEarlyMessage(port, wss);
  });
});

describe('4. bytes arriving while an async verify runs are kept', () => {
  it('a frame written during verify is delivered after the connection opens', async () => {
    const { wss, port } = await startServer({ verify: () => sleep(150).then(() => true) });
    cleanups.push(() => wss.close());
    const got = new Promise<string>((resolve) => wss.on('connection', (ws) => ws.on('message', (d) => resolve(String(d)))));
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(upgradeRequest('/'));
    await sleep(50);
    raw.write(maskedFrame(1, 'during verify'));
    await expect(Promise.race([got, sleep(2000).then(() => 'lost')])).resolves.toBe('during verify');
  });
});

describe('5. compressed sends accepted before the peer closes still go out', () => {
  it('an echo of 4 messages sent just before the client closes: all 4 arrive, then the close', async () => {
    const { url } = await echoServer({ perMessageDeflate: { threshold: 0 } });
    const ws = await openClient(url);
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d)));
    for (let i = 0; i < 4; i++) ws.send(`message ${i} `.repeat(500));
    ws.close(1000);
    const info = await ws.closed;
    expect(info.code).toBe(1000);
    expect(got.map((m) => m.slice(0, 9))).toEqual(['message 0', 'message 1', 'message 2', 'message 3']);
  });
  it('server side: sends made in the message handler before the peer close are written', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(() => wss.close());
    const callbacks: (string | null)[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (d) => {
        for (let i = 0; i < 3; i++) ws.send(`${String(d)}-${i} `.repeat(300), (error) => callbacks.push(error ? error.message : null));
      }),
    );
    const ws = await openClient(url);
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d).slice(0, 3)));
    ws.send('abc');
    ws.close();
    await ws.closed;
    expect(got).toEqual(['abc', 'abc', 'abc']);
    await sleep(20);
    expect(callbacks).toEqual([null, null, null]);
  });
});

describe('6. pause() holds against the inflate path', () => {
  it('no message arrives while paused, with permessage-deflate', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
    cleanups.push(() => wss.close());
    wss.on('connection', (ws) => {
      ws.send('first '.repeat(100));
      setTimeout(() => ws.send('second '.repeat(100)), 100);
    });
    const ws = await openClient(url);
    const got: string[] = [];
    ws.on('message', (d) => {
      got.push(String(d).slice(0, 6));
      if (got.length === 1) ws.pause();
    });
    await sleep(400);
    expect(got).toEqual(['first ']);
    expect(ws.isPaused).toBe(true);
    ws.resume();
    await sleep(100);
    expect(got).toEqual(['first ', 'second']);
    ws.close();
  });
});

describe('7. sendAsync settles when the connection closes while it waits for drain', () => {
  it('rejects instead of hanging', async () => {
    // A server that completes the handshake and never reads again.
    const { url } = await rawServer(
      (key) => switching(key),
      (socket) => socket.pause(),
    );
    const ws = await openClient(url, [], { highWaterMark: 1024, perMessageDeflate: false });
    // 16 MiB: more than the kernel's socket buffers take, so the output stays above the mark.
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 64; i++) ws.send(chunk);
    const pending = ws.sendAsync('waits for drain');
    const settled = pending.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    );
    await sleep(50);
    ws.terminate();
    await expect(Promise.race([settled, sleep(2000).then(() => 'hung')])).resolves.toMatch(/^rejected: .*not open/);
  });
});

describe('8. one zlib limiter per process', () => {
  it('connections with different settings share the same concurrency limit', async () => {
    const { setZlibConcurrency } = await import('../../src/index.js');
    const { zlibLimiter } = await import('../../src/node/connection/zlib-engine.js');
    setZlibConcurrency(1);
    cleanups.push(() => setZlibConcurrency(10));
    const a = await echoServer({ perMessageDeflate: { threshold: 0, level: 1 } });
    const b = await echoServer({ perMessageDeflate: { threshold: 0, level: 9 } });
    const clients = [await openClient(a.url), await openClient(b.url, [], { perMessageDeflate: { threshold: 0, memLevel: 4 } })];
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, zlibLimiter.active)), 0);
    cleanups.push(() => clearInterval(sampler));
    const done = clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let n = 0;
          ws.on('message', () => {
            peak = Math.max(peak, zlibLimiter.active);
            if (++n === 20) resolve();
          });
        }),
    );
    for (let i = 0; i < 20; i++) for (const ws of clients) ws.send(`payload ${i} `.repeat(2000));
    await Promise.all(done);
    expect(peak).toBe(1);
    for (const ws of clients) ws.close();
  });
});

describe('9. heartbeatInterval counts silence, not time', () => {
  it('no ping while the peer keeps talking; a ping after an interval of silence', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    let pings = 0;
    let server: WebSocket | undefined;
    wss.on('connection', (ws) => {
      server = ws;
      ws.on('ping', () => pings++);
    });
    const ws = await openClient(url, [], { heartbeatInterval: 150 });
    await sleep(20);
    const talker = setInterval(() => server?.send('tick'), 30);
    await sleep(600);
    clearInterval(talker);
    expect(pings).toBe(0);
    await sleep(400);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
  it('terminates a peer that answers nothing', async () => {
    const { url } = await rawServer((key) => switching(key));
    const ws = await openClient(url, [], { heartbeatInterval: 100 });
    const started = Date.now();
    const [code] = await next<[number]>(ws, 'close', 2000);
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(600);
  });
});

describe('11. handleProtocols choosing a subprotocol that was not offered', () => {
  it('answers 500 without crashing when nobody listens for errors', async () => {
    const { wss, url } = await startServer({ handleProtocols: () => 'not-offered' });
    cleanups.push(() => wss.close());
    const warned = new Promise((resolve) => process.once('warning', resolve));
    const ws = new WebSocket(url, ['chat']);
    ws.on('error', () => undefined);
    const [, response] = await next<[unknown, { statusCode: number; resume(): void }]>(ws, 'unexpected-response');
    expect(response.statusCode).toBe(500);
    response.resume();
    await warned;
    expect(escaped).toEqual([]);
  });
});

describe('12. a socket half-closed while verify runs is not upgraded', () => {
  const verify = () => sleep(100).then(() => true);
  const expectNoConnection = async (wss: WebSocketServer, port: number) => {
    let connections = 0;
    wss.on('connection', () => connections++);
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(upgradeRequest('/'));
    raw.socket.end();
    await sleep(300);
    expect(connections).toBe(0);
    expect(wss.clients.size).toBe(0);
    expect(raw.text()).not.toMatch(/101/);
  };
  it('standalone', async () => {
    const { wss, port } = await startServer({ verify });
    cleanups.push(() => wss.close());
    await expectNoConnection(wss, port);
  });
  it('attached to an http.Server (verifyClient, async)', async () => {
    const { wss, port } = await attachedServer({ verifyClient: (_info, cb) => void sleep(100).then(() => cb(true)) });
    await expectNoConnection(wss, port);
  });
});

/** Two Duplex streams wired to each other, like a socket pair (no node:net). */
function duplexPair(): [Duplex, Duplex] {
  let a: Duplex;
  let b: Duplex;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

describe('13. handleUpgrade: twice on one socket, and over any Duplex', () => {
  const fakeRequest = (socket: Duplex) =>
    ({
      method: 'GET',
      url: '/',
      httpVersion: '1.1',
      rawHeaders: ['Host', 'x', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', KEY, 'Sec-WebSocket-Version', '13'],
      headers: {},
      socket,
    }) as unknown as IncomingMessage;

  it('throws when called twice with the same socket', async () => {
    const { WebSocketServer } = await import('../../src/index.js');
    const wss = new WebSocketServer({ noServer: true, closeTimeout: 100 });
    cleanups.push(() => wss.close());
    const [server, client] = duplexPair();
    client.on('data', () => undefined);
    wss.handleUpgrade(fakeRequest(server), server, Buffer.alloc(0), () => undefined);
    expect(() => wss.handleUpgrade(fakeRequest(server), server, Buffer.alloc(0), () => undefined)).toThrow(/more than once/);
  });

  it('upgrades and echoes over a plain stream.Duplex', async () => {
    const { WebSocketServer } = await import('../../src/index.js');
    const wss = new WebSocketServer({ noServer: true, closeTimeout: 100 });
    cleanups.push(() => wss.close());
    const [server, client] = duplexPair();
    let received = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    wss.handleUpgrade(fakeRequest(server), server, Buffer.alloc(0), (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    await sleep(10);
    expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    const headEnd = received.indexOf('\r\n\r\n') + 4;
    client.write(maskedFrame(1, 'over a duplex'));
    await sleep(20);
    expect(received.subarray(headEnd).toString('latin1')).toBe('\x81\x0dover a duplex');
    expect(escaped).toEqual([]);
  });
});

describe('14. a malformed status line fails the client at once', () => {
  it('errors within a few ms instead of at the handshake timeout', async () => {
    const { url } = await rawServer(() => 'foo\r\n');
    const ws = new WebSocket(url);
    const started = Date.now();
    const [error] = await next<[Error]>(ws, 'error', 3000);
    expect((error as { code?: string }).code).toBe('WS_ERR_INVALID_HANDSHAKE');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('15. TLS slowloris: the handshake timeout covers the TLS handshake', () => {
  it('drops sockets that send no ClientHello or a partial one', async () => {
    const fixtures = join(import.meta.dirname, '..', 'fixtures');
    const tls = { key: readFileSync(join(fixtures, 'key.pem')), cert: readFileSync(join(fixtures, 'cert.pem')) };
    const { wss, port } = await startServer({ tls, handshakeTimeout: 300 });
    cleanups.push(() => wss.close());
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      if (i % 2 === 1) socket.once('connect', () => socket.write(Buffer.from('16030100ff0100', 'hex')));
      sockets.push(socket);
    }
    cleanups.push(() => sockets.forEach((s) => s.destroy()));
    const started = Date.now();
    await Promise.all(sockets.map((s) => (s.closed ? Promise.resolve() : once(s, 'close'))));
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('every callback settles exactly once when the connection ends', () => {
  it('pending sends, compressed or not, each get one error when the socket is destroyed', async () => {
    const { url } = await rawServer(
      (key) => switching(key, ['Sec-WebSocket-Extensions: permessage-deflate']),
      (socket) => socket.pause(),
    );
    const ws = await openClient(url, [], { perMessageDeflate: { threshold: 0 } });
    const calls: number[] = new Array(50).fill(0);
    for (let i = 0; i < 50; i++) ws.send(`m${i} `.repeat(i * 100), { compress: i % 2 === 0 }, () => calls[i]!++);
    ws.terminate();
    await ws.closed;
    await sleep(50);
    expect(calls.every((n) => n === 1)).toBe(true);
  });
});

describe('pause() before reading starts', () => {
  it('a pause() in the client open listener holds until resume()', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    wss.on('connection', (ws) => ws.send('hello'));
    const ws = new WebSocket(url);
    const got: string[] = [];
    ws.on('open', () => ws.pause());
    ws.on('message', (d) => got.push(String(d)));
    await next(ws, 'open');
    await sleep(200);
    expect(got).toEqual([]);
    ws.resume();
    await sleep(100);
    expect(got).toEqual(['hello']);
    ws.close();
    await ws.closed;
  });
  it('a pause() in the server connection listener holds frames sent with the request', async () => {
    const { wss, port } = await startServer();
    cleanups.push(() => wss.close());
    const got: string[] = [];
    let server: WebSocket | undefined;
    wss.on('connection', (ws) => {
      server = ws;
      ws.pause();
      ws.on('message', (d) => got.push(String(d)));
    });
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(Buffer.concat([Buffer.from(upgradeRequest('/'), 'latin1'), maskedFrame(1, 'first')]));
    await sleep(100);
    raw.write(maskedFrame(1, 'second'));
    await sleep(200);
    expect(got).toEqual([]);
    server!.resume();
    await sleep(100);
    expect(got).toEqual(['first', 'second']);
  });
});

describe('a peer that half-closes without a close frame', () => {
  // A standalone server's sockets end themselves on the peer's FIN (allowHalfOpen false); an
  // http.Server's are half-open. Both must report 1006 and close the TCP connection at once.
  for (const mode of ['standalone', 'attached to an http.Server'] as const) {
    it(`${mode}: 'close' 1006 and the TCP connection closed`, async () => {
      const { wss, port } = mode === 'standalone' ? await startServer() : await attachedServer({});
      if (mode === 'standalone') cleanups.push(() => wss.close());
      const closed = new Promise<number>((resolve) => wss.on('connection', (ws) => ws.on('close', (code: number) => resolve(code))));
      const raw = await RawClient.open(port);
      cleanups.push(() => raw.socket.destroy());
      raw.write(upgradeRequest('/'));
      await raw.until(() => raw.text().includes('\r\n\r\n'));
      raw.socket.end();
      expect(await closed).toBe(1006);
      await raw.until(() => raw.closed, 1000);
    });
  }
});

describe('a peer that half-closes while our output waits and reads nothing more', () => {
  // A socket that ends itself on the peer's FIN closes only once its output is written: the
  // connection must learn of the FIN itself (CLOSING, then 1006 at once, its admission slot
  // given back), and the socket left with unread output is destroyed after closeTimeout.
  it("the connection closes with 1006 at once and the socket is gone after closeTimeout, even with the stall check off", async () => {
    const { wss, port } = await startServer({ stalledOutputTimeout: 0, closeTimeout: 300 });
    cleanups.push(() => wss.close());
    const accepted = new Promise<[WebSocket, Socket]>((resolve) => wss.once('connection', (ws, request) => resolve([ws as WebSocket, request.socket as Socket])));
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(upgradeRequest('/'));
    await raw.until(() => raw.text().includes('\r\n\r\n'));
    raw.socket.pause(); // reads nothing more
    const [ws, socket] = await accepted;
    const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
    for (let i = 0; i < 8; i++) ws.send(Buffer.alloc(4 << 20));
    raw.socket.end();
    expect(await closed).toBe(1006);
    expect(wss.stats().open).toBe(0);
    expect(socket.destroyed).toBe(false); // still trying to hand its output over
    await raw.until(() => socket.destroyed, 3000);
  });
});
