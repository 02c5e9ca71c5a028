// A real browser: headless Chromium (Debian's `chromium`, driven by playwright-core) opens our
// server with its default permessage-deflate offer and exchanges text and binary messages; a page
// from another origin cannot connect to a server with default options (same-origin by default).
// Skipped when /usr/bin/chromium is not installed; `.ci/run` installs it.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from '../../src/index.js';

const available = existsSync(CHROMIUM);

describe.skipIf(!available)('headless Chromium against our server', () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>rfc6455 browser test</title>');
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: true });
  let offered = '';
  let connections = 0;
  wss.on('connection', (ws, req) => {
    connections++;
    offered = String(req.headers['sec-websocket-extensions'] ?? '');
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  let port = 0;
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await wss.close();
    server.close();
  });

  it('negotiates permessage-deflate and echoes text and binary, large and small', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      const result = await page.evaluate(async (url) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        const received: unknown[] = [];
        const done = new Promise<void>((resolve) => {
          ws.onmessage = (event) => {
            received.push(typeof event.data === 'string' ? event.data : Array.from(new Uint8Array(event.data as ArrayBuffer)));
            if (received.length === 4) resolve();
          };
        });
        const big = 'lorem ipsum dolor sit amet '.repeat(5000);
        ws.send('hello from chromium');
        ws.send(new Uint8Array([1, 2, 3, 250]));
        ws.send(big);
        ws.send(new Uint8Array(70000).fill(9));
        await done;
        const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) => {
          ws.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean });
        });
        ws.close(1000, 'bye');
        return {
          extensions: ws.extensions,
          first: received[0],
          second: received[1],
          bigOk: received[2] === big,
          largeBinary: (received[3] as number[]).length === 70000 && (received[3] as number[]).every((b) => b === 9),
          close: await closed,
        };
      }, `ws://127.0.0.1:${port}/`);
      expect(offered).toContain('permessage-deflate');
      expect(result.extensions).toContain('permessage-deflate');
      expect(result.first).toBe('hello from chromium');
      expect(result.second).toEqual([1, 2, 3, 250]);
      expect(result.bigOk).toBe(true);
      expect(result.largeBinary).toBe(true);
      expect(result.close).toEqual({ code: 1000, wasClean: true });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('refuses a page from another origin (cross-site WebSocket hijacking) by default', async () => {
    const other = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>another site</title>');
    });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const otherPort = (other.address() as { port: number }).port;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${otherPort}/`);
      const before = connections;
      const outcome = await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => resolve('open');
            ws.onerror = () => resolve('error');
          }),
        `ws://127.0.0.1:${port}/`,
      );
      expect(outcome).toBe('error');
      expect(connections).toBe(before);
    } finally {
      await browser.close();
      other.close();
    }
  }, 60_000);
});
