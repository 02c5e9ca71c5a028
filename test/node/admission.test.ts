// Admission control on a real server: per-address, per-user and pending-handshake budgets, with
// distinct client addresses from the loopback range (127.0.0.2, 127.0.0.3, ...), and the
// same-origin default. Each test also checks that an honest client keeps getting in.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions, WebSocketServer } from '../../src/index.js';
import { startServer, upgradeRequest } from '../helpers/node.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Omit<ServerOptions, 'port'>): Promise<{ wss: WebSocketServer; port: number }> {
  const started = await startServer({ closeTimeout: 200, ...options });
  cleanups.push(() => started.wss.close());
  return started;
}

/** A raw TCP socket from `from`, collecting what it receives. */
async function rawFrom(port: number, from: string): Promise<{ socket: Socket; text: () => string; closed: Promise<unknown> }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  cleanups.push(() => socket.destroy());
  return { socket, text: () => received, closed };
}

/** Upgrade from `from` and return the status line's code. */
async function upgradeStatus(port: number, from: string, extra: string[] = []): Promise<{ status: number; head: string; socket: Socket }> {
  const raw = await rawFrom(port, from);
  raw.socket.write(upgradeRequest('/', extra));
  const deadline = Date.now() + 3000;
  while (!raw.text().includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const head = raw.text().slice(0, raw.text().indexOf('\r\n\r\n'));
  return { status: Number(head.slice(9, 12)), head, socket: raw.socket };
}

describe('maxConnectionsPerIp', () => {
  it('refuses the address over its budget with 429 and Retry-After; other addresses still connect', async () => {
    const { wss, port } = await server({ maxConnectionsPerIp: 3 });
    for (let i = 0; i < 3; i++) expect((await upgradeStatus(port, '127.0.0.2')).status).toBe(101);
    const refused = await upgradeStatus(port, '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(refused.head).toMatch(/\r\nRetry-After: 5/);
    expect((await upgradeStatus(port, '127.0.0.3')).status).toBe(101);
    expect(wss.admission.openFrom('127.0.0.2')).toBe(3);
  });
  it('frees the slot when a connection closes', async () => {
    const { wss, port } = await server({ maxConnectionsPerIp: 1 });
    const first = await upgradeStatus(port, '127.0.0.4');
    expect(first.status).toBe(101);
    first.socket.destroy();
    const deadline = Date.now() + 2000;
    while (wss.admission.openFrom('127.0.0.4') !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect((await upgradeStatus(port, '127.0.0.4')).status).toBe(101);
  });
  it('with trustProxy, counts the address the proxy forwarded', async () => {
    const { port } = await server({ maxConnectionsPerIp: 1, trustProxy: true });
    expect((await upgradeStatus(port, '127.0.0.5', ['X-Forwarded-For: 203.0.113.1'])).status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.5', ['X-Forwarded-For: 203.0.113.2'])).status).toBe(101);
    // A client-supplied entry in front of the proxy's does not buy a new budget.
    expect((await upgradeStatus(port, '127.0.0.5', ['X-Forwarded-For: 6.6.6.6, 203.0.113.1'])).status).toBe(429);
  });
});

describe('maxConnectionsPerUser', () => {
  it("limits one user's connections across addresses", async () => {
    const { port } = await server({
      maxConnectionsPerUser: 2,
      verify: (req) => ({ accept: true, user: { id: String(req.headers['x-user'] ?? 'anonymous') } }),
    });
    expect((await upgradeStatus(port, '127.0.0.6', ['X-User: alice'])).status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.7', ['X-User: alice'])).status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.8', ['X-User: alice'])).status).toBe(429);
    expect((await upgradeStatus(port, '127.0.0.8', ['X-User: bob'])).status).toBe(101);
  });
});

describe('pending handshakes are counted', () => {
  it('silent sockets use up their own budget, not every file descriptor; honest clients still get in after', async () => {
    const { wss, port } = await server({ maxConnections: 2, maxPendingHandshakes: 8, maxPendingHandshakesPerIp: 4 });
    // The server is full of open connections...
    expect((await upgradeStatus(port, '127.0.0.9')).status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.10')).status).toBe(101);
    // ...and silent sockets arrive.
    const silent = [];
    for (let i = 0; i < 4; i++) silent.push(await rawFrom(port, '127.0.0.11'));
    const fifth = await rawFrom(port, '127.0.0.11');
    await fifth.closed;
    expect(fifth.text()).toMatch(/^HTTP\/1\.1 429/);
    for (let i = 0; i < 4; i++) silent.push(await rawFrom(port, `127.0.0.${12 + i}`));
    await new Promise((r) => setTimeout(r, 50));
    expect(wss.admission.pending).toBe(8);
    const overTotal = await rawFrom(port, '127.0.0.20');
    await overTotal.closed;
    expect(overTotal.text()).toMatch(/^HTTP\/1\.1 503/);
    // The silent ones go; the budget comes back.
    for (const s of silent) s.socket.destroy();
    const deadline = Date.now() + 2000;
    while (wss.admission.pending !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(wss.admission.pending).toBe(0);
    // Full of open connections: an honest upgrade is refused for capacity, not hung.
    expect((await upgradeStatus(port, '127.0.0.21')).status).toBe(503);
  });
  it('a completed handshake gives its slot back', async () => {
    const { wss, port } = await server({});
    await upgradeStatus(port, '127.0.0.22');
    expect(wss.admission.pending).toBe(0);
    expect(wss.admission.open).toBe(1);
  });
});

describe('Origin: same-origin by default', () => {
  it('refuses a cross-site Origin with 403 and says which option to set', async () => {
    const { port } = await server({});
    const refused = await upgradeStatus(port, '127.0.0.1', ['Origin: https://evil.example']);
    expect(refused.status).toBe(403);
  });
  it('accepts the same origin, and requests without Origin', async () => {
    const { port } = await server({});
    // upgradeRequest sends Host: 127.0.0.1
    expect((await upgradeStatus(port, '127.0.0.1', ['Origin: http://127.0.0.1'])).status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.1')).status).toBe(101);
  });
  it("origins: '*' accepts any origin", async () => {
    const { port } = await server({ origins: '*' });
    expect((await upgradeStatus(port, '127.0.0.1', ['Origin: https://evil.example'])).status).toBe(101);
  });
});

describe('memory of an open connection', () => {
  it('an upgraded socket keeps neither its pending-handshake slot nor the listener that released it', async () => {
    const { wss, port } = await server({});
    const sockets: import('node:stream').Duplex[] = [];
    wss.on('connection', (ws) => sockets.push((ws as unknown as { _connection: { transport: import("node:stream").Duplex } })._connection.transport));
    const { status } = await upgradeStatus(port, '127.0.0.1');
    expect(status).toBe(101);
    const deadline = Date.now() + 2000;
    while (sockets.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const socket = sockets[0]!;
    const slot = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'rfc6455.handshake-slot');
    expect(slot === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[slot]).toBeUndefined();
    expect(socket.listeners('close').some((l) => l.name === 'releaseSlotOnClose')).toBe(false);
    expect(wss.admission.pending).toBe(0);
  });
});

describe('observability', () => {
  it('wss.stats() counts accepted connections, refusals, closes and limit hits', async () => {
    const { wss, port } = await server({ maxConnectionsPerIp: 1 });
    const ok = await upgradeStatus(port, '127.0.0.30');
    expect(ok.status).toBe(101);
    expect((await upgradeStatus(port, '127.0.0.30')).status).toBe(429);
    expect((await upgradeStatus(port, '127.0.0.31', ['Origin: https://evil.example'])).status).toBe(403);
    ok.socket.destroy();
    const deadline = Date.now() + 2000;
    while (wss.stats().open !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const stats = wss.stats();
    expect(stats).toMatchObject({ open: 0, pendingHandshakes: 0, accepted: 1, rejections: { 429: 1, 403: 1 }, closes: { 1006: 1 } });
    expect(stats.limits.maxConnectionsPerIp).toBe(1);
  });
  it('wss.stats() shows traffic, connections by state, the busiest addresses and the top limit hitters', async () => {
    const { wss, port } = await server({ maxConnectionsPerIp: 3, rateLimit: { messageBurst: 2, messagesPerSecond: 1, overflow: 'drop' } });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const held = [await upgradeStatus(port, '127.0.0.40'), await upgradeStatus(port, '127.0.0.40'), await upgradeStatus(port, '127.0.0.41')];
    expect(held.map((h) => h.status)).toEqual([101, 101, 101]);
    // Two over the per-address limit from .42, after filling it.
    for (let i = 0; i < 3; i++) expect((await upgradeStatus(port, '127.0.0.42')).status).toBe(101);
    for (let i = 0; i < 2; i++) expect((await upgradeStatus(port, '127.0.0.42')).status).toBe(429);
    // A client from .43 sends four text frames (masked with a zero key): a burst of two, then the
    // third and fourth are dropped.
    const talker = await upgradeStatus(port, '127.0.0.43');
    const frame = (text: string) => Buffer.concat([Buffer.from([0x81, 0x80 | text.length, 0, 0, 0, 0]), Buffer.from(text)]);
    let echoed = '';
    talker.socket.on('data', (d: Buffer) => (echoed += d.toString('latin1')));
    talker.socket.write(Buffer.concat(['one', 'two', 'three', 'four'].map(frame)));
    const deadline = Date.now() + 2000;
    while ((wss.stats().dropped < 2 || !echoed.includes('two')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const stats = wss.stats();
    expect(echoed).toBe('\x81\x03one\x81\x03two');
    expect(stats.traffic).toEqual({ messagesIn: 2, bytesIn: 6, messagesOut: 2, bytesOut: 6 });
    expect(stats.dropped).toBe(2);
    expect(stats.byState).toEqual({ open: 7, closing: 0 });
    expect(stats.open).toBe(7);
    expect(stats.topAddresses.slice(0, 3)).toEqual([
      { address: '127.0.0.42', open: 3, pending: 0 },
      { address: '127.0.0.40', open: 2, pending: 0 },
      // .41 and .43 hold one each; the order between them is not specified.
      expect.objectContaining({ open: 1 }),
    ]);
    expect(stats.topLimitHitters).toEqual([
      { address: '127.0.0.42', hits: 2 },
      { address: '127.0.0.43', hits: 2 },
    ].sort((a, b) => b.hits - a.hits));
  });
  it('NODE_DEBUG=rfc6455 logs opens, closes and refusals to stderr (the logger is read once per process: a child process)', async () => {
    const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
    const script = `
      const { WebSocket, WebSocketServer } = await import(${JSON.stringify(index)});
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxConnectionsPerIp: 1 });
      await new Promise((r) => wss.on('listening', r));
      const url = 'ws://127.0.0.1:' + wss.address().port;
      const first = new WebSocket(url);
      await new Promise((r) => first.on('open', r));
      const second = new WebSocket(url);
      await new Promise((r) => second.on('error', r));
      await first.close(1000);
      await new Promise((r) => setTimeout(r, 50));
      await wss.close();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, NODE_DEBUG: 'rfc6455' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const [exit] = await once(child, 'exit');
    expect(exit).toBe(0);
    expect(stderr).toMatch(/RFC6455 \d+: open 127\.0\.0\.1/);
    expect(stderr).toMatch(/RFC6455 \d+: limit maxConnectionsPerIp hit by 127\.0\.0\.1/);
    expect(stderr).toMatch(/RFC6455 \d+: rejected 127\.0\.0\.1: 429 /);
    expect(stderr).toMatch(/RFC6455 \d+: close 127\.0\.0\.1: 1000/);
  }, 20_000);

  it('publishes rejections and limit hits on diagnostics channels', async () => {
    const { diagnostics } = await import('../../src/index.js');
    const seen: unknown[] = [];
    const onReject = (message: unknown) => seen.push(['reject', message]);
    const onLimit = (message: unknown) => seen.push(['limit', message]);
    diagnostics.rejection.subscribe(onReject);
    diagnostics.limit.subscribe(onLimit);
    cleanups.push(() => {
      diagnostics.rejection.unsubscribe(onReject);
      diagnostics.limit.unsubscribe(onLimit);
    });
    const { port } = await server({ maxConnectionsPerIp: 1 });
    await upgradeStatus(port, '127.0.0.32');
    await upgradeStatus(port, '127.0.0.32');
    expect(seen).toContainEqual(['limit', { remoteAddress: '127.0.0.32', limit: 'maxConnectionsPerIp' }]);
    expect(seen).toContainEqual(['reject', { remoteAddress: '127.0.0.32', status: 429, reason: 'too many connections from this address' }]);
  });
});
