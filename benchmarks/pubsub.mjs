// `npm run bench:pubsub` (builds first): publish/subscribe fan-out, rfc6455 and ws side by side in
// one run. The server runs in its own process pinned to cpu 0 (when `taskset` exists), the
// subscribers in another pinned to cpu 1 (raw sockets that only count frames).
//   1. One publisher -> SUBSCRIBERS (default 10,000) connections: messages delivered per second,
//      32 B and 1 KiB, plain and with permessage-deflate (subscribers offer
//      server_no_context_takeover). rfc6455: `wss.publish`; ws: `wss.clients.forEach(c => c.send(m))`
//      with the same rule for slow subscribers (skip one over 1 MiB buffered).
//   2. Memory per subscription: the server's RSS and heap with every connection subscribed to 10
//      more topics, against none.
//   3. Two processes through Redis (a redis-server of its own on a free port, or REDIS_URL):
//      1,000 subscribers on the second process; latency p50/p99 at 100 msg/s (100,000 deliveries/s,
//      within both servers' reach) and delivered msg/s at full speed. ws: a hand-written node-redis
//      fan-out.
// BATCHES: publishes per event-loop turn, each value a run: 1 (every publish its own turn: both
// servers then make one write syscall per subscriber per message) and 10 (a burst, as under load:
// rfc6455 writes the ten frames to each subscriber in one syscall, ws makes ten).
// Env: DURATION (s per run, default 5), SUBSCRIBERS (10000), BATCHES (default "1,10"), SIZES
// ("32,1024"), DEFLATE ("off,on"), PARTS ("fanout,memory,redis").
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hasTaskset } from './loopback-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5);
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 10_000);
const BATCHES = (process.env.BATCHES ?? '1,10').split(',').map(Number);
const SIZES = (process.env.SIZES ?? '32,1024').split(',').map(Number);
const DEFLATE = (process.env.DEFLATE ?? 'off,on').split(',').map((v) => v === 'on');
const PARTS = (process.env.PARTS ?? 'fanout,memory,redis').split(',');

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** A child process spoken to with JSON lines. */
function child(script, args, cpu) {
  const argv = ['--expose-gc', script, ...args.map(String)];
  const proc = hasTaskset ? spawn('taskset', ['-c', String(cpu), process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let wake = null;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(JSON.parse(line));
    wake?.();
  });
  const next = async (ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`${script}: no answer`);
      await new Promise((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return lines.shift();
  };
  return {
    next,
    ask: (command) => {
      proc.stdin.write(`${JSON.stringify(command)}\n`);
      return next();
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', resolve);
        proc.kill('SIGKILL');
      }),
  };
}

const serverScript = join(here, 'pubsub-server.mjs');
const clientScript = join(here, 'pubsub-clients.mjs');

async function fanOut(impl, size, deflate, batch) {
  const port = await freePort();
  const server = child(serverScript, [impl, port, deflate ? 1 : 0], 0);
  await server.next();
  const clients = child(clientScript, [port, SUBSCRIBERS, deflate ? 1 : 0], 1);
  const { connected } = await clients.next();
  // Warm-up, then the measured window.
  await server.ask({ cmd: 'run', size, batch, seconds: 1 });
  await new Promise((r) => setTimeout(r, 500));
  await clients.ask({ cmd: 'reset' });
  const started = process.hrtime.bigint();
  const { published, cpu } = await server.ask({ cmd: 'run', size, batch, seconds: DURATION });
  // Let what was written arrive.
  await new Promise((r) => setTimeout(r, 500));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { frames } = await clients.ask({ cmd: 'count' });
  await Promise.all([clients.stop(), server.stop()]);
  return { connected, published, cpu, delivered: frames / seconds, share: frames / (published * connected) };
}

async function subscriptionMemory() {
  const port = await freePort();
  const server = child(serverScript, ['rfc6455', port, 0], 0);
  await server.next();
  const clients = child(clientScript, [port, SUBSCRIBERS, 0], 1);
  await clients.next();
  await new Promise((r) => setTimeout(r, 500));
  const before = await server.ask({ cmd: 'mem' });
  const { subscribed } = await server.ask({ cmd: 'topics', k: 10 });
  const after = await server.ask({ cmd: 'mem' });
  await Promise.all([clients.stop(), server.stop()]);
  return { subscribed, rss: (after.rss - before.rss) / subscribed, heap: (after.heapUsed - before.heapUsed) / subscribed };
}

