// ws code that must run unchanged after switching the import (issue 11): argument forms, options,
// events, objects, constants, error classes, ws's WHATWG emulation, createWebSocketStream, the
// maxBufferedAmount defect and the defaults ws peers rely on. Real ws peers where it matters.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, type ClientRequest, createServer, IncomingMessage, type Server } from 'node:http';
import { type LookupFunction, connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WsLib, { WebSocketServer as WsServer } from 'ws';
import WebSocket, {
  createWebSocketStream,
  DEFAULT_MAX_PAYLOAD,
  type ClientOptions,
  ErrorCode,
  type ServerOptions,
  WebSocketError,
  WebSocketServer,
} from '../../src/index.js';
import { next, openClient, RawClient, runFixture, startServer, upgradeRequest } from '../helpers/node.js';
import { buildFrame, concatBytes } from '../helpers/frames.js';
import { freePort } from '../helpers/ports.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echo(options: Omit<ServerOptions, 'port'> = {}) {
  const started = await startServer(options);
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanups.push(() => started.wss.close());
  return started;
}

async function wsServer(options: ConstructorParameters<typeof WsServer>[0] = {}): Promise<{ wss: WsServer; url: string }> {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

/** A raw TCP peer that sends the upgrade request and then reads only what the test reads itself. */
async function pausedRawPeer(port: number): Promise<RawClient> {
  const raw = await RawClient.open(port);
  raw.socket.pause();
  raw.socket.removeAllListeners('data');
  raw.write(upgradeRequest());
  return raw;
}

async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port };
}

describe('module shape and objects', () => {
  it('properties ws code attaches to a WebSocket do not collide with the library internals', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const names = ['connection', 'iterator', 'onMessage', 'onClosed', 'onError', 'socket', 'id', 'isAlive', 'remoteAddress', 'closed', 'topics', 'user', 'room'];
    wss.on('connection', (ws) => {
      const bag = ws as unknown as Record<string, unknown>;
      for (const name of names) bag[name] = `app ${name}`;
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const client = await openClient(url);
    const bag = client as unknown as Record<string, unknown>;
    for (const name of names) bag[name] = `app ${name}`;
    for (const name of names) expect(bag[name]).toBe(`app ${name}`);
    client.send('still works');
    const [data] = await next<[Buffer]>(client, 'message');
    expect(String(data)).toBe('still works');
    const closed = next<[number]>(client, 'close');
    await client.close(1000);
    expect((await closed)[0]).toBe(1000);
  });

  it('eventNames() lists only the events with listeners; listeners are added and removed as on any EventEmitter', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = new WebSocket(url);
    expect(ws.eventNames()).toEqual([]);
    const onMessage = () => undefined;
    ws.on('message', onMessage);
    ws.on('ping', () => undefined);
    expect(ws.eventNames()).toEqual(['message', 'ping']);
    expect(ws.listenerCount('message')).toBe(1);
    ws.off('message', onMessage);
    expect(ws.eventNames()).toEqual(['ping']);
    ws.removeAllListeners();
    expect(ws.eventNames()).toEqual([]);
    await next(ws, 'open');
    ws.terminate();
  });

  it('default export is the class, with ws root properties', () => {
    expect(WebSocket.WebSocket).toBe(WebSocket);
    expect(WebSocket.Server).toBe(WebSocketServer);
    expect(WebSocket.WebSocketServer).toBe(WebSocketServer);
    expect(WebSocket.createWebSocketStream).toBe(createWebSocketStream);
  });

  it('constants are read-only on the class and the prototype; attributes are enumerable prototype accessors', () => {
    for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
      for (const target of [WebSocket, WebSocket.prototype]) {
        const descriptor = Object.getOwnPropertyDescriptor(target, name)!;
        expect([descriptor.value, descriptor.writable, descriptor.enumerable]).toEqual([value, false, true]);
      }
    }
    for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'protocol', 'readyState', 'url', 'isPaused', 'onopen', 'onmessage', 'onclose', 'onerror']) {
      const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
      expect(descriptor.enumerable, name).toBe(true);
      expect(typeof descriptor.get, name).toBe('function');
    }
  });

  it('throws the built-in error classes, with the stable code', () => {
    const url = () => new WebSocket('not a url');
    expect(url).toThrow(SyntaxError);
    expect(() => new WebSocket('ftp://127.0.0.1/')).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://127.0.0.1:1/', ['a b'])).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://127.0.0.1:1/', ['a', 'a'])).toThrow(SyntaxError);
    expect(() => new WebSocket('ws://127.0.0.1:1/', { protocolVersion: 9 as 8 })).toThrow(RangeError);
    try {
      url();
    } catch (error) {
      expect((error as WebSocketError).code).toBe(ErrorCode.InvalidArgument);
      expect(error instanceof WebSocketError).toBe(true);
    }
    expect(new Error('x') instanceof WebSocketError).toBe(false);
  });

  it('binaryType takes ws values and blob, and ignores others', () => {
    const ws = new WebSocket('ws://127.0.0.1:1/');
    ws.on('error', () => undefined);
    for (const value of ['arraybuffer', 'fragments', 'blob', 'nodebuffer'] as const) {
      ws.binaryType = value;
      expect(ws.binaryType).toBe(value);
    }
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'bogus' as 'blob';
    expect(ws.binaryType).toBe('arraybuffer');
    ws.terminate();
  });
});

