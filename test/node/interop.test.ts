// Interop with real peers in both directions: ws's server and client, and undici's WebSocket client.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import express from 'express';
import { WebSocket as UndiciWebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import WsLib, { WebSocketServer as WsServer } from 'ws';
import { type ServerOptions, WebSocket, WebSocketServer } from '../../src/index.js';
import { next, openClient, startServer } from '../helpers/node.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const key = readFileSync(join(fixtures, 'key.pem'));
const cert = readFileSync(join(fixtures, 'cert.pem'));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function ourEchoServer(options: Omit<ServerOptions, 'port'> = {}) {
  const started = await startServer(options);
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanups.push(() => started.wss.close());
  return started;
}

describe('our server with other clients', () => {
  it('ws client: text, binary, ping, close code and reason', async () => {
    const { url } = await ourEchoServer();
    const ws = new WsLib(url);
    await once(ws, 'open');
    ws.send('hello from ws');
    const [text, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    expect([text.toString(), isBinary]).toEqual(['hello from ws', false]);
    ws.send(Buffer.alloc(200_000, 7));
    const [binary] = (await once(ws, 'message')) as [Buffer];
    expect(binary.equals(Buffer.alloc(200_000, 7))).toBe(true);
    ws.ping('p');
    expect(((await once(ws, 'pong')) as [Buffer])[0].toString()).toBe('p');
    ws.close(4321, 'ws says bye');
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4321);
  });

  it('undici WebSocket client: text and binary round trip', async () => {
    const { url } = await ourEchoServer();
    const ws = new UndiciWebSocket(url);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const messages: unknown[] = [];
    const got = new Promise<void>((resolve) => {
      ws.onmessage = (event) => {
        messages.push(event.data);
        if (messages.length === 2) resolve();
      };
    });
    ws.send('hello from undici');
    ws.send(new Uint8Array([1, 2, 3]));
    await got;
    expect(messages[0]).toBe('hello from undici');
    expect(Array.from(new Uint8Array(messages[1] as ArrayBuffer))).toEqual([1, 2, 3]);
    const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) => {
      ws.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean });
    });
    ws.close(1000);
    expect(await closed).toEqual({ code: 1000, wasClean: true });
  });
});

describe('our client with other servers', () => {
  it('ws server: echo of text and a 1 MiB binary, subprotocol, close from the server', async () => {
    const wss = new WsServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has('b') ? 'b' : false) });
    await once(wss, 'listening');
    cleanups.push(() => new Promise((r) => wss.close(r)));
    wss.on('connection', (peer) => {
      peer.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'close please') peer.close(4000, 'as you wish');
        else peer.send(data, { binary: isBinary });
      });
    });
    const ws = await openClient(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/x`, ['a', 'b']);
    expect(ws.protocol).toBe('b');
    ws.send('κόσμε');
    expect(((await next<[Buffer, boolean]>(ws, 'message'))[0]).toString()).toBe('κόσμε');
    const big = Buffer.alloc(1024 * 1024, 3);
    ws.send(big);
    expect((await next<[Buffer, boolean]>(ws, 'message'))[0].equals(big)).toBe(true);
    ws.send('close please');
    const [code, reason] = await next<[number, Buffer]>(ws, 'close');
    expect([code, reason.toString()]).toEqual([4000, 'as you wish']);
  });
});

describe('TLS', () => {
  it('standalone wss server and client with a CA', async () => {
    const { port, wss } = await startServer({ tls: { key, cert } });
    cleanups.push(() => wss.close());
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const ws = await openClient(`wss://localhost:${port}`, [], { ca: cert });
    ws.send('over tls');
    expect((await next<[Buffer]>(ws, 'message'))[0].toString()).toBe('over tls');
    await ws.close();
  });

  it("a refusal on a TLS connection counts in the server's stats, as on a plain one", async () => {
    const { port, wss } = await startServer({ tls: { key, cert }, handshakeTimeout: 200 });
    cleanups.push(() => wss.close());
    // TLS completes, then the request head never does: the handshake deadline answers 408.
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    await once(socket, 'close');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(wss.stats().rejections).toMatchObject({ 408: 1 });
  });

  it('refuses an untrusted certificate unless told otherwise', async () => {
    const { port, wss } = await startServer({ tls: { key, cert } });
    cleanups.push(() => wss.close());
    const ws = new WebSocket(`wss://localhost:${port}`);
    const [error] = await next<[Error]>(ws, 'error');
    // Its own code: a reconnecting client does not retry it (the certificate would fail again).
    expect(error).toMatchObject({ code: 'WS_ERR_CERTIFICATE_REJECTED' });
    const trusting = await openClient(`wss://localhost:${port}`, [], { rejectUnauthorized: false });
    await trusting.close();
  });

  it('attached to an https server, with ws as the client', async () => {
    const server = createHttpsServer({ key, cert });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.send('secure hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)), () => wss.close());
    const ws = new WsLib(`wss://localhost:${(server.address() as { port: number }).port}`, { ca: cert });
    const [data] = (await once(ws, 'message')) as [Buffer];
    expect(data.toString()).toBe('secure hello');
    ws.terminate();
  });

  it('over TLS, a peer that stops reading is still cut (the queue below TLS is watched), a reading one is not', async () => {
    // Regression: progress was computed from the TLS layer's counters, which never move, so a
    // TLS peer that stopped reading was never cut.
    const server = createHttpsServer({ key, cert });
    const wss = new WebSocketServer({ server, maxBufferedAmount: 1024 * 1024, highWaterMark: 64 * 1024, stalledOutputTimeout: 1000 });
    const results = new Map<string, string>();
    wss.on('connection', (ws, req) => {
      const name = req.url ?? '';
      ws.on('error', (error) => results.set(name, (error as { code?: string }).code ?? error.message));
      let sent = 0;
      const pump = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN || sent >= 12) return clearInterval(pump);
        sent++;
        ws.send(Buffer.alloc(512 * 1024));
      }, 20);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)), () => wss.close());
    const port = (server.address() as { port: number }).port;
    const stopped = new WsLib(`wss://localhost:${port}/stopped`, { ca: cert });
    await once(stopped, 'open');
    (stopped as unknown as { _socket: { pause(): void } })._socket.pause();
    const reading = new WsLib(`wss://localhost:${port}/reading`, { ca: cert });
    let received = 0;
    reading.on('message', (data: Buffer) => (received += data.length));
    for (let waited = 0; !results.has('/stopped') && waited < 6000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(results.get('/stopped')).toBe('WS_ERR_BUFFER_LIMIT');
    for (let waited = 0; received < 12 * 512 * 1024 && waited < 6000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(received).toBe(12 * 512 * 1024);
    expect(results.has('/reading')).toBe(false);
    stopped.terminate();
    reading.terminate();
  }, 20_000);
});

