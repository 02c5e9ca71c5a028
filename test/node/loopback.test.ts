import { afterEach, describe, expect, it } from 'vitest';
import { type ServerOptions, WebSocket, type WebSocketServer } from '../../src/index.js';
import { next, openClient, RawClient, startServer, upgradeRequest } from '../helpers/node.js';
import { buildFrame } from '../helpers/frames.js';
import { heartbeatMembers } from '../../src/node/connection/heartbeat-wheel.js';

let servers: WebSocketServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function echoServer(options: Omit<ServerOptions, 'port'> = {}) {
  const started = await startServer(options);
  servers.push(started.wss);
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return started;
}

describe('messages over loopback', () => {
  it('echoes text, binary and empty messages, in order', async () => {
    const { url } = await echoServer();
    const ws = await openClient(url);
    const got: [string, boolean][] = [];
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data, isBinary) => {
        got.push([isBinary ? (data as Buffer).toString('hex') : (data as Buffer).toString(), isBinary]);
        if (got.length === 4) resolve();
      });
    });
    ws.send('héllo');
    ws.send(Buffer.from([0, 1, 255]));
    ws.send('');
    ws.send(new Uint8Array([7]).buffer);
    await done;
    expect(got).toEqual([
      ['héllo', false],
      ['0001ff', true],
      ['', false],
      ['07', true],
    ]);
    await ws.close();
  });

  it('echoes a 32 MiB binary message intact', async () => {
    const { url } = await echoServer();
    const ws = await openClient(url);
    const payload = Buffer.alloc(32 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i / 4096) & 0xff;
    ws.send(payload);
    const [data] = await next<[Buffer, boolean]>(ws, 'message', 30_000);
    expect(data.length).toBe(payload.length);
    expect(data.equals(payload)).toBe(true);
    await ws.close();
  }, 60_000);

  it('sends a fragmented message with { fin: false } that arrives as one message', async () => {
    const { url } = await echoServer();
    const ws = await openClient(url);
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
    const [data, isBinary] = await next<[Buffer, boolean]>(ws, 'message');
    expect([data.toString(), isBinary]).toEqual(['fragmented', false]);
    await ws.close();
  });

  it('delivers ping and pong events and answers pings', async () => {
    const { url, wss } = await startServer();
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await serverSide;
    const pinged = next<[Buffer]>(peer, 'ping');
    const ponged = next<[Buffer]>(ws, 'pong');
    ws.ping(Buffer.from('are you there'));
    expect((await pinged)[0].toString()).toBe('are you there');
    expect((await ponged)[0].toString()).toBe('are you there');
    await ws.close();
  });

  it('negotiates a subprotocol with handleProtocols and exposes it on both ends', async () => {
    const { url, wss } = await startServer({ handleProtocols: (offered) => (offered.has('v2') ? 'v2' : false) });
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url, ['v1', 'v2']);
    const [peer] = await serverSide;
    expect(ws.protocol).toBe('v2');
    expect(peer.protocol).toBe('v2');
    await ws.close();
  });

  it('iterates messages with for await and resolves closed', async () => {
    const { url, wss } = await startServer();
    servers.push(wss);
    wss.on('connection', (ws) => {
      for (let i = 0; i < 5; i++) ws.send(`m${i}`);
      ws.send(Buffer.from([9]));
      ws.close(4000, 'enough');
    });
    const ws = new WebSocket(url);
    const seen: (string | Buffer | ArrayBuffer)[] = [];
    for await (const message of ws) seen.push(message);
    expect(seen.slice(0, 5)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(Buffer.isBuffer(seen[5])).toBe(true);
    expect(await ws.closed).toEqual({ code: 4000, reason: 'enough', wasClean: true });
  });
});