describe('arguments ws users pass', () => {
  it('send(number), send() with no data, falsy values, arrays; isPaused', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    cleanups.push(() => ws.terminate());
    const got: [string, boolean][] = [];
    ws.on('message', (data, isBinary) => got.push([String(data), isBinary]));
    ws.send(42);
    ws.send();
    ws.send('');
    ws.send(null);
    ws.send([104, 105]);
    await new Promise<void>((resolve) => ws.send('end', () => resolve()));
    while (got.length < 6) await next(ws, 'message');
    expect(got).toEqual([
      ['42', false],
      ['', true],
      ['', false],
      ['', true],
      ['hi', true],
      ['end', false],
    ]);
    expect(ws.isPaused).toBe(false);
    ws.pause();
    expect(ws.isPaused).toBe(true);
    ws.resume();
  });

  it('Blob payloads are sent in order with what follows them', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    cleanups.push(() => ws.terminate());
    const got: string[] = [];
    ws.on('message', (data) => got.push(String(data)));
    let called = 0;
    ws.send(new Blob(['one']), () => called++);
    ws.send('two', () => called++);
    ws.send(new Blob(['three']), () => called++);
    while (got.length < 3) await next(ws, 'message');
    expect(got).toEqual(['one', 'two', 'three']);
    expect(called).toBe(3);
  });

  it('ping(cb), ping(data, cb), ping(data, mask, cb), pong(cb): every callback is called', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    cleanups.push(() => ws.terminate());
    const results = await Promise.all([
      new Promise((resolve) => ws.ping((error?: Error) => resolve(error ?? 'ok'))),
      new Promise((resolve) => ws.ping('a', (error?: Error) => resolve(error ?? 'ok'))),
      new Promise((resolve) => ws.ping(Buffer.from('b'), true, (error?: Error) => resolve(error ?? 'ok'))),
      new Promise((resolve) => ws.ping(7, undefined, (error?: Error) => resolve(error ?? 'ok'))),
      new Promise((resolve) => ws.pong((error?: Error) => resolve(error ?? 'ok'))),
    ]);
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(() => ws.ping(Buffer.alloc(126))).toThrow(RangeError);
  });

  it('close() without a code sends no status: a ws peer sees 1005', async () => {
    const { wss, url } = await wsServer();
    const seen = new Promise<number>((resolve) => wss.on('connection', (peer) => peer.on('close', (code) => resolve(code))));
    const ws = await openClient(url);
    const closed = next<[number]>(ws, 'close');
    void ws.close();
    expect(await seen).toBe(1005);
    const [code] = await closed;
    expect(code).toBe(1005);
  });

  it("the peer's close code and reason are echoed", async () => {
    const { wss, url } = await wsServer();
    const echoed = new Promise<[number, string]>((resolve) =>
      wss.on('connection', (peer) => {
        peer.on('close', (code, reason) => resolve([code, reason.toString()]));
        peer.close(4001, 'bye now');
      }),
    );
    const ws = await openClient(url);
    const [code, reason] = await next<[number, Buffer]>(ws, 'close');
    expect([code, reason.toString()]).toEqual([4001, 'bye now']);
    expect(await echoed).toEqual([4001, 'bye now']);
  });

  it('close codes and reasons are checked with TypeError and RangeError', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    cleanups.push(() => ws.terminate());
    expect(() => ws.close(1005)).toThrow(TypeError);
    expect(() => ws.close('1000' as unknown as number)).toThrow(TypeError);
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(RangeError);
  });
});

describe('binaryType and the WHATWG emulation', () => {
  it('delivers binary as Buffer, ArrayBuffer, Buffer[] or Blob', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    cleanups.push(() => ws.terminate());
    const kinds: string[] = [];
    for (const type of ['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const) {
      ws.binaryType = type;
      ws.send(Buffer.from([1, 2, 3]));
      const [data] = await next<[unknown]>(ws, 'message');
      kinds.push(Buffer.isBuffer(data) ? 'Buffer' : data instanceof ArrayBuffer ? 'ArrayBuffer' : Array.isArray(data) ? 'Buffer[]' : data instanceof Blob ? 'Blob' : typeof data);
      if (data instanceof Blob) expect([...new Uint8Array(await data.arrayBuffer())]).toEqual([1, 2, 3]);
    }
    expect(kinds).toEqual(['Buffer', 'ArrayBuffer', 'Buffer[]', 'Blob']);
  });

  it('onopen/onmessage/onclose/onerror and addEventListener get event objects', async () => {
    const { url } = await echo();
    const ws = new WebSocket(url);
    const events: unknown[] = [];
    ws.onopen = function (event) {
      events.push([event.type, event.target === ws, this === ws]);
      ws.send('text');
    };
    const onMessage = (event: { type: string; data: unknown; target: unknown }) => {
      events.push([event.type, event.data, event.target === ws]);
      void ws.close(4000, 'done');
    };
    ws.addEventListener('message', onMessage);
    ws.addEventListener('message', onMessage); // the same listener is added once
    expect(ws.listenerCount('message')).toBe(1);
    let handled = 0;
    ws.addEventListener('message', { handleEvent: () => handled++ }, { once: true });
    ws.onerror = () => events.push('error');
    const closed = new Promise<void>((resolve) => {
      ws.onclose = (event) => {
        events.push([event.type, event.code, event.reason, event.wasClean]);
        resolve();
      };
    });
    expect(typeof ws.onclose).toBe('function');
    await closed;
    expect(events).toEqual([
      ['open', true, true],
      ['message', 'text', true],
      ['close', 4000, 'done', true],
    ]);
    expect(handled).toBe(1);
    ws.onmessage = null;
    ws.removeEventListener('message', onMessage);
    expect(ws.listenerCount('message')).toBe(0);
  });

  it('onerror receives an ErrorEvent-shaped object', async () => {
    const server = createNetServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    const [event] = await new Promise<[{ type: string; message: string; error: Error }]>((resolve) => {
      ws.onerror = (e) => resolve([e]);
    });
    expect(event.type).toBe('error');
    expect(event.error).toBeInstanceOf(Error);
    expect(event.message).toBe(event.error.message);
    expect((event.error as WebSocketError).code).toBe(ErrorCode.ConnectionFailed);
    expect(((event.error as Error & { cause?: { code?: string } }).cause)?.code).toBe('ECONNRESET');
  });
});

