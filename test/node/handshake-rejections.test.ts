// Handshake rejections over raw TCP against a standalone server: each malformed request gets its
// status and the socket is closed; slow heads are dropped after the handshake timeout; hooks.
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions, WebSocket, WebSocketServer } from '../../src/index.js';
import { next, openClient, RawClient, startServer, upgradeRequest } from '../helpers/node.js';

let servers: WebSocketServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(options: Omit<ServerOptions, 'port'> = {}) {
  const started = await startServer(options);
  servers.push(started.wss);
  return started;
}

async function statusOf(port: number, request: string): Promise<{ status: number; text: string }> {
  const raw = await RawClient.open(port);
  raw.write(request);
  await raw.waitClosed();
  const text = raw.text();
  return { status: Number(text.slice(9, 12)), text };
}

const base = ['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
const req = (lines: string[]) => [...lines, '', ''].join('\r\n');
const drop = (prefix: string) => base.filter((l) => !l.startsWith(prefix));

describe('handshake rejections', () => {
  it.each([
    ['a plain GET', 426, req(['GET / HTTP/1.1', 'Host: x'])],
    ['POST', 405, req(['POST / HTTP/1.1', ...base.slice(1)])],
    ['no Host', 400, req(drop('Host'))],
    ['bad Upgrade', 400, req([...drop('Upgrade'), 'Upgrade: h2c'])],
    ['no Connection: Upgrade', 400, req([...drop('Connection'), 'Connection: close'])],
    ['bad key', 400, req([...drop('Sec-WebSocket-Key'), 'Sec-WebSocket-Key: short'])],
    ['version 12', 426, req([...drop('Sec-WebSocket-Version'), 'Sec-WebSocket-Version: 12'])],
    ['a malformed head', 400, 'GET / HTTP/1.1\nHost: x\n\n'],
    ['a huge request line', 414, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`],
    ['too many headers', 431, req([...base, ...Array.from({ length: 120 }, (_, i) => `X-${i}: y`)])],
  ])('answers %s with %i and closes the socket', async (_name, status, request) => {
    const { port } = await server();
    const result = await statusOf(port, request);
    expect(result.status).toBe(status);
    expect(result.text).toContain('Connection: close');
  });

  it('says which version it speaks when refusing another', async () => {
    const { port } = await server();
    const { text } = await statusOf(port, req([...drop('Sec-WebSocket-Version'), 'Sec-WebSocket-Version: 7']));
    expect(text).toContain('Sec-WebSocket-Version: 13, 8');
  });

  it('rejects a path it does not serve', async () => {
    const { port } = await server({ path: '/ws' });
    expect((await statusOf(port, upgradeRequest('/other'))).status).toBe(400);
    const ok = await RawClient.open(port);
    ok.write(upgradeRequest('/ws?token=1'));
    await ok.until(() => ok.text().includes('\r\n\r\n'));
    expect(ok.text()).toMatch(/^HTTP\/1\.1 101 /);
    ok.socket.destroy();
  });

  it('drops a request whose head never completes (slowloris) after handshakeTimeout', async () => {
    const { port } = await server({ handshakeTimeout: 200 });
    const raw = await RawClient.open(port);
    const started = Date.now();
    raw.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => raw.write('X-Slow: y\r\n'), 50);
    await raw.waitClosed(3000);
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(raw.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('refuses origins outside the allow-list with 403', async () => {
    const { port } = await server({ origins: ['https://app.example'] });
    expect((await statusOf(port, req([...base, 'Origin: https://evil.example']))).status).toBe(403);
  });

  it('lets an async verify hook reject with a status and headers', async () => {
    const { port } = await server({
      verify: async (request) => {
        await new Promise((r) => setTimeout(r, 10));
        return request.headers['authorization'] === 'Bearer good'
          ? { accept: true, user: { name: 'ada' } }
          : { accept: false, status: 401, message: 'who are you', headers: { 'WWW-Authenticate': 'Bearer' } };
      },
    });
    const { status, text } = await statusOf(port, upgradeRequest('/'));
    expect(status).toBe(401);
    expect(text).toContain('WWW-Authenticate: Bearer');
    expect(text).toContain('who are you');
  });

  it('lets verify attach user data to the connection', async () => {
    const { url, wss } = await server({ verify: (request) => ({ accept: true, user: { token: request.headers['authorization'] } }) });
    const connected = next<[WebSocket]>(wss, 'connection');
    const ws = await openClient(url, [], { headers: { Authorization: 'Bearer good' } });
    const [peer] = await connected;
    expect(peer.user).toEqual({ token: 'Bearer good' });
    await ws.close();
  });

  it('supports ws-style verifyClient with a callback', async () => {
    const { port } = await server({ verifyClient: (_info: unknown, cb: (ok: boolean, code?: number, message?: string) => void) => cb(false, 403, 'nope') });
    expect((await statusOf(port, upgradeRequest('/'))).status).toBe(403);
  });

  it('answers 503 beyond maxConnections', async () => {
    const { url, port } = await server({ maxConnections: 1 });
    const first = await openClient(url);
    expect((await statusOf(port, upgradeRequest('/'))).status).toBe(503);
    await first.close();
  });

  it('the client refuses a server that answers with the wrong accept value', async () => {
    const { createServer } = await import('node:net');
    const fake = createServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n'));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as { port: number }).port;
    const { WebSocket } = await import('../../src/index.js');
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const [error] = await next<[Error]>(ws, 'error');
    expect(error).toMatchObject({ code: 'WS_ERR_INVALID_HANDSHAKE' });
    expect((await ws.closed).code).toBe(1006);
    fake.close();
  });

  it('the client times out a server that never answers', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const { WebSocket } = await import('../../src/index.js');
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { handshakeTimeout: 150 });
    const [error] = await next<[Error]>(ws, 'error');
    expect(error).toMatchObject({ code: 'WS_ERR_HANDSHAKE_TIMEOUT' });
    silent.close();
  });
});