describe('closing', () => {
  it('client-initiated: both ends see the code and reason, cleanly', async () => {
    const { url, wss } = await startServer();
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await serverSide;
    const peerClosed = next<[number, Buffer]>(peer, 'close');
    const info = await ws.close(4001, 'bye');
    // The server echoes the code with its reason, as ws and browsers do.
    expect(info).toEqual({ code: 4001, reason: 'bye', wasClean: true });
    const [code, reason] = await peerClosed;
    expect([code, reason.toString()]).toEqual([4001, 'bye']);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('server-initiated: the client sees the code; the server closes TCP first', async () => {
    const { url, wss } = await startServer();
    servers.push(wss);
    wss.on('connection', (ws) => ws.close(1001, 'going'));
    const ws = new WebSocket(url);
    const [code, reason] = await next<[number, Buffer]>(ws, 'close');
    expect([code, reason.toString()]).toEqual([1001, 'going']);
    expect((await ws.closed).wasClean).toBe(true);
  });

  it('simultaneous close from both ends completes cleanly', async () => {
    const { url, wss } = await startServer();
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await serverSide;
    const [a, b] = await Promise.all([ws.close(1000, 'client'), peer.close(1000, 'server')]);
    expect(a.code).toBe(1000);
    expect(b.code).toBe(1000);
    expect(a.wasClean && b.wasClean).toBe(true);
  });

  it('reports 1006 when the peer vanishes without a close frame', async () => {
    const { port, wss } = await startServer();
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    raw.write(upgradeRequest());
    const [peer] = await serverSide;
    raw.socket.destroy();
    const [code] = await next<[number, Buffer]>(peer, 'close');
    expect(code).toBe(1006);
    expect((await peer.closed).wasClean).toBe(false);
  });

  it('destroys the socket after closeTimeout when the peer never answers the close frame', async () => {
    const { port, wss } = await startServer({ closeTimeout: 200 });
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    raw.write(upgradeRequest());
    const [peer] = await serverSide;
    const started = Date.now();
    peer.close(1000);
    await raw.until(() => raw.received.includes(Buffer.from([0x88, 0x02, 0x03, 0xe8])));
    // The raw client never replies; the server half-closes only after the handshake, so it waits.
    const [code] = await next<[number, Buffer]>(peer, 'close', 3000);
    expect(code).toBe(1006);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await raw.waitClosed();
  });

  it('server.close() sends 1001 to every client and waits for them', async () => {
    const { url, wss } = await startServer();
    const clients = await Promise.all([openClient(url), openClient(url), openClient(url)]);
    const codes = clients.map((c) => next<[number, Buffer]>(c, 'close'));
    await wss.close();
    expect((await Promise.all(codes)).map(([c]) => c)).toEqual([1001, 1001, 1001]);
    expect(wss.clients.size).toBe(0);
  });

  it('terminate() ends the connection at once with 1006', async () => {
    const { url } = await echoServer();
    const ws = await openClient(url);
    ws.terminate();
    expect((await ws.closed).code).toBe(1006);
  });
});

describe('failures and limits', () => {
  it('fails a message over maxPayload with 1009', async () => {
    const { url, wss } = await startServer({ maxPayload: 1024 });
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await serverSide;
    const serverError = next<[Error]>(peer, 'error');
    ws.send(Buffer.alloc(2048));
    const [code] = await next<[number, Buffer]>(ws, 'close');
    expect(code).toBe(1009);
    expect((await serverError)[0]).toMatchObject({ code: 'WS_ERR_FRAME_TOO_BIG', closeCode: 1009 });
  });

  it('answers garbage with 1002 and closes TCP, without crashing', async () => {
    const { port, wss } = await startServer();
    servers.push(wss);
    const raw = await RawClient.open(port);
    raw.write(upgradeRequest());
    await raw.until(() => raw.text().includes('\r\n\r\n'));
    raw.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]));
    await raw.waitClosed();
    const afterHead = raw.received.subarray(raw.received.indexOf('\r\n\r\n') + 4);
    expect(afterHead[0]).toBe(0x88);
    expect(afterHead.readUInt16BE(2)).toBe(1002);
  });

  it('send() reports backpressure and drain follows', async () => {
    const { url, wss } = await startServer({ highWaterMark: 64 * 1024 });
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url);
    const [peer] = await serverSide;
    peer.pause();
    let accepted = true;
    let sent = 0;
    while (accepted && sent < 10_000) {
      accepted = ws.send(Buffer.alloc(16 * 1024));
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    expect(accepted).toBe(false);
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024);
    const drained = next(ws, 'drain');
    peer.resume();
    await drained;
    expect(ws.bufferedAmount).toBeLessThan(64 * 1024);
    await ws.close();
  });

  it('stops reading from a peer that does not read our echoes (bounded memory)', async () => {
    const { port, wss } = await startServer({ highWaterMark: 64 * 1024 });
    servers.push(wss);
    wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    raw.socket.pause();
    raw.write(upgradeRequest());
    const [peer] = await serverSide;
    const frame = Buffer.from(buildFrame({ opcode: 2, payload: new Uint8Array(60 * 1024), mask: [1, 2, 3, 4] }));
    // Write 40 MiB of echo requests without ever reading.
    let written = 0;
    const writer = async () => {
      while (written < 40 * 1024 * 1024 && !raw.closed) {
        if (!raw.socket.write(frame)) await new Promise((r) => raw.socket.once('drain', r).once('close', r));
        written += frame.length;
      }
    };
    void writer();
    await new Promise((r) => setTimeout(r, 1500));
    expect(peer.bufferedAmount).toBeLessThan(16 * 1024 * 1024);
    expect(written).toBeLessThan(40 * 1024 * 1024);
    raw.socket.destroy();
  });

  it('heartbeat terminates a peer that stops answering', async () => {
    const { port, wss } = await startServer({ heartbeatInterval: 100 });
    servers.push(wss);
    const serverSide = next<[WebSocket]>(wss, 'connection');
    const raw = await RawClient.open(port);
    raw.write(upgradeRequest());
    const [peer] = await serverSide;
    const [code] = await next<[number, Buffer]>(peer, 'close', 2000);
    expect(code).toBe(1006);
    // It did ping before giving up.
    expect(raw.received.includes(Buffer.from([0x89, 0x00]))).toBe(true);
  });

  it('heartbeats of many connections run on one shared timer, and leave it when they close', async () => {
    const { url, wss } = await startServer({ heartbeatInterval: 1000 });
    servers.push(wss);
    const before = heartbeatMembers();
    const clients = await Promise.all(Array.from({ length: 50 }, () => openClient(url)));
    await new Promise((r) => setTimeout(r, 50));
    expect(heartbeatMembers() - before).toBe(50);
    await Promise.all(clients.map((ws) => ws.close()));
    await new Promise((r) => setTimeout(r, 50));
    expect(heartbeatMembers()).toBe(before);
  });

  it('heartbeat keeps a responsive peer alive', async () => {
    const { url, wss } = await startServer({ heartbeatInterval: 50 });
    servers.push(wss);
    const ws = await openClient(url);
    await new Promise((r) => setTimeout(r, 400));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    await ws.close();
  });

  it('idleTimeout closes a silent connection with 1001', async () => {
    const { url, wss } = await startServer({ idleTimeout: 150 });
    servers.push(wss);
    const ws = await openClient(url);
    const [code, reason] = await next<[number, Buffer]>(ws, 'close', 3000);
    expect([code, reason.toString()]).toEqual([1001, 'idle timeout']);
  });

  it('rejects sending while CONNECTING and after close', async () => {
    const { url } = await echoServer();
    const ws = new WebSocket(url);
    expect(() => ws.send('x')).toThrow(/CONNECTING/);
    await next(ws, 'open');
    await ws.close();
    const error = await new Promise<Error | null | undefined>((resolve) => ws.send('late', resolve));
    expect(error?.message).toMatch(/not open/);
  });

  it('reports a refused connection as error then close 1006', async () => {
    const ws = new WebSocket('ws://127.0.0.1:1');
    const [error] = await next<[Error]>(ws, 'error');
    expect(error).toMatchObject({ code: 'WS_ERR_CONNECTION_FAILED' });
    expect((await ws.closed).code).toBe(1006);
  });

  it('validates URLs and options up front', () => {
    expect(() => new WebSocket('http://x/#frag')).toThrow(/fragment/);
    expect(() => new WebSocket('ftp://x/')).toThrow(/scheme/);
    expect(() => new WebSocket('ws://x/', { maxPayload: -1 })).toThrow(/maxPayload/);
    expect(() => new WebSocket('ws://x/', { nope: 1 } as never)).toThrow(/unknown option "nope"/);
  });
});