describe('client options and events', () => {
  it("'upgrade' gives the 101 response (Set-Cookie readable); auth from the URL becomes Authorization", async () => {
    const { wss, url } = await echo();
    wss.on('headers', (headers) => headers.push('Set-Cookie: session=1'));
    let authorization: string | undefined;
    wss.on('connection', (_ws, req) => {
      authorization = req.headers.authorization;
    });
    const ws = new WebSocket(url.replace('ws://', 'ws://user:p%40ss@'));
    cleanups.push(() => ws.terminate());
    const upgraded = next<[IncomingMessage]>(ws, 'upgrade');
    const opened = next(ws, 'open');
    const [response] = await upgraded;
    expect(response.statusCode).toBe(101);
    expect(response.headers['set-cookie']).toEqual(['session=1']);
    await opened;
    expect(authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  });

  it("'unexpected-response' gives (req, res) with a readable body, and no 'error' follows", async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain', 'x-why': 'policy' });
      res.end('go away');
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const errors: Error[] = [];
    ws.on('error', (error) => errors.push(error));
    const closed = next<[number]>(ws, 'close');
    const [request, response] = await next<[{ method: string; path: string }, IncomingMessage]>(ws, 'unexpected-response');
    expect([request.method, request.path]).toEqual(['GET', '/']);
    expect([response.statusCode, response.headers['x-why']]).toEqual([403, 'policy']);
    let body = '';
    for await (const chunk of response) body += String(chunk);
    expect(body).toBe('go away');
    const [code] = await closed;
    expect(code).toBe(1006);
    expect(errors).toEqual([]);
  });

  it("an 'unexpected-response' whose body never ends closes at handshakeTimeout, still with no 'error'", async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.write('never ends');
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 200 });
    const errors: Error[] = [];
    ws.on('error', (error) => errors.push(error));
    ws.on('unexpected-response', () => undefined);
    const [code] = await next<[number]>(ws, 'close');
    expect(code).toBe(1006);
    expect(errors).toEqual([]);
  });

  it('without an unexpected-response listener, a rejection is an error with the status', async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(401);
      res.end('no');
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const [error] = await next<[WebSocketError & { status: number }]>(ws, 'error');
    expect([error.code, error.status]).toEqual([ErrorCode.HandshakeRejected, 401]);
  });

  it('accepts the request options ws passes to Node: agent, family, lookup, localAddress, timeout, generateMask, maxBufferedChunks, a Host header', async () => {
    const { wss, url } = await echo();
    let host: string | undefined;
    wss.on('connection', (_ws, req) => {
      host = req.headers.host;
    });
    let looked = 0;
    const fakeLookup: LookupFunction = (_host, options, callback) => {
      looked++;
      const reply = callback as unknown as (...args: unknown[]) => void;
      if ((options as { all?: boolean }).all === true) reply(null, [{ address: '127.0.0.1', family: 4 }]);
      else reply(null, '127.0.0.1', 4);
    };
    const ws = await openClient(url, [], {
      agent: new Agent(),
      family: 4,
      localAddress: '127.0.0.1',
      lookup: fakeLookup,
      timeout: 1000,
      generateMask: () => undefined,
      maxBufferedChunks: 10,
      maxPendingAutoPongs: 10,
      allowSynchronousEvents: false,
      headers: { Host: 'custom.example' },
      origin: 'http://custom.example',
    });
    ws.terminate();
    expect(host).toBe('custom.example');
    const byName = await openClient(url.replace('127.0.0.1', 'name.invalid'), [], { lookup: fakeLookup });
    byName.terminate();
    expect(looked).toBeGreaterThan(0);

  });

  it('createConnection makes the socket and finishRequest sends the request', async () => {
    const { wss, url } = await echo();
    let extra: string | undefined;
    wss.on('connection', (_ws, req) => {
      extra = req.headers['x-extra'] as string;
    });
    let made = 0;
    const port = Number(new URL(url).port);
    const ws = await openClient(url, [], {
      createConnection: () => {
        made++;
        return netConnect(port, '127.0.0.1');
      },
      finishRequest: (request, websocket) => {
        expect(websocket).toBeInstanceOf(WebSocket);
        request.setHeader('X-Extra', 'yes');
        request.end();
      },
    });
    ws.terminate();
    expect([made, extra]).toEqual([1, 'yes']);
  });

  it('followRedirects with a redirect event; Authorization and Cookie are dropped on a host change', async () => {
    const { wss, url } = await echo();
    let seen: Record<string, unknown> = {};
    wss.on('connection', (_ws, req) => {
      seen = { authorization: req.headers.authorization, cookie: req.headers.cookie, url: req.url };
    });
    const target = url.replace('127.0.0.1', 'localhost');
    const { port } = await httpServer((_req, res) => {
      res.writeHead(302, { location: `${target}/next` });
      res.end();
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true, headers: { Authorization: 'Bearer x', Cookie: 'a=1' } });
    const redirects: string[] = [];
    // With a 'redirect' listener the headers are the application's business: kept.
    ws.once('redirect', (location: string) => redirects.push(location));
    await next(ws, 'open');
    expect(redirects).toEqual([`${target}/next`]);
    expect(ws.url).toBe(`${target}/next`);
    expect(seen).toEqual({ authorization: 'Bearer x', cookie: 'a=1', url: '/next' });
    ws.terminate();
    // The listener gets the request before it is sent (as in ws), so it can drop what it wants.
    const editing = new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true, headers: { Authorization: 'Bearer x', Cookie: 'a=1' } });
    editing.once('redirect', (_location: string, request: ClientRequest) => request.removeHeader('authorization'));
    await next(editing, 'open');
    expect(seen).toEqual({ authorization: undefined, cookie: 'a=1', url: '/next' });
    editing.terminate();
    const quiet = new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true, headers: { Authorization: 'Bearer x', Cookie: 'a=1' } });
    await next(quiet, 'open');
    expect(seen).toEqual({ authorization: undefined, cookie: undefined, url: '/next' });
    quiet.terminate();
    const limited = new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true, maxRedirects: 0 });
    const [error] = await next<[Error]>(limited, 'error');
    expect(error.message).toMatch(/redirects/);
  });

  it('ws+unix: URLs connect over a Unix domain socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rfc6455-'));
    const path = join(dir, 'ws.sock');
    const server = createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => ws.send(`path ${req.url}`));
    server.listen(path);
    await once(server, 'listening');
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => wss.close());
    const ws = new WebSocket(`ws+unix:${path}:/chat?x=1`);
    const [data] = await next<[Buffer]>(ws, 'message');
    expect(String(data)).toBe('path /chat?x=1');
    ws.terminate();
    // A Unix socket is local: a configured proxy (here one nobody listens on) is not used for it.
    const proxied = new WebSocket(`ws+unix:${path}:/p`, { proxy: 'http://127.0.0.1:9/' });
    const [viaProxy] = await next<[Buffer]>(proxied, 'message');
    expect(String(viaProxy)).toBe('path /p');
    proxied.terminate();
    // A remote server may not redirect a client to a local socket.
    const { port } = await httpServer((_req, res) => {
      res.writeHead(302, { location: `ws+unix:${path}:/` });
      res.end();
    });
    let reached = false;
    wss.on('connection', (_ws, req) => (reached ||= req.url === '/'));
    const redirected = new WebSocket(`ws://127.0.0.1:${port}/`, { followRedirects: true });
    const [error] = await next<[WebSocketError]>(redirected, 'error');
    expect(error.message).toMatch(/ws\+unix/);
    expect(reached).toBe(false);
  });

  it('protocolVersion 8 against ws and against our server', async () => {
    const { url } = await echo();
    const ours = await openClient(url, [], { protocolVersion: 8 });
    ours.terminate();
    const { wss, url: wsUrl } = await wsServer();
    const version = new Promise<string | undefined>((resolve) => wss.on('connection', (_peer, req) => resolve(req.headers['sec-websocket-version'])));
    const client = await openClient(wsUrl, [], { protocolVersion: 8 });
    expect(await version).toBe('8');
    client.terminate();
    const wsClient = new WsLib(url, { protocolVersion: 8 });
    await once(wsClient, 'open');
    wsClient.terminate();
  });

  it("ws's perMessageDeflate form (its README example) is accepted and negotiates", async () => {
    const perMessageDeflate = {
      zlibDeflateOptions: { chunkSize: 1024, memLevel: 7, level: 3 },
      zlibInflateOptions: { chunkSize: 10 * 1024 },
      clientNoContextTakeover: true,
      serverNoContextTakeover: true,
      serverMaxWindowBits: 10,
      concurrencyLimit: 10,
      threshold: 1024,
    };
    const { url } = await echo({ perMessageDeflate });
    const ws = await openClient(url, [], { perMessageDeflate: { clientMaxWindowBits: true, zlibDeflateOptions: { level: 1 } } });
    expect(ws.extensions).toContain('permessage-deflate');
    ws.send('x'.repeat(5000));
    const [data] = await next<[Buffer]>(ws, 'message');
    expect(data.length).toBe(5000);
    ws.terminate();
  });
});

