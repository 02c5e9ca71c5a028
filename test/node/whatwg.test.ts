// `rfc6455/whatwg`: the WHATWG WebSocket interface. One browser-style script runs unchanged in
// headless Chromium (Debian's `chromium`, driven by playwright-core; skipped when it is not
// installed) and in Node with our class against the same server, and both record the same event
// sequence; plus the standard's argument checks as DOMExceptions.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from '../../src/index.js';
import { CloseEvent, WebSocket as WhatwgWebSocket } from '../../src/whatwg/index.js';


/** The browser-style script: the body of `async (WebSocket, url) => string[]`. */
const SCRIPT = `
  const log = [];
  const ws = new WebSocket(url, ['chat', 'other']);
  log.push('initial:' + ws.binaryType + ':' + ws.readyState + ':' + ws.bufferedAmount + ':' + (ws instanceof EventTarget));
  try { ws.send('too early'); } catch (e) { log.push('send-connecting:' + e.name); }
  try { ws.send(); } catch (e) { log.push('send-nothing:' + e.name); }
  let messages = 0;
  await new Promise((resolve) => {
    ws.onopen = (e) => {
      log.push('open:' + e.type + ':' + ws.readyState + ':' + ws.protocol + ':' + ws.url);
      ws.send('hello');
      ws.send(42);
      ws.binaryType = 'arraybuffer';
      ws.send(new Uint8Array([1, 2, 3]));
    };
    ws.addEventListener('message', (e) => {
      messages++;
      const d = e.data;
      log.push('message:' + (typeof d === 'string' ? 'string:' + d : d instanceof ArrayBuffer ? 'arraybuffer:' + Array.from(new Uint8Array(d)).join(',') : d instanceof Blob ? 'blob:' + d.size : 'other'));
      if (messages === 3) {
        ws.binaryType = 'bogus';
        log.push('binaryType:' + ws.binaryType);
        ws.binaryType = 'blob';
        ws.send(new Uint8Array([4, 5]).buffer);
      } else if (messages === 4) {
        try { ws.close(1001); } catch (err) { log.push('close-code:' + err.name); }
        try { ws.close(1000, 'x'.repeat(124)); } catch (err) { log.push('close-reason:' + err.name); }
        ws.close(4000.7, 'bye'); // a fraction is dropped, as in Chromium
        log.push('closing:' + ws.readyState);
        ws.close();
        ws.send('abc');
        ws.send(new Uint8Array(4));
        log.push('after-close:' + ws.bufferedAmount);
      }
    });
    ws.onerror = (e) => log.push('error:' + e.type);
    ws.onclose = (e) => {
      log.push('close:' + e.code + ':' + e.reason + ':' + e.wasClean + ':' + ws.readyState + ':' + (e instanceof Event));
      resolve();
    };
  });
  await new Promise((resolve) => {
    const bad = new WebSocket('ws://127.0.0.1:1/');
    bad.onerror = () => log.push('refused-error:' + bad.readyState);
    bad.onclose = (e) => {
      log.push('refused-close:' + e.code + ':' + e.wasClean + ':' + bad.readyState);
      resolve();
    };
  });
  try { new WebSocket(); } catch (e) { log.push('no-url:' + e.name); }
  try { new WebSocket('ftp://127.0.0.1/'); } catch (e) { log.push('scheme:' + e.name); }
  try { new WebSocket(url + '#frag'); } catch (e) { log.push('fragment:' + e.name); }
  try { new WebSocket(url, ['a', 'a']); } catch (e) { log.push('duplicate:' + e.name); }
  try { new WebSocket(url, ['a b']); } catch (e) { log.push('token:' + e.name); }
  log.push('constants:' + [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED, ws.CLOSED].join(','));
  return log;
`;

type Runner = (WebSocketClass: unknown, url: string) => Promise<string[]>;
const runScript = new Function('WebSocket', 'url', `return (async () => {${SCRIPT}})();`) as Runner;