async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined };
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (binary === undefined) return null;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const proc = hasTaskset ? spawn('taskset', ['-c', '1', binary, ...args], { stdio: 'ignore' }) : spawn(binary, args, { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function throughRedis(impl, url) {
  const [portA, portB] = [await freePort(), await freePort()];
  const a = child(serverScript, [impl, portA, 0, url], 0);
  const b = child(serverScript, [impl, portB, 0, url], 0);
  await Promise.all([a.next(), b.next()]);
  const clients = child(clientScript, [portB, 1000, 0], 1);
  await clients.next();
  await new Promise((r) => setTimeout(r, 500));
  await a.ask({ cmd: 'run', size: 64, rate: 100, seconds: 1 });
  await clients.ask({ cmd: 'reset' });
  await a.ask({ cmd: 'run', size: 64, rate: 100, seconds: DURATION });
  await new Promise((r) => setTimeout(r, 300));
  const paced = await clients.ask({ cmd: 'count' });
  await clients.ask({ cmd: 'reset' });
  const started = process.hrtime.bigint();
  await a.ask({ cmd: 'run', size: 64, batch: 1, seconds: DURATION });
  await new Promise((r) => setTimeout(r, 500));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const full = await clients.ask({ cmd: 'count' });
  await Promise.all([clients.stop(), a.stop(), b.stop()]);
  return { latency: paced.latency, delivered: full.frames / seconds };
}

const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));
console.log(`pub/sub fan-out, ${SUBSCRIBERS} subscribers, ${DURATION} s per run, server on cpu 0, subscribers on cpu 1${hasTaskset ? '' : ' (no taskset: not pinned)'}`);
console.log('| message | deflate | publishes per turn | rfc6455 delivered/s | ws delivered/s | ratio | share delivered (rfc6455 / ws) | server CPU (rfc6455 / ws) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const deflate of PARTS.includes('fanout') ? DEFLATE : []) {
  for (const size of SIZES) {
    for (const batch of BATCHES) {
      const ours = await fanOut('rfc6455', size, deflate, batch);
      const theirs = await fanOut('ws', size, deflate, batch);
      console.log(`| ${size} B | ${deflate ? 'on' : 'off'} | ${batch} | ${fmt(ours.delivered)} | ${fmt(theirs.delivered)} | ${(ours.delivered / theirs.delivered).toFixed(2)}× | ${(ours.share * 100).toFixed(1)}% / ${(theirs.share * 100).toFixed(1)}% | ${Math.round(ours.cpu * 100)}% / ${Math.round(theirs.cpu * 100)}% |`);
    }
  }
}
const memory = PARTS.includes('memory') ? await subscriptionMemory() : null;
if (memory !== null) console.log(`\nmemory per subscription (${memory.subscribed} subscriptions: every connection to 10 more topics): RSS ${fmt(memory.rss)} B, heap ${fmt(memory.heap)} B`);
const redis = PARTS.includes('redis') ? await startRedis() : undefined;
if (redis === undefined) {
  // not asked for
} else if (redis === null) {
  console.log('\nthrough Redis: skipped (no redis-server; apt-get install redis-server, or set REDIS_URL)');
} else {
  console.log('\nthrough Redis, publisher process -> Redis -> 1,000 subscribers on a second process (64 B messages)');
  console.log('| | latency p50 at 100 msg/s | p99 | delivered/s at full speed |');
  console.log('|---|---|---|---|');
  for (const impl of ['rfc6455', 'ws']) {
    const r = await throughRedis(impl, redis.url);
    console.log(`| ${impl === 'ws' ? 'ws + node-redis by hand' : 'rfc6455 Redis backplane'} | ${r.latency?.p50 ?? '-'} ms | ${r.latency?.p99 ?? '-'} ms | ${fmt(r.delivered)} |`);
  }
  await redis.stop();
}