describe('every option ws documents is accepted', () => {
  it('client: ws 8.23 option names (with values ws accepts) never throw at construction', () => {
    const options = {
      allowSynchronousEvents: true,
      autoPong: true,
      closeTimeout: 30000,
      finishRequest: (request: { end(): void }) => request.end(),
      followRedirects: false,
      generateMask: () => undefined,
      handshakeTimeout: 1000,
      maxBufferedChunks: 262144,
      maxFragments: 16384,
      maxPayload: 100 * 1024 * 1024,
      maxPendingAutoPongs: 60,
      maxRedirects: 10,
      origin: 'http://127.0.0.1',
      perMessageDeflate: { clientMaxWindowBits: true, zlibDeflateOptions: { level: 1 }, zlibInflateOptions: {}, threshold: 0, concurrencyLimit: 10 },
      protocolVersion: 13 as const,
      skipUTF8Validation: false,
      agent: undefined,
      auth: 'a:b',
      family: 4,
      localAddress: '127.0.0.1',
      headers: { 'X-A': 'b' },
      timeout: 1000,
      rejectUnauthorized: true,
      signal: new AbortController().signal,
      setHost: true,
    };
    const ws = new WebSocket('ws://127.0.0.1:1/', options);
    ws.on('error', () => undefined);
    ws.terminate();
  });

  it('server: ws 8.23 option names never throw at construction', () => {
    const wss = new WebSocketServer({
      allowSynchronousEvents: true,
      autoPong: true,
      backlog: 511,
      clientTracking: true,
      closeTimeout: 30000,
      handleProtocols: () => false,
      maxBufferedChunks: 262144,
      maxFragments: 16384,
      maxPayload: 100 * 1024 * 1024,
      maxPendingAutoPongs: 60,
      noServer: true,
      path: '/x',
      perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: true, zlibDeflateOptions: { memLevel: 7 }, zlibInflateOptions: { chunkSize: 1024 } },
      skipUTF8Validation: false,
      verifyClient: () => true,
      WebSocket,
    });
    expect(wss.options.path).toBe('/x');
  });
});