describe('wrapped by other servers', () => {
  it('attached to an http.Server with a path, serving HTTP routes beside it', async () => {
    const server = createHttpServer((req, res) => res.end(`plain http ${req.url}`));
    const wss = new WebSocketServer({ server, path: '/ws' });
    wss.on('connection', (ws) => ws.send('attached'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)), () => wss.close());
    const port = (server.address() as { port: number }).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('plain http /hello');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    expect((await next<[Buffer]>(ws, 'message'))[0].toString()).toBe('attached');
    await ws.close();
    const wrong = new WebSocket(`ws://127.0.0.1:${port}/nope`);
    const [error] = await next<[Error]>(wrong, 'error');
    expect(error.message).toMatch(/400/);
  });

  it('noServer + handleUpgrade under a plain http.Server, routing two endpoints', async () => {
    const echo = new WebSocketServer({ noServer: true });
    const shout = new WebSocketServer({ noServer: true });
    echo.on('connection', (ws) => ws.on('message', (d) => ws.send(d.toString())));
    shout.on('connection', (ws) => ws.on('message', (d) => ws.send(d.toString().toUpperCase())));
    const server = createHttpServer((_req, res) => res.end('ok'));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = req.url === '/echo' ? echo : req.url === '/shout' ? shout : null;
      if (target === null) return socket.destroy();
      target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((r) => server.close(r)), () => echo.close(), () => shout.close());
    const port = (server.address() as { port: number }).port;
    const a = await openClient(`ws://127.0.0.1:${port}/echo`);
    const b = await openClient(`ws://127.0.0.1:${port}/shout`);
    a.send('quiet');
    b.send('quiet');
    expect((await next<[Buffer]>(a, 'message'))[0].toString()).toBe('quiet');
    expect((await next<[Buffer]>(b, 'message'))[0].toString()).toBe('QUIET');
    await Promise.all([a.close(), b.close()]);
  });

  it('under Express, with a route served beside the WebSocket endpoint', async () => {
    const app = express();
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (ws, req) => ws.send(`hello ${new URL(req.url ?? '/', 'http://x').searchParams.get('name')}`));
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
    cleanups.push(() => new Promise((r) => server.close(r)), () => wss.close());
    const port = (server.address() as { port: number }).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).json()).toEqual({ ok: true });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket?name=express`);
    expect((await next<[Buffer]>(ws, 'message'))[0].toString()).toBe('hello express');
    await ws.close();
  });
});