describe('client handover', () => {
  it("code that awaits 'open' before attaching 'message' still gets the frames sent right behind the 101", async () => {
    // Before, the frames behind the handshake were delivered synchronously after 'open', before
    // an awaiting caller resumed: one run in five lost the server's first message.
    const { wss, url } = await startServer();
    wss.on('connection', (ws) => {
      ws.send('welcome');
      ws.send('second');
    });
    try {
      for (let i = 0; i < 20; i++) {
        const ws = new WebSocket(url);
        await new Promise<void>((resolve) => ws.once('open', () => resolve()));
        const got: string[] = [];
        ws.on('message', (data) => got.push(String(data)));
        const deadline = Date.now() + 2000;
        while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        expect(got).toEqual(['welcome', 'second']);
        ws.terminate();
      }
    } finally {
      await wss.close();
    }
  });
  it("a pause() made in the first turn after 'open' holds", async () => {
    const { wss, url } = await startServer();
    wss.on('connection', (ws) => ws.send('held'));
    try {
      const ws = new WebSocket(url);
      await new Promise<void>((resolve) => ws.once('open', () => resolve()));
      ws.pause();
      const got: string[] = [];
      ws.on('message', (data) => got.push(String(data)));
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([]);
      expect(ws.isPaused).toBe(true);
      ws.resume();
      const deadline = Date.now() + 2000;
      while (got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      expect(got).toEqual(['held']);
      ws.terminate();
    } finally {
      await wss.close();
    }
  });
});