describe('server options and objects', () => {
  it('standalone mode hands hooks and listeners a real http.IncomingMessage', async () => {
    let verified: unknown;
    let chosen: unknown;
    const { wss, url } = await startServer({
      verifyClient: (info: { req: IncomingMessage }) => {
        verified = info.req;
        return true;
      },
      handleProtocols: (protocols, req) => {
        chosen = req;
        return [...protocols][0] ?? false;
      },
    });
    cleanups.push(() => wss.close());
    const connected = next<[WebSocket, IncomingMessage]>(wss, 'connection');
    const ws = await openClient(`${url}/path?q=1`, ['chat'], { headers: { 'X-Forwarded-For': '10.0.0.1, 10.0.0.2' } });
    const [, req] = await connected;
    expect(req).toBeInstanceOf(IncomingMessage);
    expect(verified).toBe(req);
    expect(chosen).toBe(req);
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
    expect(req.connection).toBe(req.socket);
    expect(Object.getPrototypeOf(req.headers)).toBe(Object.prototype);
    expect((req.headers['x-forwarded-for'] as string).split(',')[0]!.trim()).toBe('10.0.0.1');
    expect([req.method, req.url, req.httpVersion]).toEqual(['GET', '/path?q=1', '1.1']);
    expect(typeof req.on).toBe('function');
    ws.terminate();
    // rawHeaders keep the names as sent (ws sends them capitalised), as Node's parser gives them.
    const fromWs = next<[WebSocket, IncomingMessage]>(wss, 'connection');
    const wsClient = new WsLib(`${url}/path`, ['chat']);
    const [, wsReq] = await fromWs;
    expect(wsReq.rawHeaders).toContain('Sec-WebSocket-Key');
    await once(wsClient, 'open');
    wsClient.terminate();
  });

  it('standalone req.headers and req.headersDistinct follow Node for repeated headers, as ws (an http.Server) gives them', async () => {
    const extra = ['X-Tag: a', 'x-tag: b', 'Set-Cookie: c1', 'set-cookie: c2', 'User-Agent: first', 'User-Agent: second'];
    const seen = async (port: number, server: { once(event: 'connection', f: (ws: unknown, req: IncomingMessage) => void): unknown }) => {
      const connected = new Promise<IncomingMessage>((resolve) => server.once('connection', (_ws, req) => resolve(req)));
      const raw = await RawClient.open(port);
      raw.write(upgradeRequest('/', extra));
      const req = await connected;
      raw.socket.destroy();
      return { headers: { ...req.headers }, distinct: { ...req.headersDistinct } };
    };
    const ours = await startServer();
    cleanups.push(() => ours.wss.close());
    const theirs = await wsServer();
    const theirPort = Number(new URL(theirs.url).port);
    const got = await seen(ours.port, ours.wss as never);
    const expected = await seen(theirPort, theirs.wss as never);
    expect(got).toEqual(expected);
    expect(got.headers['x-tag']).toBe('a, b');
    expect(got.headers['user-agent']).toBe('first');
    expect(got.distinct['set-cookie']).toEqual(['c1', 'c2']);
  });

  it('clientTracking false leaves clients undefined; wss.options has ws defaults', async () => {
    const { wss } = await startServer({ clientTracking: false });
    cleanups.push(() => wss.close());
    expect(wss.clients).toBeUndefined();
    expect(wss.options.clientTracking).toBe(false);
    expect(wss.options.port).toBe(0);
    expect(wss.options.maxPayload).toBe(100 * 1024 * 1024);
    // Every key ws fills in is there (ws's nulls included), with this library's values where its defaults differ.
    expect(wss.options).toMatchObject({ closeTimeout: 10_000, maxFragments: 1_048_576, verifyClient: null, handleProtocols: null, backlog: null, path: null, server: null });
    const tracked = new WebSocketServer({ noServer: true });
    expect(tracked.clients).toBeInstanceOf(Set);
    expect(tracked.options.noServer).toBe(true);
  });

  it("'wsClientError' gets invalid requests, and the listener owns the socket", async () => {
    const { wss, port } = await startServer();
    cleanups.push(() => wss.close());
    const seen = next<[Error & { status: number }, Socket, IncomingMessage]>(wss, 'wsClientError');
    const socket = netConnect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n');
    const [error, raw, req] = await seen;
    expect(error.status).toBe(400);
    expect(req.headers['sec-websocket-key']).toBe('bad');
    raw.end('HTTP/1.1 418 Teapot\r\n\r\n');
    const [answer] = await next<[Buffer]>(socket, 'data');
    expect(String(answer)).toMatch(/^HTTP\/1\.1 418/);
    socket.destroy();
  });

  it('the WebSocket option makes connections with a custom class', async () => {
    class Tracked extends WebSocket {
      isAlive = true;
    }
    const { wss, url } = await startServer({ WebSocket: Tracked });
    cleanups.push(() => wss.close());
    const connected = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [server] = await connected;
    expect(server).toBeInstanceOf(Tracked);
    expect((server as Tracked).isAlive).toBe(true);
    ws.terminate();
    expect(() => new WebSocketServer({ noServer: true, WebSocket: Object as unknown as typeof WebSocket })).toThrow(TypeError);
  });

  for (const mode of ['sync', 'async'] as const) {
    it(`a throwing 'connection' listener (${mode} verify) reaches the process; the connection is not corrupted`, async () => {
      expect(await runFixture('throwing-connection-server.ts', [mode])).toEqual({ caught: ['connection listener failed'], errors: [], code: 1000 });
    }, 20_000);
  }

  it('a custom class that throws: the upgraded socket is dropped (no HTTP after the 101), the error reported, the admission slot given back', async () => {
    let throwing = true;
    class Fragile extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        if (throwing) throw new Error('constructor failed');
      }
    }
    const { wss, url } = await startServer({ WebSocket: Fragile, maxConnectionsPerIp: 1 });
    cleanups.push(() => wss.close());
    const reported: string[] = [];
    wss.on('error', (error) => reported.push(error.message));
    for (let i = 0; i < 3; i++) {
      const client = new WsLib(url);
      const errors: string[] = [];
      client.on('error', (error) => errors.push(error.message));
      const [code] = (await once(client, 'close')) as [number];
      // A 500 written after the 101 would reach ws's frame parser as an invalid frame (1002).
      expect([code, errors]).toEqual([1006, []]);
    }
    expect(reported).toEqual(['constructor failed', 'constructor failed', 'constructor failed']);
    expect(wss.stats().open).toBe(0);
    throwing = false;
    // With maxConnectionsPerIp 1, a leaked slot would refuse this one (429).
    const ok = await openClient(url);
    ok.terminate();
  });

  it('autoPong: false leaves pings to the application; skipUTF8Validation accepts invalid text', async () => {
    const { wss, url } = await startServer({ autoPong: false, skipUTF8Validation: true });
    cleanups.push(() => wss.close());
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const client = new WsLib(url);
    await once(client, 'open');
    const [server] = await serverSide;
    const pinged = next(server, 'ping');
    let ponged = false;
    client.on('pong', () => {
      ponged = true;
    });
    client.ping('x');
    await pinged;
    const message = next<[Buffer, boolean]>(server, 'message');
    client.send(Buffer.from([0xff, 0xfe]), { binary: false });
    const [data, isBinary] = await message;
    expect([[...data], isBinary]).toEqual([[0xff, 0xfe], false]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ponged).toBe(false);
    client.terminate();
  });

  it('accepts Sec-WebSocket-Version 8 from a raw client', async () => {
    const { wss, port } = await startServer();
    cleanups.push(() => wss.close());
    const socket = netConnect(port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const [answer] = await next<[Buffer]>(socket, 'data');
    expect(String(answer)).toMatch(/^HTTP\/1\.1 101/);
    socket.destroy();
  });
});