describe('rfc6455/whatwg', () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>rfc6455 whatwg test</title>');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  let url = '';
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/path`;
  });
  afterAll(async () => {
    await wss.close();
    server.close();
  });

  const expected = () => [
    'initial:blob:0:0:true',
    'send-connecting:InvalidStateError',
    'send-nothing:TypeError',
    `open:open:1:chat:${url}`,
    'message:string:hello',
    'message:string:42',
    'message:arraybuffer:1,2,3',
    'binaryType:arraybuffer',
    'message:blob:2',
    'close-code:InvalidAccessError',
    'close-reason:SyntaxError',
    'closing:2',
    'after-close:7',
    'close:4000:bye:true:3:true',
    'refused-error:3',
    'refused-close:1006:false:3',
    'no-url:TypeError',
    'scheme:SyntaxError',
    'fragment:SyntaxError',
    'duplicate:SyntaxError',
    'token:SyntaxError',
    'constants:0,1,2,3,3',
  ];

  it('the browser-style script records the standard sequence in Node', async () => {
    expect(await runScript(WhatwgWebSocket, url)).toEqual(expected());
  });

  it.skipIf(!existsSync(CHROMIUM))('the same script records the same sequence in headless Chromium', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url.replace('ws://', 'http://').replace('/path', '/'));
      const log = await page.evaluate(
        ({ script, target }) => (new Function('WebSocket', 'url', `return (async () => {${script}})();`) as Runner)(WebSocket, target),
        { script: SCRIPT, target: url },
      );
      expect(log).toEqual(expected());
      expect(log).toEqual(await runScript(WhatwgWebSocket, url));
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('fails a connection that cannot open with error, then close 1006', async () => {
    const ws = new WhatwgWebSocket('ws://127.0.0.1:1/');
    const events: string[] = [];
    ws.onerror = (event) => events.push(event.type);
    await new Promise<void>((resolve) => {
      ws.addEventListener('close', (event) => {
        events.push(`close:${(event as CloseEvent).code}:${(event as CloseEvent).wasClean}`);
        resolve();
      });
    });
    expect(events).toEqual(['error', 'close:1006:false']);
  });

  it('repeated subprotocols are found case-insensitively, as web-platform-tests require (undici too; Chromium 156 accepts them)', () => {
    let name = '';
    try {
      new WhatwgWebSocket(url, ['chat', 'Chat']);
    } catch (error) {
      name = (error as DOMException).name;
    }
    expect(name).toBe('SyntaxError');
  });

  it('a Blob counts in bufferedAmount from the send() until it is written', async () => {
    const ws = new WhatwgWebSocket(url);
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(new Blob([new Uint8Array(3 * 1024 * 1024)]));
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    await new Promise((resolve) => (ws.onmessage = resolve));
    expect(ws.bufferedAmount).toBe(0);
    ws.close();
  });

  it('a server that picks none of the offered subprotocols fails the connection', async () => {
    const picky = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => false });
    await once(picky, 'listening');
    const ws = new WhatwgWebSocket(`ws://127.0.0.1:${(picky.address() as { port: number }).port}/`, ['chat']);
    const events: string[] = [];
    ws.onerror = () => events.push(`error:${ws.readyState}`);
    await new Promise<void>((resolve) => {
      ws.onclose = (event) => {
        events.push(`close:${(event as CloseEvent).code}`);
        resolve();
      };
    });
    expect(events).toEqual(['error:3', 'close:1006']);
    await picky.close();
  });

  it('close() while connecting fails the connection as the standard says', async () => {
    const ws = new WhatwgWebSocket(url);
    const events: string[] = [];
    ws.onerror = () => events.push('error');
    const closed = new Promise<void>((resolve) => {
      ws.onclose = (event) => {
        events.push(`close:${(event as CloseEvent).code}`);
        resolve();
      };
    });
    ws.close();
    await closed;
    expect(events).toEqual(['error', 'close:1006']);
    expect(ws.readyState).toBe(WhatwgWebSocket.CLOSED);
  });
});
