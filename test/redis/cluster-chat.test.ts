// examples/cluster-chat.mjs, run as a user would (node:cluster workers on one port, rooms over a
// real redis-server): a message sent to one worker reaches the room's members on the other, and
// without Redis the example says how to start one.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from '../../src/index.js';
import { freePort, RedisInstance, skipRedis } from '../helpers/redis.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'cluster-chat.mjs');

function run(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [EXAMPLE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

describe.skipIf(skipRedis)('examples/cluster-chat.mjs', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await RedisInstance.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('rooms span the workers: a message sent to one worker reaches the members held by the other', async () => {
    const port = await freePort();
    const example = run({ REDIS_URL: redis.url, PORT: String(port), WORKERS: '2' });
    try {
      const deadline = Date.now() + 15_000;
      while (!example.output().includes('cluster chat running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(example.output()).toContain('with 2 workers');
      // Open connections until members sit on both workers (the kernel spreads them).
      const members = new Map<number, { ws: WebSocket; got: string[] }>();
      for (let i = 0; i < 40 && members.size < 2; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?room=test`);
        const got: string[] = [];
        ws.on('message', (d) => got.push(String(d)));
        await once(ws, 'open');
        while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
        const worker = (JSON.parse(got[0]!) as { worker: number }).worker;
        if (members.has(worker)) ws.terminate();
        else members.set(worker, { ws, got });
      }
      expect(members.size).toBe(2);
      const [first, second] = [...members.values()];
      // The subscriptions reach Redis before the first publish.
      await new Promise((r) => setTimeout(r, 200));
      first!.ws.send(JSON.stringify({ name: 'ann', text: 'hello from the other worker' }));
      const until = Date.now() + 5000;
      while (second!.got.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      const received = JSON.parse(second!.got[1]!) as { name: string; text: string; worker: number };
      expect(received).toMatchObject({ type: 'message', name: 'ann', text: 'hello from the other worker' });
      expect(received.worker).not.toBe((JSON.parse(second!.got[0]!) as { worker: number }).worker);
      for (const m of members.values()) m.ws.terminate();
    } finally {
      example.child.kill('SIGTERM');
      await once(example.child, 'exit');
    }
  }, 30_000);

  it('without Redis it exits with instructions', async () => {
    const example = run({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()) });
    const [code] = (await once(example.child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(example.output()).toContain("redis-server --port 6379 --save ''");
  }, 15_000);
});