describe('createWebSocketStream', () => {
  it('is a Duplex with ws semantics: chunks are messages, end closes', async () => {
    const { url } = await echo();
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
    duplex.write('hello'); // written while connecting: sent once open
    const [chunk] = await next<[string]>(duplex, 'data');
    expect(chunk).toBe('hello');
    duplex.end();
    await next(duplex, 'close');
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('destroy terminates the WebSocket', async () => {
    const { url } = await echo();
    const ws = await openClient(url);
    const duplex = createWebSocketStream(ws);
    duplex.destroy();
    const [code] = await next<[number]>(ws, 'close');
    expect(code).toBe(1006);
  });
});

describe('ws behaviours found by review', () => {
  it('two servers on one HTTP server: each path is served, any other path gets 400 (once)', async () => {
    const { server, port } = await httpServer((_req, res) => res.end());
    const a = new WebSocketServer({ server, path: '/a' });
    const b = new WebSocketServer({ server, path: '/b' });
    cleanups.push(() => a.close(), () => b.close());
    for (const path of ['/a', '/b']) {
      const ws = await openClient(`ws://127.0.0.1:${port}${path}`);
      ws.terminate();
    }
    const raw = await RawClient.open(port);
    raw.write(upgradeRequest('/other'));
    await new Promise((resolve) => raw.socket.once('close', resolve));
    const text = raw.received.toString('latin1');
    expect(text.startsWith('HTTP/1.1 400')).toBe(true);
    expect(text.split('HTTP/1.1').length - 1).toBe(1);
  });

  it('send and ping callbacks get null on success, as ws passes on from the socket', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = await openClient(url);
    const sent = await new Promise<unknown[]>((resolve) => ws.send('x', (...args: unknown[]) => resolve(args)));
    const pinged = await new Promise<unknown[]>((resolve) => ws.ping('x', undefined, (...args: unknown[]) => resolve(args)));
    expect([sent, pinged]).toEqual([[null], [null]]);
    const wsPeer = new WsLib(url);
    await once(wsPeer, 'open');
    const wsSent = await new Promise<unknown[]>((resolve) => wsPeer.send('x', (...args: unknown[]) => resolve(args)));
    expect(wsSent).toEqual([null]);
    wsPeer.terminate();
    ws.terminate();
  });

  it('after close() while CONNECTING, send() does not throw: its callback gets the CLOSING error, as in ws', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    void ws.close();
    const error = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
    expect(error?.message).toMatch(/CLOSING/);
  });

  it('data queued behind a Blob counts in bufferedAmount, and send() reports the high-water mark', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = await openClient(url, [], { highWaterMark: 1024 * 1024 });
    ws.send(new Blob([new Uint8Array(100_000)]));
    const below = ws.bufferedAmount;
    const returned = ws.send('x'.repeat(2_000_000));
    expect(below).toBeGreaterThanOrEqual(100_000);
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(2_100_000);
    expect(returned).toBe(false);
    ws.terminate();
  });

  it('a Blob sent right before close() still goes out first', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const got = new Promise<string[]>((resolve) =>
      wss.on('connection', (peer) => {
        const log: string[] = [];
        peer.on('message', (data) => log.push(`message ${(data as Buffer).length}`));
        peer.on('close', (code: number) => resolve([...log, `close ${code}`]));
      }),
    );
    const ws = await openClient(url);
    ws.send(new Blob([new Uint8Array(5)]));
    void ws.close(1000);
    // CLOSING from the call on, as in ws: what is sent after close() is refused, not sent after the Blob.
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const late = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
    expect(late?.message).toMatch(/CLOSING/);
    const latePing = await new Promise<Error | undefined>((resolve) => ws.ping('p', undefined, resolve));
    expect(latePing?.message).toMatch(/CLOSING/);
    expect(await got).toEqual(['message 5', 'close 1000']);
  });

  it('a Blob whose read fails, with a callback that throws: the close() after it still completes, CLOSING from the call on', async () => {
    expect(await runFixture('failing-blob-close.ts')).toEqual({
      caught: ['read failed'],
      states: [WebSocket.CLOSING],
      late: 'refused',
      info: { code: 1000, reason: '', wasClean: true },
      received: [],
    });
  }, 20_000);

  it('a server connection whose close() waits behind a Blob is CLOSING for publish and heartbeats too', async () => {
    const { wss, url } = await startServer({ heartbeatInterval: 30 });
    cleanups.push(() => wss.close());
    const peer = new Promise<WebSocket>((resolve) => wss.on('connection', (ws) => { ws.subscribe('t'); resolve(ws); }));
    const client = new WsLib(url);
    const log: string[] = [];
    client.on('message', (data) => log.push(`message ${(data as Buffer).length === 1 << 20 ? 'blob' : String(data)}`));
    client.on('ping', () => log.push('ping'));
    client.on('close', (code) => log.push(`close ${code}`));
    await once(client, 'open');
    const server = await peer;
    // A Blob that takes a while to read: publish and heartbeats get their chance to go before it.
    class SlowBlob extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return new Promise((resolve) => setTimeout(() => resolve(new ArrayBuffer(1 << 20)), 200));
      }
    }
    log.length = 0;
    server.send(new SlowBlob([]));
    void server.close(1000);
    expect(server.readyState).toBe(WebSocket.CLOSING);
    expect(wss.publish('t', 'published after close')).toBe(0);
    await once(client, 'close');
    expect(log).toEqual(['message blob', 'close 1000']);
  });

  it("event names are only names: 'toString' and '__proto__' work like any other", async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = new WebSocket(url);
    expect((ws as unknown as { listenerCount(name: string): number }).listenerCount('toString')).toBe(0);
    expect((ws as unknown as { emit(name: string): boolean }).emit('hasOwnProperty')).toBe(false);
    let called = 0;
    const anyEvents = ws as unknown as { on(name: string, listener: () => void): void; emit(name: string): boolean };
    anyEvents.on('__proto__', () => called++);
    anyEvents.emit('__proto__');
    expect(called).toBe(1);
    await next(ws, 'open');
    ws.terminate();
  });

  it("the server keeps heartbeat peers that answer while the application has paused reading", async () => {
    const { wss, url } = await startServer({ heartbeatInterval: 100 });
    cleanups.push(() => wss.close());
    const paused = new Promise<WebSocket>((resolve) => wss.on('connection', (ws) => { ws.pause(); resolve(ws); }));
    const client = new WsLib(url);
    await once(client, 'open');
    const server = await paused;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.readyState).toBe(WebSocket.OPEN);
    server.resume();
    client.terminate();
  });

  it('a second wss.close(cb) while the first runs is called when closed, without an error', async () => {
    const { wss, url } = await startServer();
    const ws = await openClient(url);
    const first = wss.close();
    const second = await new Promise<Error | undefined>((resolve) => void wss.close(resolve));
    await first;
    expect(second).toBeUndefined();
    expect(ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED).toBe(true);
  });

  it("'drain' follows a send() that returned false even when the kernel took it all at once, and sendAsync never hangs", async () => {
    // Regression: the transport emits no 'drain' when its write returned true, so ours never came.
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = await openClient(url, [], { highWaterMark: 64 * 1024 });
    expect(ws.send(Buffer.alloc(300 * 1024))).toBe(false);
    await next(ws, 'drain', 2000);
    await ws.sendAsync(Buffer.alloc(300 * 1024));
    await ws.sendAsync(Buffer.alloc(300 * 1024));
    ws.terminate();
  });

  it('a second wss.close(cb) gets "The server is not running", as in ws', async () => {
    const { wss } = await startServer();
    await wss.close();
    const error = await new Promise<Error | undefined>((resolve) => void wss.close(resolve));
    expect(error?.message).toBe('The server is not running');
  });

  it('terminate() on an open connection is CLOSING at once; sends after it fail', async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = await openClient(url);
    ws.terminate();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const error = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
    expect(error?.message).toMatch(/CLOSING/);
    await next(ws, 'close');
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('a client that offered subprotocols fails when the server picks none (as ws and the WHATWG standard)', async () => {
    const { wss: plain, url } = await startServer({ handleProtocols: () => false });
    cleanups.push(() => plain.close());
    const ws = new WebSocket(url, ['chat']);
    const [error] = await next<[WebSocketError]>(ws, 'error');
    expect([error.code, error.message]).toEqual([ErrorCode.InvalidHandshake, 'server sent no subprotocol']);
    const none = await openClient(url);
    expect(none.protocol).toBe('');
    none.terminate();
  });

  it("Node request options that ws overrides with the URL's parts are accepted, and the URL wins", async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const target = new Promise<string | undefined>((resolve) => wss.on('connection', (_ws, req) => resolve(req.url)));
    const ws = await openClient(`${url}/real`, [], { host: 'other.invalid', hostname: 'other.invalid', port: 1, path: '/ignored', method: 'POST', protocol: 'http:' } as ClientOptions);
    expect(await target).toBe('/real');
    ws.terminate();
  });

  it('extensions gives the names, as ws; close(code, <number>) sends no reason, as ws', async () => {
    const { wss, url } = await startServer({ perMessageDeflate: true });
    cleanups.push(() => wss.close());
    const reasons = new Promise<Buffer>((resolve) => wss.on('connection', (ws) => ws.on('close', (_code: number, reason: Buffer) => resolve(reason))));
    const ws = await openClient(url, [], { perMessageDeflate: { serverNoContextTakeover: true } });
    expect(ws.extensions).toBe('permessage-deflate');
    void ws.close(1000, 42 as unknown as string);
    expect((await reasons).length).toBe(0);
    expect(() => ws.close(1000, { length: 3 } as unknown as string)).toThrow(TypeError);
  });
});

