/**
 * The reconnecting client against this library's real server on loopback: a server that drops
 * connections mid-stream, refuses with 503 + Retry-After, answers 401, goes away and comes back.
 * Delays are checked against the policy (injected random source) within a tolerance; every
 * message accepted by `send` is either received by the server, in order, or reported dropped;
 * and no timer is left armed after `close()`.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, reconnect, ReconnectingWebSocket, type ReconnectingEvent, WebSocketError, type WebSocketServer } from '../../src/index.js';
import { resolveReconnect } from '../../src/node/client/reconnect-options.js';
import { next, startServer } from '../helpers/node.js';

const servers: WebSocketServer[] = [];
const clients: ReconnectingWebSocket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(options);
  servers.push(s.wss);
  return s;
}

function client(url: string, options: ConstructorParameters<typeof ReconnectingWebSocket>[2] = {}): ReconnectingWebSocket {
  const c = new ReconnectingWebSocket(url, [], { perMessageDeflate: false, ...options, backoff: { minDelay: 20, maxDelay: 200, random: () => 0.5, ...options.backoff } });
  clients.push(c);
  return c;
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe('ReconnectingWebSocket', () => {
  it('heartbeat is on by default (30 s), and can still be set or turned off', () => {
    expect(resolveReconnect('ws://127.0.0.1:1', [], {}).client.heartbeatInterval).toBe(30_000);
    expect(resolveReconnect('ws://127.0.0.1:1', [], { heartbeatInterval: 0 }).client.heartbeatInterval).toBe(0);
    expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { backoff: { minDelay: -1 } })).toThrow(WebSocketError);
    expect(() => new ReconnectingWebSocket('ftp://x')).toThrow(/scheme/);
    expect(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { sendQueue: { overflow: 'x' as never } })).toThrow(/overflow/);
  });

  it('survives a server that drops connections mid-stream: every message arrives in order or is reported', async () => {
    const received: string[] = [];
    let dropsLeft = 3;
    const { wss, url } = await server();
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        received.push(String(data));
        // Drop the TCP connection (no close frame) after every 5th message, three times.
        if (received.length % 5 === 0 && dropsLeft > 0) {
          dropsLeft--;
          ws.terminate();
        }
      });
    });
    const c = client(url);
    const reconnecting: ReconnectingEvent[] = [];
    const dropped: string[] = [];
    c.on('reconnecting', (e) => reconnecting.push(e));
    c.on('drop', (data) => dropped.push(String(data)));
    let opens = 0;
    c.on('open', () => opens++);
    const outcomes: (Error | null)[] = [];
    for (let i = 0; i < 40; i++) {
      c.send(`m${i}`, (error) => outcomes.push(error ?? null));
      await sleep(10);
    }
    await until(() => outcomes.length === 40 && received.length + dropped.length >= 40);
    await c.close();
    expect(opens).toBe(4);
    expect(reconnecting.map((e) => [e.cause.kind, e.cause.kind === 'closed' ? e.cause.code : 0])).toEqual([
      ['closed', 1006],
      ['closed', 1006],
      ['closed', 1006],
    ]);
    // Short-lived connections do not reset the backoff (stableAfter 10 s): ceilings 40, 80, 160, halfway from 20.
    expect(reconnecting.map((e) => [e.attempt, e.delay])).toEqual([
      [1, 30],
      [2, 50],
      [3, 90],
    ]);
    // Nothing lost silently: each message was received or reported dropped (and its callback says which).
    const all = Array.from({ length: 40 }, (_, i) => `m${i}`);
    expect([...received, ...dropped].sort()).toEqual([...all].sort());
    expect(received).toEqual(all.filter((m) => !dropped.includes(m)));
    expect(outcomes.filter((e) => e !== null)).toHaveLength(dropped.length);
    for (const e of outcomes) if (e !== null) expect((e as WebSocketError).code).toBe(ErrorCode.MessageDropped);
  });

  it('a connection that stayed up for stableAfter resets the backoff', async () => {
    const { wss, url } = await server();
    wss.on('connection', (ws) => setTimeout(() => ws.close(1012), 60));
    const c = client(url, { backoff: { minDelay: 20, maxDelay: 200, stableAfter: 40, random: () => 0.5 } });
    const events: ReconnectingEvent[] = [];
    c.on('reconnecting', (e) => events.push(e));
    await until(() => events.length === 3);
    expect(events.map((e) => [e.attempt, e.delay])).toEqual([
      [1, 30],
      [1, 30],
      [1, 30],
    ]);
    expect(events[0]!.cause).toEqual({ kind: 'closed', code: 1012, reason: '' });
  });

  it("gives up (after the constructor returned) when proxy: 'env' names an invalid proxy", async () => {
    const saved = { ...process.env };
    delete process.env.http_proxy;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    process.env.HTTP_PROXY = 'socks5://127.0.0.1:1080';
    try {
      const c = client('ws://127.0.0.1:1/', { proxy: 'env' });
      const [giveUp] = await next<[{ cause: { kind: string; error?: WebSocketError } }]>(c, 'give-up');
      expect(giveUp.cause.error?.code).toBe(ErrorCode.InvalidArgument);
      expect(await c.closed).toMatchObject({ code: 1006 });
    } finally {
      delete process.env.HTTP_PROXY;
      Object.assign(process.env, saved);
    }
  });

  it('waits as the policy says between failed attempts, then gives up after maxRetries', async () => {
    const port = await freePort();
    const c = client(`ws://127.0.0.1:${port}`, { backoff: { minDelay: 40, maxDelay: 400, factor: 2, maxRetries: 4, random: () => 0.5 } });
    const events: { at: number; event: ReconnectingEvent }[] = [];
    c.on('reconnecting', (event) => events.push({ at: performance.now(), event }));
    const [giveUp] = await next<[{ attempts: number; error: WebSocketError }]>(c, 'give-up', 5000);
    const end = performance.now();
    // retry n waits halfway between 40 and min(400, 40 * 2^n): 60, 100, 180, 220
    expect(events.map((e) => e.event.delay)).toEqual([60, 100, 180, 220]);
    expect(events.map((e) => e.event.attempt)).toEqual([1, 2, 3, 4]);
    for (const { event } of events) expect(event.cause.kind === 'error' && (event.cause.error as WebSocketError).code).toBe(ErrorCode.ConnectionFailed);
    // The gap to the next failure is the delay plus one refused connection (tolerance 150 ms on a loaded machine).
    const gaps = [...events.slice(1).map((e) => e.at), end].map((at, i) => at - events[i]!.at);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(events[i]!.event.delay - 2);
      expect(gap).toBeLessThan(events[i]!.event.delay + 150);
    });
    expect(giveUp.attempts).toBe(4);
    expect(giveUp.error.code).toBe(ErrorCode.ReconnectGaveUp);
    expect(c.readyState).toBe(ReconnectingWebSocket.CLOSED);
    expect(await c.closed).toMatchObject({ code: 1006, wasClean: false });
  });

  it('honours 503 + Retry-After, then connects', async () => {
    let attempts = 0;
    const { wss, url } = await server({
      verify: () => (++attempts === 1 ? { accept: false, status: 503, message: 'busy', headers: { 'Retry-After': '1' } } : true),
    });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
    const c = client(url, { backoff: { minDelay: 20, maxDelay: 2000, random: () => 0 } });
    const started = performance.now();
    const [event] = await next<[ReconnectingEvent]>(c, 'reconnecting');
    expect(event.cause).toMatchObject({ kind: 'rejected', status: 503 });
    expect(event.delay).toBe(1000);
    await next(c, 'open', 3000);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(995);
    expect(waited).toBeLessThan(1400);
    c.send('after 503');
    const [echo] = await next<[Buffer]>(c, 'message');
    expect(String(echo)).toBe('after 503');
    expect(attempts).toBe(2);
  });

  it('gives up at once on 401, unless shouldReconnect says otherwise', async () => {
    let attempts = 0;
    const { url } = await server({ verify: () => (attempts++, { accept: false, status: 401, message: 'who are you' }) });
    const c = client(url);
    let reconnecting = 0;
    c.on('reconnecting', () => reconnecting++);
    const dropped: string[] = [];
    c.on('drop', (data) => dropped.push(String(data)));
    c.send('queued before the refusal');
    const [giveUp] = await next<[{ cause: { kind: string; status?: number } }]>(c, 'give-up');
    expect(giveUp.cause).toMatchObject({ kind: 'rejected', status: 401 });
    expect([attempts, reconnecting]).toEqual([1, 0]);
    await c.closed;
    expect(dropped).toEqual(['queued before the refusal']);

    attempts = 0;
    const seen: boolean[] = [];
    const d = client(url, { shouldReconnect: (cause, { attempt, retryable }) => (seen.push(retryable), cause.kind === 'rejected' && attempt <= 2) });
    await next(d, 'give-up');
    expect(attempts).toBe(3);
    expect(seen).toEqual([false, false, false]);
  });

  it('rides out a server that goes away and comes back on the same port; messages sent meanwhile are flushed in order', async () => {
    const first = await server();
    const port = first.port;
    const c = client(first.url, { backoff: { minDelay: 30, maxDelay: 100, random: () => 0.5 } });
    await next(c, 'open');
    const causes: string[] = [];
    c.on('reconnecting', (e) => causes.push(e.cause.kind === 'closed' ? `closed ${e.cause.code}` : e.cause.kind));
    await first.wss.close(); // 1001 to the client
    servers.splice(servers.indexOf(first.wss), 1);
    await until(() => causes.length >= 3); // a few refused attempts while it is gone
    expect(c.readyState).toBe(ReconnectingWebSocket.CONNECTING);
    for (let i = 0; i < 5; i++) expect(c.send(`offline ${i}`)).toBe(true);
    expect(c.queuedMessages).toBe(5);
    expect(c.bufferedAmount).toBe(5 * 'offline 0'.length);
    const received: string[] = [];
    const second = await server({ port } as never);
    second.wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
    await next(c, 'open', 3000);
    c.send('online');
    await until(() => received.length === 6);
    expect(received).toEqual(['offline 0', 'offline 1', 'offline 2', 'offline 3', 'offline 4', 'online']);
    expect(causes[0]).toBe('closed 1001');
    expect(causes.slice(1).every((cause) => cause === 'error')).toBe(true);
    expect(c.connectionCount).toBe(2);
  });

  it('bounds the offline queue: drop-oldest reports the evicted, refuse-newest the refused', async () => {
    const port = await freePort();
    const old = client(`ws://127.0.0.1:${port}`, { sendQueue: { maxQueuedMessages: 2, overflow: 'drop-oldest' } });
    const dropped: string[] = [];
    const errors: string[] = [];
    old.on('drop', (data, error) => (dropped.push(String(data)), errors.push(error.code)));
    const callbacks: string[] = [];
    for (const m of ['a', 'b', 'c', 'd']) expect(old.send(m, (e) => callbacks.push(`${m}:${e ? 'dropped' : 'sent'}`))).toBe(true);
    await sleep(5);
    expect(dropped).toEqual(['a', 'b']);
    expect(callbacks).toEqual(['a:dropped', 'b:dropped']);
    expect(errors).toEqual([ErrorCode.MessageDropped, ErrorCode.MessageDropped]);

    const refuse = client(`ws://127.0.0.1:${port}`, { sendQueue: { maxQueuedBytes: 5 } });
    const refused: string[] = [];
    refuse.on('drop', (data) => refused.push(String(data)));
    expect(refuse.send('12345')).toBe(true);
    expect(refuse.send('6')).toBe(false);
    expect(refuse.send(Buffer.from('7'))).toBe(false);
    await sleep(5);
    expect(refused).toEqual(['6', '7']);

    // close() reports whatever is still queued.
    await old.close();
    expect(dropped).toEqual(['a', 'b', 'c', 'd']);
    expect(callbacks).toEqual(['a:dropped', 'b:dropped', 'c:dropped', 'd:dropped']);
    expect(old.send('late')).toBe(false);
  });

  it('sendAsync settles when written or dropped; ping and pong need an open connection', async () => {
    const { wss, url } = await server();
    const pings: string[] = [];
    wss.on('connection', (ws) => ws.on('ping', (data) => pings.push(String(data))));
    const c = client(url);
    const pingError = await new Promise<Error | null | undefined>((resolve) => c.ping('early', undefined, resolve));
    expect((pingError as WebSocketError).code).toBe(ErrorCode.InvalidState);
    await c.sendAsync('queued, then written');
    expect(c.readyState).toBe(ReconnectingWebSocket.OPEN);
    c.ping('alive');
    c.pong('unsolicited');
    await until(() => pings.length === 1);
    expect(pings).toEqual(['alive']);
    const closing = c.close();
    await expect(c.sendAsync('too late')).rejects.toMatchObject({ code: ErrorCode.MessageDropped });
    await closing;
  });

  it('binaryType set after construction applies to the connection', async () => {
    const { wss, url } = await server();
    wss.on('connection', (ws) => ws.send(Buffer.from([1, 2, 3])));
    const c = client(url);
    c.binaryType = 'arraybuffer';
    const [data, isBinary] = await next<[ArrayBuffer, boolean]>(c, 'message');
    expect(isBinary).toBe(true);
    expect(data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(data)]).toEqual([1, 2, 3]);
  });

  it('a queued Buffer is copied: changing it after send does not change what is sent', async () => {
    const { wss, url } = await server();
    const received: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
    const c = client(url);
    const bytes = Buffer.from('original');
    c.send(bytes); // still connecting: queued
    bytes.write('mutated!');
    await until(() => received.length === 1);
    expect(received).toEqual(['original']);
  });

  it('finds a half-open connection with the heartbeat and replaces it', async () => {
    const { wss, url } = await server();
    let connections = 0;
    let silent: { terminate(): void } | null = null;
    wss.on('connection', (ws) => {
      // The first connection goes silent: it stops reading, so pings are never answered.
      if (++connections === 1) {
        ws.pause();
        silent = ws;
      }
    });
    const c = client(url, { heartbeatInterval: 100 });
    await next(c, 'open');
    const [event] = await next<[ReconnectingEvent]>(c, 'reconnecting', 2000);
    expect(event.cause).toMatchObject({ kind: 'closed', code: 1006 });
    await next(c, 'open', 2000);
    expect(connections).toBe(2);
    // The server side never read the client's FIN either; free it.
    (silent as { terminate(): void } | null)?.terminate();
  });

  it('leaves no timer armed after close(), whether waiting, connecting or open', async () => {
    // Every timer made during the test is tracked, the unref'd ones (heartbeat, close, stall) too:
    // Node's count of active resources does not see those.
    const made: NodeJS.Timeout[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const timer = realSetTimeout(...args);
      made.push(timer);
      return timer;
    }) as typeof setTimeout;
    try {
      await timersCheck();
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    const armed = made.filter((t) => (t as unknown as { _destroyed: boolean })._destroyed !== true);
    expect(armed).toEqual([]);
  });
  async function timersCheck(): Promise<void> {
    await sleep(20);
    const baseline = activeTimers();
    const port = await freePort();
    const waiting = client(`ws://127.0.0.1:${port}`, { backoff: { minDelay: 5000, maxDelay: 5000 } });
    await next(waiting, 'reconnecting');
    expect(activeTimers()).toBeGreaterThan(baseline);
    await waiting.close();

    const { wss, url } = await server();
    const open = client(url);
    await next(open, 'open');
    await open.close();

    const connecting = client(url);
    const closing = connecting.close();
    // Closing an attempt still in its handshake aborts it: CLOSING at once, CLOSED on the next tick (as with ws).
    expect(connecting.readyState).toBe(ReconnectingWebSocket.CLOSING);
    await closing;
    expect(connecting.readyState).toBe(ReconnectingWebSocket.CLOSED);
    await sleep(20);
    await wss.close();
    await sleep(20);
    expect(activeTimers()).toBe(baseline);
    // 'close' came once each, and a second close() is harmless.
    await expect(open.close()).resolves.toMatchObject({ code: 1000, wasClean: true });
  }
});

describe('reconnect() loop', () => {
  it('yields a new connection after each retryable close and ends on 1000', async () => {
    let n = 0;
    const { wss, url } = await server();
    wss.on('connection', (ws) => {
      n++;
      ws.send(`hello ${n}`);
      setTimeout(() => ws.close(n < 3 ? 1012 : 1000), 20);
    });
    const greetings: string[] = [];
    for await (const ws of reconnect(url, { backoff: { minDelay: 10, maxDelay: 50 }, perMessageDeflate: false })) {
      for await (const message of ws) greetings.push(String(message));
    }
    expect(greetings).toEqual(['hello 1', 'hello 2', 'hello 3']);
  });

  it('closing the yielded connection with 1000 ends the loop', async () => {
    const { url } = await server();
    let connections = 0;
    for await (const ws of reconnect(url, { backoff: { minDelay: 10 } })) {
      connections++;
      await ws.close(1000, 'done');
    }
    expect(connections).toBe(1);
  });

  it('throws WS_ERR_RECONNECT_GAVE_UP with the cause on 401', async () => {
    const { url } = await server({ verify: () => false });
    const loop = reconnect(url, { backoff: { minDelay: 10 } });
    const error = await loop.next().then(
      () => null,
      (e: unknown) => e as WebSocketError & { cause: unknown },
    );
    expect(error?.code).toBe(ErrorCode.ReconnectGaveUp);
    expect(error?.cause).toMatchObject({ kind: 'rejected', status: 401 });
  });

  it('break closes the connection and leaves no timer', async () => {
    await sleep(20);
    const baseline = activeTimers();
    const { wss, url } = await server();
    const closed = new Promise((resolve) => wss.on('connection', (ws) => ws.on('close', resolve)));
    for await (const ws of reconnect(url, { backoff: { minDelay: 10 } })) {
      expect(ws.readyState).toBe(1);
      break;
    }
    await closed;
    await sleep(20);
    expect(activeTimers()).toBe(baseline);
  });
});
