/**
 * A client WebSocket while its opening handshake runs: close() and terminate() (CLOSING at once,
 * then 'error' and 'close' on the next tick, as in ws and browsers), a handshake timeout through a
 * proxy that never answers (its socket is released), and a throwing 'open' listener.
 */
import { once } from 'node:events';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type WebSocketError } from '../../src/index.js';
import { WebSocket as BrowserWebSocket } from '../../src/whatwg/index.js';
import { next, runFixture, startServer } from '../helpers/node.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a client while CONNECTING', () => {
  for (const how of ['close', 'terminate'] as const) {
    it(`${how}() is CLOSING at once; 'error' and 'close' come on the next tick`, async () => {
      const { wss, url } = await startServer();
      cleanups.push(() => wss.close());
      const ws = new WebSocket(url);
      const events: string[] = [];
      ws.on('error', (error) => events.push(`error ${(error as WebSocketError).code}`));
      ws.on('close', (code: number) => events.push(`close ${code}`));
      if (how === 'close') void ws.close();
      else ws.terminate();
      expect(ws.readyState).toBe(WebSocket.CLOSING);
      expect(events).toEqual([]);
      await next(ws, 'close');
      expect(events).toEqual(['error WS_ERR_CONNECTION_FAILED', 'close 1006']);
      expect(ws.readyState).toBe(WebSocket.CLOSED);
      // A second call changes nothing.
      ws.terminate();
      void ws.close();
    });
  }

  it("the browser-standard client: close() while connecting fires 'error' then 'close' later, not inside the call", async () => {
    const { wss, url } = await startServer();
    cleanups.push(() => wss.close());
    const ws = new BrowserWebSocket(url);
    const events: string[] = [];
    ws.onerror = () => events.push('error');
    const closed = new Promise<void>((resolve) => {
      ws.onclose = (event) => {
        const { code, wasClean } = event as Event & { code: number; wasClean: boolean };
        events.push(`close ${code} ${wasClean}`);
        resolve();
      };
    });
    ws.close();
    expect(ws.readyState).toBe(BrowserWebSocket.CLOSING);
    expect(events).toEqual([]);
    await closed;
    expect(events).toEqual(['error', 'close 1006 false']);
  });

  it('a handshake timeout through a proxy that never answers releases the proxy connection', async () => {
    const accepted: Socket[] = [];
    const proxy = createNetServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
      socket.resume();
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    cleanups.push(() => new Promise((resolve) => proxy.close(resolve)));
    const { port } = proxy.address() as { port: number };
    const ws = new WebSocket('ws://127.0.0.1:9/', { proxy: `http://127.0.0.1:${port}/`, handshakeTimeout: 200 });
    const [error] = await next<[WebSocketError]>(ws, 'error');
    expect(error.code).toBe('WS_ERR_PROXY_TIMEOUT');
    expect(accepted.length).toBe(1);
    const socket = accepted[0]!;
    if (!socket.destroyed) await Promise.race([once(socket, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('proxy socket still open')), 2000))]);
    expect(socket.destroyed).toBe(true);
  });

  it('a constructor that throws (Node rejects a header) leaves no handshake timer behind', () => {
    const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = timers();
    expect(() => new WebSocket('ws://127.0.0.1:9/', { headers: { 'bad header': 'x' }, handshakeTimeout: 60_000 })).toThrow();
    expect(timers()).toBe(before);
  });

  it("a throwing 'open' listener does not leave the connection unread", async () => {
    expect(await runFixture('throwing-open-client.ts')).toEqual({ caught: ['open listener failed'], message: 'hello' });
  }, 20_000);
});