describe('limits ws peers rely on', () => {
  it('maxPayload defaults to 100 MiB, as in ws', () => {
    expect(DEFAULT_MAX_PAYLOAD).toBe(100 * 1024 * 1024);
  });

  it('one send larger than maxBufferedAmount to a reading peer goes out whole, and its callback reports success', async () => {
    const { wss, url } = await startServer({ maxBufferedAmount: 256 * 1024 });
    cleanups.push(() => wss.close());
    const payload = Buffer.alloc(8 * 1024 * 1024, 1);
    const outcome = new Promise<unknown>((resolve) => wss.on('connection', (ws) => ws.send(payload, (error) => resolve(error ?? 'ok'))));
    const client = new WsLib(url);
    const [data] = (await once(client, 'message')) as [Buffer];
    expect(data.length).toBe(payload.length);
    expect(await outcome).toBe('ok');
    expect(client.readyState).toBe(WsLib.OPEN);
    client.terminate();
  });

  it('a reading peer is not cut when more is sent while one large message is still going out', async () => {
    // Regression: the cut was judged at the next write by the buffered size alone, so a small
    // frame sent on the next turn terminated a healthy peer mid-transfer (1006).
    const { wss, url } = await startServer({ maxBufferedAmount: 256 * 1024 });
    cleanups.push(() => wss.close());
    const payload = Buffer.alloc(8 * 1024 * 1024, 1);
    const outcomes: unknown[] = [];
    const sent = new Promise<void>((resolve) =>
      wss.on('connection', (ws) => {
        ws.send(payload, (error) => outcomes.push(error ?? 'big ok'));
        setImmediate(() => {
          for (let i = 0; i < 3; i++) ws.send(`small ${i}`, (error) => { outcomes.push(error ?? `small ${i} ok`); if (i === 2) resolve(); });
        });
      }),
    );
    const client = new WsLib(url);
    const received: number[] = [];
    let closed = false;
    await new Promise<void>((resolve) => {
      client.on('close', () => { closed = true; resolve(); });
      client.on('message', (data: Buffer) => { received.push(data.length); if (received.length === 4) resolve(); });
    });
    if (!closed) await sent;
    expect(received).toEqual([payload.length, 7, 7, 7]);
    expect(outcomes).toEqual(['big ok', 'small 0 ok', 'small 1 ok', 'small 2 ok']);
    expect(closed).toBe(false);
    client.terminate();
  });

  it('a slow peer that keeps reading gets one large message whole, although the kernel takes it chunk by chunk', async () => {
    // Regression: progress was read from writableLength, which Node lowers only when a whole
    // write finishes; a peer reading 8 MiB at ~3 MB/s was cut as "not reading" after a second.
    const { wss, port } = await startServer({ maxBufferedAmount: 256 * 1024, highWaterMark: 64 * 1024 });
    cleanups.push(() => wss.close());
    const payload = Buffer.alloc(8 * 1024 * 1024, 7);
    const errors: string[] = [];
    const outcome = new Promise<unknown>((resolve) =>
      wss.on('connection', (ws) => {
        ws.on('error', (error) => errors.push((error as WebSocketError).code));
        ws.send(payload, (error) => resolve(error ?? 'ok'));
      }),
    );
    const raw = await pausedRawPeer(port);
    let received = 0;
    // About 64 KiB every 20 ms: slow, but far more than highWaterMark a second.
    const reader = setInterval(() => {
      const chunk = raw.socket.read(64 * 1024) ?? raw.socket.read();
      if (chunk !== null) received += (chunk as Buffer).length;
    }, 20);
    cleanups.push(() => clearInterval(reader));
    expect(await outcome).toBe('ok');
    for (let waited = 0; received <= payload.length && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors).toEqual([]);
    expect(received).toBeGreaterThan(payload.length);
    raw.socket.destroy();
  }, 20_000);

  it('a peer that never reads is cut once its window passes with nothing taken, and no callback claims success', async () => {
    // Regression: callbacks of writes Node cancelled at the cut reported success.
    const { wss, port } = await startServer({ maxBufferedAmount: 1024 * 1024, highWaterMark: 64 * 1024, stalledOutputTimeout: 1000 });
    cleanups.push(() => wss.close());
    const outcomes: string[] = [];
    let passedLimitAt = 0;
    const cut = new Promise<number>((resolve) =>
      wss.on('connection', (ws) => {
        ws.on('error', () => resolve(Date.now() - passedLimitAt));
        const record = (error?: Error | null) => outcomes.push(error ? ((error as WebSocketError).code ?? 'error') : 'ok');
        ws.send(Buffer.alloc(16 * 1024), record);
        const pump = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN) return clearInterval(pump);
          if (passedLimitAt === 0 && ws.bufferedAmount > 1024 * 1024) passedLimitAt = Date.now();
          ws.send(Buffer.alloc(512 * 1024), record);
        }, 20);
      }),
    );
    const raw = await pausedRawPeer(port);
    const after = await cut;
    expect(after).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // What the kernel's buffers took may have been reported written; everything behind it failed.
    const firstError = outcomes.findIndex((o) => o !== 'ok');
    expect(firstError).toBeGreaterThan(-1);
    expect(outcomes.slice(firstError).every((o) => o === ErrorCode.BufferLimit)).toBe(true);
    const okBytes = outcomes.filter((o) => o === 'ok').length;
    expect(okBytes).toBeLessThan(outcomes.length);
    raw.socket.destroy();
  }, 20_000);

  it('a peer that does not read is still cut, and the callbacks say so', async () => {
    const { wss, url } = await startServer({ maxBufferedAmount: 256 * 1024, highWaterMark: 64 * 1024, stalledOutputTimeout: 1000 });
    cleanups.push(() => wss.close());
    const errors: string[] = [];
    const done = new Promise<void>((resolve) =>
      wss.on('connection', (ws) => {
        ws.on('error', (error) => errors.push((error as WebSocketError).code));
        const chunk = Buffer.alloc(512 * 1024);
        const pump = () => {
          if (ws.readyState !== WebSocket.OPEN) return resolve();
          ws.send(chunk, (error) => {
            if (error) errors.push(`callback:${(error as WebSocketError).code ?? error.message}`);
          });
          setTimeout(pump, 5);
        };
        pump();
      }),
    );
    const client = new WsLib(url);
    await once(client, 'open');
    (client as unknown as { _socket: Socket })._socket.pause();
    await done;
    expect(errors).toContain(ErrorCode.BufferLimit);
    expect(errors.some((e) => e.startsWith('callback:'))).toBe(true);
    client.terminate();
  });
});

