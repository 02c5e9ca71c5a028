// Topics on a real server, one process: subscribe / unsubscribe / publish (wss and ws), frame once
// for every subscriber, shared compression for subscribers without context takeover, the
// slow-subscriber policy (drop with 'dropped', or close with 1013), sendToUser, limits, and two
// servers acting as one through an in-process hub.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessHub, Protocol, type ServerOptions, type WebSocket, type WebSocketServer } from '../../src/index.js';
import { ZlibEngine } from '../../src/node/connection/zlib-engine.js';
import { openClient, startServer } from '../helpers/node.js';
import { RawPeer } from '../wire/raw-peer.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; url: string; port: number; accepted: WebSocket[] }> {
  const started = await startServer({ closeTimeout: 300, ...options });
  const accepted: WebSocket[] = [];
  started.wss.on('connection', (ws) => accepted.push(ws));
  cleanups.push(() => started.wss.close());
  return { ...started, accepted };
}

/** Open `n` clients and wait until the server holds them all. */
async function clients(url: string, n: number, accepted: WebSocket[], options = {}): Promise<WebSocket[]> {
  const before = accepted.length;
  const opened = await Promise.all(Array.from({ length: n }, () => openClient(url, [], options)));
  const deadline = Date.now() + 3000;
  while (accepted.length < before + n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  for (const c of opened) cleanups.push(() => c.terminate());
  return opened;
}

/** Collect the text of every message `ws` receives. */
function inbox(ws: WebSocket): string[] {
  const got: string[] = [];
  ws.on('message', (data) => got.push(String(data)));
  return got;
}

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

describe('subscribe, unsubscribe, publish', () => {
  it('delivers a published message to every subscriber, and to nobody else', async () => {
    const { wss, url, accepted } = await server();
    const [a, b, c] = await clients(url, 3, accepted);
    const [sa, sb, sc] = accepted;
    expect(sa!.subscribe('room')).toBe(true);
    expect(sa!.subscribe('room')).toBe(false);
    expect(sb!.subscribe('room')).toBe(true);
    expect(sc!.subscribe('other')).toBe(true);
    expect(sa!.isSubscribed('room')).toBe(true);
    expect(sc!.isSubscribed('room')).toBe(false);
    expect(sa!.topics).toEqual(['room']);
    expect(wss.subscriberCount('room')).toBe(2);
    expect(wss.topics.sort()).toEqual(['other', 'room']);
    const got = [inbox(a!), inbox(b!), inbox(c!)];
    expect(wss.publish('room', 'hello room')).toBe(2);
    expect(wss.publish('nobody', 'x')).toBe(0);
    await until(() => got[0]!.length === 1 && got[1]!.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([['hello room'], ['hello room'], []]);
  });

  it('ws.publish skips the publisher; binary and text are kept', async () => {
    const { url, accepted } = await server();
    const [a, b] = await clients(url, 2, accepted);
    for (const s of accepted) s.subscribe('chat');
    const messages: [string, boolean][] = [];
    b!.on('message', (data, isBinary) => messages.push([Buffer.from(data as Buffer).toString('hex'), isBinary]));
    const aGot = inbox(a!);
    expect(accepted[0]!.publish('chat', Buffer.from([1, 2, 3]))).toBe(1);
    expect(accepted[0]!.publish('chat', 'text')).toBe(1);
    await until(() => messages.length === 2);
    expect(messages).toEqual([
      ['010203', true],
      [Buffer.from('text').toString('hex'), false],
    ]);
    expect(aGot).toEqual([]);
  });

  it('unsubscribe and close stop delivery; a closed connection leaves every topic', async () => {
    const { wss, url, accepted } = await server();
    const [a, b] = await clients(url, 2, accepted);
    const [sa, sb] = accepted;
    sa!.subscribe('t1');
    sa!.subscribe('t2');
    sb!.subscribe('t1');
    expect(sa!.unsubscribe('t2')).toBe(true);
    expect(sa!.unsubscribe('t2')).toBe(false);
    expect(wss.topics.sort()).toEqual(['t1']);
    const got = inbox(b!);
    a!.close();
    await once(sa!, 'close');
    expect(sa!.topics).toEqual([]);
    expect(sa!.subscribe('t1')).toBe(false);
    expect(wss.subscriberCount('t1')).toBe(1);
    expect(wss.publish('t1', 'after')).toBe(1);
    await until(() => got.length === 1);
    b!.close();
    await once(sb!, 'close');
    expect(wss.topics).toEqual([]);
    expect(wss.stats().pubsub).toMatchObject({ topics: 0, subscriptions: 0 });
  });

  it('frames a published message once: every subscriber is handed the same bytes', async () => {
    const { wss, url, accepted } = await server();
    await clients(url, 5, accepted);
    for (const s of accepted) s.subscribe('fan');
    const seen = new Set<unknown>();
    const original = Protocol.prototype.sendPrepared;
    Protocol.prototype.sendPrepared = function (frame) {
      seen.add(frame.chunks[0]);
      return original.call(this, frame);
    };
    cleanups.push(() => (Protocol.prototype.sendPrepared = original));
    expect(wss.publish('fan', 'x'.repeat(100))).toBe(5);
    expect(seen.size).toBe(1);
  });

  it('validates topics and bounds the topics of one connection', async () => {
    const { wss, url, accepted } = await server({ maxTopicsPerConnection: 2, maxTopicLength: 8 });
    await clients(url, 1, accepted);
    const s = accepted[0]!;
    expect(() => s.subscribe('')).toThrow(/non-empty string of at most 8/);
    expect(() => s.subscribe('123456789')).toThrow(/at most 8/);
    expect(() => s.subscribe('a\0b')).toThrow(/NUL/);
    expect(() => wss.publish(42 as never, 'x')).toThrow(/non-empty string/);
    s.subscribe('one');
    s.subscribe('two');
    expect(() => s.subscribe('three')).toThrow(expect.objectContaining({ code: 'WS_ERR_TOO_MANY_TOPICS' }));
    expect(s.subscribe('two')).toBe(false);
  });

  it('topics are server-side only', async () => {
    const { url, accepted } = await server();
    const [client] = await clients(url, 1, accepted);
    expect(() => client!.subscribe('x')).toThrow(expect.objectContaining({ code: 'WS_ERR_INVALID_STATE' }));
  });
});

describe('sendToUser', () => {
  it("reaches every connection of the verified user, and no one else's", async () => {
    const { wss, url, accepted } = await server({
      verify: (req) => ({ accept: true, user: { id: new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? 'anon' } }),
    });
    const alice1 = await openClient(`${url}/?user=alice`);
    const alice2 = await openClient(`${url}/?user=alice`);
    const bob = await openClient(`${url}/?user=bob`);
    for (const c of [alice1, alice2, bob]) cleanups.push(() => c.terminate());
    await until(() => accepted.length === 3);
    const got = [inbox(alice1), inbox(alice2), inbox(bob)];
    expect(wss.sendToUser('alice', 'for alice')).toBe(2);
    expect(wss.sendToUser(404, 'nobody')).toBe(0);
    await until(() => got[0]!.length === 1 && got[1]!.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([['for alice'], ['for alice'], []]);
    // The user's own topic is not one of the connection's listed topics, and not counted against the limit.
    expect(accepted[0]!.topics).toEqual([]);
    expect(wss.topics).toEqual([]);
  });
});

describe('permessage-deflate', () => {
  it('one compression serves every subscriber without context takeover; others get their own or none', async () => {
    const { wss, url, accepted } = await server({ perMessageDeflate: { threshold: 0 } });
    const shared = await clients(url, 4, accepted, { perMessageDeflate: { serverNoContextTakeover: true } });
    const own = await clients(url, 2, accepted, { perMessageDeflate: true });
    const plain = await clients(url, 1, accepted, { perMessageDeflate: false });
    for (const s of accepted) s.subscribe('news');
    const inboxes = [...shared, ...own, ...plain].map(inbox);
    let deflates = 0;
    const original = ZlibEngine.prototype.deflate;
    ZlibEngine.prototype.deflate = function (...args) {
      deflates++;
      return original.apply(this, args);
    };
    cleanups.push(() => (ZlibEngine.prototype.deflate = original));
    const text = 'compressible '.repeat(200);
    expect(wss.publish('news', text)).toBe(7);
    await until(() => inboxes.every((box) => box.length === 1));
    expect(inboxes.map((box) => box[0] === text)).toEqual(new Array(7).fill(true));
    // One shared compression plus one per context-takeover subscriber.
    expect(deflates).toBe(3);
    // compress: false goes uncompressed to everyone.
    deflates = 0;
    wss.publish('news', text, { compress: false });
    await until(() => inboxes.every((box) => box.length === 2));
    expect(deflates).toBe(0);
  });

  it('keeps order between published messages waiting for a shared compression and direct sends', async () => {
    const { wss, url, accepted } = await server({ perMessageDeflate: { threshold: 0 } });
    const [c] = await clients(url, 1, accepted, { perMessageDeflate: { serverNoContextTakeover: true } });
    accepted[0]!.subscribe('t');
    const got = inbox(c!);
    for (let i = 0; i < 20; i++) {
      wss.publish('t', `published ${i}`);
      accepted[0]!.send(`direct ${i}`);
    }
    await until(() => got.length === 40);
    const expected = Array.from({ length: 20 }, (_, i) => [`published ${i}`, `direct ${i}`]).flat();
    expect(got).toEqual(expected);
  });
});

describe('slow subscribers', () => {
  /** A subscriber that never reads: a raw TCP peer that stops its socket. */
  async function stalledSubscriber(port: number, accepted: WebSocket[]): Promise<{ peer: RawPeer; server: WebSocket }> {
    const before = accepted.length;
    const peer = await RawPeer.toServer(port);
    cleanups.push(() => peer.socket.destroy());
    await until(() => accepted.length > before);
    peer.socket.pause();
    return { peer, server: accepted[accepted.length - 1]! };
  }

  it('drops published messages for a subscriber over the limit, with a dropped event, while the others get everything', async () => {
    const { wss, port, url, accepted } = await server({ publishBackpressureLimit: 256 * 1024 });
    const slow = await stalledSubscriber(port, accepted);
    const [fast] = await clients(url, 1, accepted);
    for (const s of accepted) s.subscribe('firehose');
    const drops: unknown[] = [];
    slow.server.on('dropped', (info) => drops.push(info));
    let fastCount = 0;
    fast!.on('message', () => fastCount++);
    // 12.5 MiB in 16 KiB messages, four at a time: a reading client keeps up, the stalled one
    // fills its socket buffers and then its budget.
    const chunk = 'y'.repeat(16 * 1024);
    const started = Date.now();
    for (let i = 0; i < 800; i++) {
      wss.publish('firehose', chunk);
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    // The publish loop never waited for the stalled reader.
    expect(Date.now() - started).toBeLessThan(5000);
    await until(() => fastCount === 800, 10_000);
    expect(fastCount).toBe(800);
    expect(drops.length).toBeGreaterThan(100);
    expect(drops[0]).toEqual({ topic: 'firehose', user: undefined, reason: 'backpressure', bytes: 16 * 1024 });
    // What the stalled subscriber holds stays at the limit plus one burst.
    expect(slow.server.bufferedAmount).toBeLessThan(256 * 1024 + 4 * 16 * 1024 + 64);
    expect(wss.stats().dropped).toBe(drops.length);
    expect(slow.server.readyState).toBe(1);
  });

  it('closes a subscriber over the limit with 1013 under closeOnBackpressureLimit', async () => {
    const { wss, port, accepted } = await server({ publishBackpressureLimit: 64 * 1024, closeOnBackpressureLimit: true, closeTimeout: 200 });
    const slow = await stalledSubscriber(port, accepted);
    slow.server.subscribe('firehose');
    const closeCodes: (number | undefined)[] = [];
    const original = Protocol.prototype.sendClose;
    Protocol.prototype.sendClose = function (code, reason) {
      closeCodes.push(code);
      return original.call(this, code, reason);
    };
    cleanups.push(() => (Protocol.prototype.sendClose = original));
    const closed = once(slow.server, 'close');
    for (let i = 0; i < 200 && slow.server.readyState === 1; i++) {
      wss.publish('firehose', 'z'.repeat(64 * 1024));
      await new Promise((r) => setImmediate(r));
    }
    expect(slow.server.readyState).not.toBe(1);
    expect(closeCodes).toEqual([1013]);
    await closed;
    expect(wss.stats().closes).toMatchObject({ 1006: 1 });
    expect(wss.subscriberCount('firehose')).toBe(0);
  });

  it.each([
    ['without compression', {}],
    ['with permessage-deflate and context takeover', { perMessageDeflate: { threshold: 0 } }],
  ])("drops a published message while the connection's own fragmented message is half sent (%s)", async (_name, options) => {
    // Before, with context takeover, the published message became the fragmented message's last part.
    const { wss, url, accepted } = await server(options);
    const [c] = await clients(url, 1, accepted, options);
    const s = accepted[0]!;
    s.subscribe('t');
    const drops: unknown[] = [];
    s.on('dropped', (info) => drops.push(info));
    const got = inbox(c!);
    s.send('part one, ', { fin: false });
    expect(wss.publish('t', 'published')).toBe(0);
    s.send('part two', { fin: true });
    await until(() => got.length === 1);
    expect(got).toEqual(['part one, part two']);
    expect(drops).toEqual([{ topic: 't', user: undefined, reason: 'fragmented-send', bytes: 9 }]);
  });
});

describe('listeners that throw', () => {
  it("a throwing 'dropped' listener does not stop delivery to the other subscribers nor to the other processes", async () => {
    const hub = new InProcessHub();
    const one = await server({ backplane: hub.backplane(), publishBackpressureLimit: 0 });
    const two = await server({ backplane: hub.backplane() });
    const [mine] = await clients(one.url, 1, one.accepted);
    const [theirs] = await clients(two.url, 1, two.accepted);
    one.accepted[0]!.subscribe('t');
    two.accepted[0]!.subscribe('t');
    // Over a zero limit as soon as anything waits: the first publish goes out, the second is dropped.
    one.accepted[0]!.on('dropped', () => {
      throw new Error('listener bug');
    });
    const got = inbox(theirs!);
    void mine;
    expect(one.wss.publish('t', 'first')).toBe(1);
    expect(() => one.wss.publish('t', 'second')).toThrow('listener bug');
    await until(() => got.length === 2);
    expect(got).toEqual(['first', 'second']);
  });
});

describe('servers sharing an in-process hub', () => {
  it('act as one: each publish reaches every subscriber on both exactly once, in order; own envelopes are ignored', async () => {
    const hub = new InProcessHub();
    const one = await server({ backplane: hub.backplane() });
    const two = await server({ backplane: hub.backplane() });
    const onOne = await clients(one.url, 2, one.accepted);
    const onTwo = await clients(two.url, 2, two.accepted);
    for (const s of [...one.accepted, ...two.accepted]) s.subscribe('shared');
    const boxes = [...onOne, ...onTwo].map(inbox);
    for (let i = 0; i < 50; i++) {
      expect(one.wss.publish('shared', `one ${i}`)).toBe(2);
      expect(two.wss.publish('shared', `two ${i}`)).toBe(2);
    }
    await until(() => boxes.every((box) => box.length === 100));
    for (const box of boxes) {
      expect(box.length).toBe(100);
      expect(box.filter((m) => m.startsWith('one '))).toEqual(Array.from({ length: 50 }, (_, i) => `one ${i}`));
      expect(box.filter((m) => m.startsWith('two '))).toEqual(Array.from({ length: 50 }, (_, i) => `two ${i}`));
    }
    expect(one.wss.stats().pubsub).toMatchObject({ published: 50, received: 50, gaps: 0, backplaneUp: true });
  });

  it('subscribes a channel on the bus only while the topic has a local subscriber', async () => {
    const hub = new InProcessHub();
    const one = await server({ backplane: hub.backplane() });
    const two = await server({ backplane: hub.backplane() });
    const [c] = await clients(two.url, 1, two.accepted);
    const got = inbox(c!);
    one.wss.publish('late', 'before anyone listens');
    await new Promise((r) => setTimeout(r, 20));
    two.accepted[0]!.subscribe('late');
    one.wss.publish('late', 'after');
    await until(() => got.length === 1);
    two.accepted[0]!.unsubscribe('late');
    one.wss.publish('late', 'after unsubscribe');
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['after']);
    // The message published before the subscription is not a gap: sequence tracking starts with the first one seen.
    expect(two.wss.stats().pubsub.gaps).toBe(0);
  });
});

