// `npm run soak`: many connections held for a long time with heartbeats on and a broadcast to
// all of them every second, checking that no message is lost, no connection is dropped, memory
// stays flat after warm-up, and falls back near its baseline once all close. Not part of npm test.
//
// The server (soak-server.mjs, pinned to cpu 0, every limit at its default) runs rfc6455; the
// clients are ws (the independent peer), in CLIENT_PROCS processes pinned to cpu 1, opened from
// distinct loopback addresses (127.0.0.2, ...) so the default 1,000 connections per address hold.
// Env: CONNS (19000: this machine allows 20,000 fds per process), DURATION (s, 600), WARMUP (s,
// 60: samples before it are not in the slope), SAMPLE_EVERY (s, 10), HEARTBEAT (ms, 15000),
// CLIENT_PROCS (2). Exits 1 when a message was lost or a connection dropped.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasTaskset } from './loopback-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CONNS = Number(process.env.CONNS ?? 19_000);
const DURATION = Number(process.env.DURATION ?? 600);
const WARMUP = Number(process.env.WARMUP ?? 60);
const SAMPLE_EVERY = Number(process.env.SAMPLE_EVERY ?? 10);
const HEARTBEAT = Number(process.env.HEARTBEAT ?? 15_000);
const CLIENT_PROCS = Number(process.env.CLIENT_PROCS ?? 2);
/** Connections per client address (the server's default limit is 1,000). */
const PER_ADDRESS = 950;

/** Start a Node script with an IPC channel, pinned to `cpu` when taskset exists. */
function start(script, cpu, env, nodeArgs = []) {
  const node = [...nodeArgs, join(here, script)];
  const child = hasTaskset
    ? spawn('taskset', ['-c', String(cpu), process.execPath, ...node], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } })
    : spawn(process.execPath, node, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  const waiting = new Map();
  child.on('message', (message) => {
    const resolve = waiting.get(message.type);
    waiting.delete(message.type);
    resolve?.(message);
  });
  /** Send `type` and resolve with the answer of type `answer`. */
  const ask = (type, answer, extra = {}) =>
    new Promise((resolve) => {
      waiting.set(answer, resolve);
      if (type !== null) child.send({ type, ...extra });
    });
  return { child, ask };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const deadline = setTimeout(() => {
  console.error('soak: overall deadline passed');
  process.exit(2);
}, (DURATION + 600) * 1000);
deadline.unref();

const server = start('soak-server.mjs', 0, { HEARTBEAT: String(HEARTBEAT) }, ['--expose-gc']);
const { port } = await server.ask(null, 'listening');
const baseline = await server.ask('sample', 'sample');
console.log(`soak: ${CONNS} connections, ${DURATION} s, heartbeat ${HEARTBEAT} ms, broadcast every second${hasTaskset ? ', server on cpu 0, clients on cpu 1' : ''}`);
console.log(`baseline: RSS ${mb(baseline.rss)}, heap ${mb(baseline.heapUsed)}`);

// CONNS spread evenly over as few addresses as hold them (at most PER_ADDRESS each).
const addressCount = Math.ceil(CONNS / PER_ADDRESS);
const addresses = Array.from({ length: addressCount }, (_, i) => ({
  address: `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`,
  count: Math.floor(CONNS / addressCount) + (i < CONNS % addressCount ? 1 : 0),
}));
const clients = [];
for (let p = 0; p < CLIENT_PROCS; p++) {
  const mine = addresses.filter((_, i) => i % CLIENT_PROCS === p);
  if (mine.length === 0) continue;
  clients.push(start('soak-clients.mjs', 1, { URL: `ws://127.0.0.1:${port}/`, ADDRESSES: mine.map((a) => `${a.address}=${a.count}`).join(',') }));
}
const connected = await Promise.all(clients.map((c) => c.ask('connect', 'connected')));
const opened = connected.reduce((s, c) => s + c.open, 0);
const loaded = await server.ask('sample', 'sample');
console.log(`connected: ${opened} in ${Math.max(...connected.map((c) => c.ms))} ms; RSS ${mb(loaded.rss)}, heap ${mb(loaded.heapUsed)} (${((loaded.rss - baseline.rss) / opened).toFixed(0)} B RSS, ${((loaded.heapUsed - baseline.heapUsed) / opened).toFixed(0)} B heap per connection)`);

await server.ask('start', 'started');
const startedAt = Date.now();
const samples = [];
while (Date.now() - startedAt < DURATION * 1000) {
  await sleep(Math.min(SAMPLE_EVERY * 1000, DURATION * 1000 - (Date.now() - startedAt)));
  const s = await server.ask('sample', 'sample');
  const progress = await Promise.all(clients.map((c) => c.ask('progress', 'progress')));
  const t = (Date.now() - startedAt) / 1000;
  samples.push({ t, ...s });
  const received = progress.reduce((sum, p) => sum + p.received, 0);
  const bad = progress.reduce((sum, p) => sum + p.gaps + p.repeats + p.unexpectedCloses, 0);
  console.log(`t=${t.toFixed(0).padStart(4)} s  open ${s.open}  RSS ${mb(s.rss)}  heap ${mb(s.heapUsed)}  delivered ${received}  problems ${bad}`);
}
const { published } = await server.ask('stop', 'stopped');
await sleep(2000);
const closed = await Promise.all(clients.map((c) => c.ask('close', 'closed', { published })));
await sleep(3000);
const after = await server.ask('sample', 'sample');
const report = await server.ask('report', 'report');
for (const c of clients) c.child.kill();
server.child.send({ type: 'exit' });

const steady = samples.filter((s) => s.t >= WARMUP);
const rssSlope = slope(steady.map((s) => ({ x: s.t / 60, y: s.rss / 1024 })));
const heapSlope = slope(steady.map((s) => ({ x: s.t / 60, y: s.heapUsed / 1024 })));
const sum = (key) => closed.reduce((s, c) => s + c[key], 0);
const expected = opened * published;
const result = {
  connections: opened,
  published,
  delivered: sum('received'),
  expected,
  gaps: sum('gaps'),
  repeats: sum('repeats'),
  missingAtEnd: sum('missingAtEnd'),
  unexpectedCloses: sum('unexpectedCloses'),
  serverCloses: report.closes,
  rssSlopeKbPerMin: Number(rssSlope.toFixed(1)),
  heapSlopeKbPerMin: Number(heapSlope.toFixed(1)),
  rss: { baseline: baseline.rss, loaded: loaded.rss, afterClose: after.rss },
  heap: { baseline: baseline.heapUsed, loaded: loaded.heapUsed, afterClose: after.heapUsed },
};
console.log(`published ${published} broadcasts; delivered ${result.delivered} of ${expected}; gaps ${result.gaps}, repeats ${result.repeats}, missing at end ${result.missingAtEnd}, unexpected closes ${result.unexpectedCloses}`);
console.log(`after warm-up (${steady.length} samples): RSS slope ${result.rssSlopeKbPerMin} KiB/min, heap slope ${result.heapSlopeKbPerMin} KiB/min`);
console.log(`after all closed: RSS ${mb(after.rss)} (baseline ${mb(baseline.rss)}), heap ${mb(after.heapUsed)} (baseline ${mb(baseline.heapUsed)}), open ${after.open}`);
console.log(JSON.stringify(result));
const ok = opened === CONNS && result.delivered === expected && result.gaps === 0 && result.repeats === 0 && result.unexpectedCloses === 0 && after.open === 0;
console.log(ok ? 'soak: passed' : 'soak: FAILED');
process.exit(ok ? 0 : 1);