describe('allowSynchronousEvents', () => {
  // Three messages and a ping in one TCP read. Each listener resolves a promise: with the option
  // off, its continuation runs before the next event (one event per turn); with it on (the
  // default), all four events come in the same turn. ws's own server is run on the same bytes.
  const burst = concatBytes([
    buildFrame({ opcode: 1, payload: 'one', mask: [1, 2, 3, 4] }),
    buildFrame({ opcode: 1, payload: 'two', mask: [5, 6, 7, 8] }),
    buildFrame({ opcode: 9, payload: 'p', mask: [9, 9, 9, 9] }),
    buildFrame({ opcode: 2, payload: 'three', mask: [4, 3, 2, 1] }),
  ]);

  async function order(makeServer: (port: number) => { close(): void; on(event: 'connection', listener: (ws: WsLib) => void): unknown }): Promise<string[]> {
    const port = await freePort();
    const server = makeServer(port);
    cleanups.push(() => server.close());
    const log: string[] = [];
    const done = new Promise<void>((resolve) =>
      server.on('connection', (ws) => {
        const record = (label: string) => {
          log.push(label);
          void Promise.resolve().then(() => log.push(`after ${label}`));
          if (label === 'three') setImmediate(resolve);
        };
        ws.on('message', (data) => record(String(data)));
        ws.on('ping', () => record('ping'));
      }),
    );
    await new Promise((r) => setTimeout(r, 20)); // listening
    const raw = await RawClient.open(port);
    cleanups.push(() => raw.socket.destroy());
    raw.write(upgradeRequest('/'));
    await raw.until(() => raw.text().includes('\r\n\r\n'));
    raw.write(burst);
    await done;
    return log;
  }

  const oneByOne = ['one', 'after one', 'two', 'after two', 'ping', 'after ping', 'three', 'after three'];
  const allAtOnce = ['one', 'two', 'ping', 'three', 'after one', 'after two', 'after ping', 'after three'];

  for (const allow of [false, true]) {
    it(`${allow}: the same order of events and promise continuations as ws`, async () => {
      const ours = await order((port) => new WebSocketServer({ port, host: '127.0.0.1', allowSynchronousEvents: allow }) as never);
      const theirs = await order((port) => new WsServer({ port, host: '127.0.0.1', allowSynchronousEvents: allow }) as never);
      expect(theirs).toEqual(allow ? allAtOnce : oneByOne);
      expect(ours).toEqual(theirs);
    });
  }
});

describe('allowSynchronousEvents: false and a close or an error in the same read', () => {
  // Messages, then a close frame (or a frame that fails the connection) in one TCP read, to a
  // server that echoes each message: ws replies to every message before its close frame. The
  // owed close must wait while the remaining messages are delivered one per turn, or the replies
  // to messages 2..n find the connection CLOSING and are refused. ws's server runs on the same bytes.
  const key = [1, 2, 3, 4];
  const text = (payload: string) => buildFrame({ opcode: 1, payload, mask: key });
  const compressed = (payload: string) => {
    const deflated = deflateRawSync(Buffer.from(payload), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return buildFrame({ opcode: 1, rsv: 0x40, payload: deflated.subarray(0, deflated.length - 4), mask: key });
  };
  const closeFrame = buildFrame({ opcode: 8, payload: Uint8Array.of(0x03, 0xe8), mask: key });
  const reservedOpcode = buildFrame({ opcode: 3, payload: '', mask: key });

  async function echoRun(makeServer: (port: number) => { close(): void; on(event: 'connection', listener: (ws: WsLib) => void): unknown }, burst: Uint8Array, deflate: boolean) {
    const port = await freePort();
    const server = makeServer(port);
    cleanups.push(() => server.close());
    const refused: string[] = [];
    server.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary, compress: false }, (error) => error && refused.push(String(data))));
    });
    await new Promise((r) => setTimeout(r, 20)); // listening
    const peer = await RawPeer.toServer(port, '/', deflate ? ['Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover'] : []);
    cleanups.push(() => peer.destroy());
    peer.write(burst);
    await peer.waitClosed();
    await new Promise((r) => setTimeout(r, 20)); // send callbacks
    // The server's frames in order, as `opcode payload` (a close frame as `close code`).
    const wire = peer.frames.map((f) => (f.opcode === 8 ? `close ${f.payload.readUInt16BE(0)}` : `${f.opcode} ${f.payload.toString()}`));
    return { wire, refused };
  }

  const cases: [string, Uint8Array, boolean, string[]][] = [
    ['a close frame', concatBytes([text('one'), text('two'), text('three'), closeFrame]), false, ['1 one', '1 two', '1 three', 'close 1000']],
    ['a protocol error', concatBytes([text('one'), text('two'), text('three'), reservedOpcode]), false, ['1 one', '1 two', '1 three', 'close 1002']],
    ['a close frame, compressed messages', concatBytes([compressed('c1'), text('m2'), compressed('c3'), closeFrame]), true, ['1 c1', '1 m2', '1 c3', 'close 1000']],
  ];
  for (const [name, burst, deflate, expected] of cases) {
    it(`every message is answered before the close: ${name}, as in ws`, async () => {
      const options = { host: '127.0.0.1', allowSynchronousEvents: false, perMessageDeflate: deflate } as const;
      const ours = await echoRun((port) => new WebSocketServer({ port, ...options }) as never, burst, deflate);
      const theirs = await echoRun((port) => new WsServer({ port, ...options }) as never, burst, deflate);
      expect(theirs).toEqual({ wire: expected, refused: [] });
      expect(ours).toEqual(theirs);
    });
  }
});

describe('allowSynchronousEvents with compressed messages', () => {
  it('false: inflated messages come one per turn, in order, none lost', async () => {
    const port = await freePort();
    const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: true, allowSynchronousEvents: false });
    cleanups.push(() => wss.close());
    await once(wss, 'listening');
    const log: string[] = [];
    const done = new Promise<void>((resolve) =>
      wss.on('connection', (ws) =>
        ws.on('message', (data) => {
          log.push(String(data));
          void Promise.resolve().then(() => log.push('after'));
          if (log.filter((x) => x !== 'after').length === 20) setImmediate(resolve);
        }),
      ),
    );
    const client = await openClient(`ws://127.0.0.1:${port}`, [], { perMessageDeflate: true });
    const sent = Array.from({ length: 20 }, (_, i) => `message ${i} ${'x'.repeat(i * 50)}`);
    for (const text of sent) client.send(text);
    await done;
    expect(log).toEqual(sent.flatMap((text) => [text, 'after']));
    client.terminate();
  });
});
