// The Redis backplane against a real redis-server (started by the tests on a loopback port, no
// persistence): several server processes act as one. Every client gets every message exactly
// once and each publisher's messages in order; sendToUser crosses processes; a killed process
// costs the others nothing; a Redis restart is survived without restarting anything, and the
// outage is reported. No mock Redis.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { createRedisBackplane } from '../../src/redis/index.js';
import { RedisInstance, skipRedis } from '../helpers/redis.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'pubsub-process.ts');

/** A server process (see fixtures/pubsub-process.ts), driven over stdin/stdout. */
class ServerProcess {
  private readonly answers: Record<string, unknown>[] = [];
  private waiting: (() => void) | null = null;
  port = 0;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.answers.push(JSON.parse(line) as Record<string, unknown>);
      this.waiting?.();
    });
  }

  static async start(redisUrl: string): Promise<ServerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, redisUrl], { stdio: ['pipe', 'pipe', 'inherit'] });
    const server = new ServerProcess(child);
    const ready = await server.next();
    server.port = ready.port as number;
    return server;
  }

  /** The next answer (10 s at most). */
  async next(): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 10_000;
    while (this.answers.length === 0) {
      if (Date.now() > deadline) throw new Error('no answer from the server process');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.answers.shift()!;
  }

  async command(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    return this.next();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** `n` clients of `port`, each recording the text messages it receives. */
async function clientsOf(port: number, n: number, query: string): Promise<{ sockets: WebSocket[]; inboxes: string[][] }> {
  const sockets = await Promise.all(
    Array.from({ length: n }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/?${query}`);
      await once(ws, 'open');
      return ws;
    }),
  );
  const inboxes = sockets.map((ws) => {
    const box: string[] = [];
    ws.on('message', (data) => box.push(String(data)));
    return box;
  });
  return { sockets, inboxes };
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** Messages of publisher `name` in `box`, in arrival order. */
const from = (box: string[], name: string) => box.filter((m) => m.startsWith(`${name}:`));
const sequence = (name: string, count: number) => Array.from({ length: count }, (_, i) => `${name}:${i}`);

describe.skipIf(skipRedis)('Redis backplane (real redis-server)', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await RedisInstance.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('three processes, 20 clients each: every client gets each of 3 × 2,000 messages exactly once, each publisher in order', async () => {
    const processes = await Promise.all([0, 1, 2].map(() => ServerProcess.start(redis.url)));
    try {
      const groups = await Promise.all(processes.map((p) => clientsOf(p.port, 20, 'topic=room')));
      // Every process has its local subscribers before anyone publishes.
      await new Promise((r) => setTimeout(r, 100));
      const answers = await Promise.all(processes.map((p, i) => p.command({ cmd: 'publish', topic: 'room', count: 2000, name: `p${i}` })));
      expect(answers.map((a) => a.delivered)).toEqual([40_000, 40_000, 40_000]);
      const inboxes = groups.flatMap((g) => g.inboxes);
      await until(() => inboxes.every((box) => box.length >= 6000), 20_000);
      for (const box of inboxes) {
        expect(box.length).toBe(6000);
        for (const name of ['p0', 'p1', 'p2']) expect(from(box, name)).toEqual(sequence(name, 2000));
      }
      const stats = await processes[0]!.command({ cmd: 'stats' });
      expect(stats.stats).toMatchObject({ published: 2000, received: 4000, gaps: 0, notForwarded: 0, backplaneUp: true });
      for (const g of groups) for (const ws of g.sockets) ws.terminate();
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
    }
  }, 60_000);

  it("sendToUser from one process reaches the user's connections on the two others, and no one else", async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => ServerProcess.start(redis.url)));
    try {
      const aliceOnB = await clientsOf(b!.port, 1, 'user=alice');
      const aliceOnC = await clientsOf(c!.port, 1, 'user=alice');
      const bobOnB = await clientsOf(b!.port, 1, 'user=bob');
      const plainOnA = await clientsOf(a!.port, 1, 'topic=room');
      await new Promise((r) => setTimeout(r, 100));
      expect(await a!.command({ cmd: 'sendToUser', id: 'alice', data: 'hi alice' })).toEqual({ sent: 0 });
      await until(() => aliceOnB.inboxes[0]!.length === 1 && aliceOnC.inboxes[0]!.length === 1);
      await new Promise((r) => setTimeout(r, 100));
      expect([aliceOnB, aliceOnC, bobOnB, plainOnA].map((g) => g.inboxes[0])).toEqual([['hi alice'], ['hi alice'], [], []]);
      for (const g of [aliceOnB, aliceOnC, bobOnB, plainOnA]) g.sockets[0]!.terminate();
    } finally {
      await Promise.all([a, b, c].map((p) => p!.stop()));
    }
  }, 30_000);

  it('kill -9 of one process mid-stream: the two others lose nothing among themselves', async () => {
    const processes = await Promise.all([0, 1, 2].map(() => ServerProcess.start(redis.url)));
    try {
      const groups = await Promise.all(processes.map((p) => clientsOf(p.port, 5, 'topic=room')));
      await new Promise((r) => setTimeout(r, 100));
      const survivors = [processes[0]!, processes[1]!];
      const publishing = survivors.map((p, i) => p.command({ cmd: 'publish', topic: 'room', count: 3000, name: `s${i}`, pace: 10 }));
      // The third process publishes too, and is killed while it does.
      processes[2]!.child.stdin!.write(`${JSON.stringify({ cmd: 'publish', topic: 'room', count: 100_000, name: 'doomed', pace: 10 })}\n`);
      await new Promise((r) => setTimeout(r, 50));
      processes[2]!.child.kill('SIGKILL');
      await publishing;
      const inboxes = [...groups[0]!.inboxes, ...groups[1]!.inboxes];
      await until(() => inboxes.every((box) => from(box, 's0').length >= 3000 && from(box, 's1').length >= 3000), 20_000);
      for (const box of inboxes) {
        expect(from(box, 's0')).toEqual(sequence('s0', 3000));
        expect(from(box, 's1')).toEqual(sequence('s1', 3000));
        // What the killed process got out before it died arrived in order, without holes.
        const doomed = from(box, 'doomed');
        expect(doomed).toEqual(sequence('doomed', doomed.length));
      }
      // Its clients saw their connection end.
      await until(() => groups[2]!.sockets.every((ws) => ws.readyState === WebSocket.CLOSED));
      expect(groups[2]!.sockets.every((ws) => ws.readyState === WebSocket.CLOSED)).toBe(true);
      for (const g of groups) for (const ws of g.sockets) ws.terminate();
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
    }
  }, 60_000);

  it('survives a Redis restart mid-stream: reports the outage, re-subscribes, and cross-process delivery resumes', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => ServerProcess.start(redis.url)));
    try {
      const onB = await clientsOf(b!.port, 3, 'topic=room');
      await new Promise((r) => setTimeout(r, 100));
      await a!.command({ cmd: 'publish', topic: 'room', count: 100, name: 'before' });
      await until(() => onB.inboxes.every((box) => box.length === 100));
      // A client that leaves during the outage, and one that joins a new (non-ASCII) topic then.
      const leaver = await clientsOf(b!.port, 1, 'topic=gone');
      await new Promise((r) => setTimeout(r, 100));
      await redis.stopProcess();
      // Published while Redis is down: delivered locally only (at-most-once across processes).
      await new Promise((r) => setTimeout(r, 300));
      await a!.command({ cmd: 'publish', topic: 'room', count: 50, name: 'during' });
      leaver.sockets[0]!.close();
      const joiner = await clientsOf(b!.port, 1, `topic=${encodeURIComponent('café ☕')}`);
      await new Promise((r) => setTimeout(r, 100));
      await redis.startProcess();
      // Both processes come back up by themselves and re-subscribe.
      const deadline = Date.now() + 10_000;
      let statsA: Record<string, unknown> = {};
      let statsB: Record<string, unknown> = {};
      while (Date.now() < deadline) {
        statsA = await a!.command({ cmd: 'stats' });
        statsB = await b!.command({ cmd: 'stats' });
        if ((statsA.stats as { backplaneUp: boolean }).backplaneUp && (statsB.stats as { backplaneUp: boolean }).backplaneUp) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // 'up' when first connected, then the outage.
      expect(statsA.events).toEqual(['up', 'down', 'up']);
      expect(statsB.events).toEqual(['up', 'down', 'up']);
      expect((statsA.stats as { notForwarded: number }).notForwarded).toBe(50);
      // The subscriber connection needs a moment after 'ready' to re-subscribe.
      await new Promise((r) => setTimeout(r, 200));
      await a!.command({ cmd: 'publish', topic: 'room', count: 100, name: 'after' });
      await until(() => onB.inboxes.every((box) => from(box, 'after').length === 100));
      for (const box of onB.inboxes) {
        expect(from(box, 'before')).toEqual(sequence('before', 100));
        expect(from(box, 'during')).toEqual([]);
        expect(from(box, 'after')).toEqual(sequence('after', 100));
      }
      // The receiver counted the 50 messages that never crossed.
      const final = await b!.command({ cmd: 'stats' });
      expect((final.stats as { gaps: number }).gaps).toBe(50);
      // The topic joined during the outage was subscribed when Redis came back, the one left was not.
      await a!.command({ cmd: 'publish', topic: 'café ☕', count: 3, name: 'joined' });
      await until(() => joiner.inboxes[0]!.length === 3);
      expect(joiner.inboxes[0]).toEqual(sequence('joined', 3));
      const inspector = createClient({ url: redis.url });
      await inspector.connect();
      const numsub = (await inspector.sendCommand(['PUBSUB', 'NUMSUB', 'rfc6455:topic:gone', 'rfc6455:topic:café ☕'])) as unknown[];
      await inspector.close();
      expect(numsub.map(String)).toEqual(['rfc6455:topic:gone', '0', 'rfc6455:topic:café ☕', '1']);
      joiner.sockets[0]!.terminate();
      for (const ws of onB.sockets) ws.terminate();
    } finally {
      await Promise.all([a, b].map((p) => p!.stop()));
    }
  }, 60_000);

  it('subscribes a Redis channel only while a local subscriber holds the topic, and works with sharded pub/sub', async () => {
    const inspector = createClient({ url: redis.url });
    await inspector.connect();
    try {
      for (const sharded of [false, true]) {
        const prefix = `test${sharded ? 's' : ''}:`;
        const one = new WebSocketServer({ port: 0, host: '127.0.0.1', backplane: createRedisBackplane({ url: redis.url }, { channelPrefix: prefix, sharded }) });
        const two = new WebSocketServer({ port: 0, host: '127.0.0.1', backplane: createRedisBackplane({ url: redis.url }, { channelPrefix: prefix, sharded }) });
        await Promise.all([once(one, 'listening'), once(two, 'listening')]);
        const accepted: import('../../src/index.js').WebSocket[] = [];
        two.on('connection', (ws) => accepted.push(ws));
        const client = new WebSocket(`ws://127.0.0.1:${(two.address() as { port: number }).port}`);
        await once(client, 'open');
        await until(() => accepted.length === 1);
        const got: string[] = [];
        client.on('message', (d) => got.push(String(d)));
        const channel = `${prefix}topic:news`;
        const subscribers = async () =>
          sharded ? Number(((await inspector.sendCommand(['PUBSUB', 'SHARDNUMSUB', channel])) as unknown[])[1]) : Number(((await inspector.sendCommand(['PUBSUB', 'NUMSUB', channel])) as unknown[])[1]);
        await until(() => one.stats().pubsub.backplaneUp === true && two.stats().pubsub.backplaneUp === true);
        expect(await subscribers()).toBe(0);
        accepted[0]!.subscribe('news');
        const deadline = Date.now() + 3000;
        while ((await subscribers()) !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(await subscribers()).toBe(1);
        one.publish('news', `via ${sharded ? 'SPUBLISH' : 'PUBLISH'}`);
        await until(() => got.length === 1);
        expect(got).toEqual([`via ${sharded ? 'SPUBLISH' : 'PUBLISH'}`]);
        accepted[0]!.unsubscribe('news');
        while ((await subscribers()) !== 0 && Date.now() < deadline + 3000) await new Promise((r) => setTimeout(r, 10));
        expect(await subscribers()).toBe(0);
        client.terminate();
        await Promise.all([one.close(), two.close()]);
      }
    } finally {
      await inspector.close();
    }
  }, 30_000);

  it('takes your own clients, connects them if needed, and leaves them open on close', async () => {
    const client = createClient({ url: redis.url });
    const subscriber = createClient({ url: redis.url });
    await client.connect();
    const one = new WebSocketServer({ port: 0, host: '127.0.0.1', backplane: createRedisBackplane({ client, subscriber } as never, { channelPrefix: 'own:' }) });
    const two = new WebSocketServer({ port: 0, host: '127.0.0.1', backplane: createRedisBackplane({ url: redis.url }, { channelPrefix: 'own:' }) });
    await Promise.all([once(one, 'listening'), once(two, 'listening')]);
    const accepted: import('../../src/index.js').WebSocket[] = [];
    one.on('connection', (ws) => accepted.push(ws));
    const ws = new WebSocket(`ws://127.0.0.1:${(one.address() as { port: number }).port}`);
    await once(ws, 'open');
    await until(() => accepted.length === 1 && one.stats().pubsub.backplaneUp === true);
    accepted[0]!.subscribe('t');
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d)));
    await new Promise((r) => setTimeout(r, 100));
    two.publish('t', 'through your clients');
    await until(() => got.length === 1);
    expect(got).toEqual(['through your clients']);
    ws.terminate();
    await Promise.all([one.close(), two.close()]);
    expect(client.isReady && subscriber.isReady).toBe(true);
    await Promise.all([client.close(), subscriber.close()]);
    expect(() => createRedisBackplane({ client, subscriber: client } as never)).toThrow(/two distinct clients/);
  }, 20_000);
});
