// permessage-deflate benchmarks, rfc6455 and ws side by side with the same parameters: each
// server in its own process (pinned to cpu 0 when taskset exists), driven by the same ws client
// from this process: echo throughput of compressible 16 KiB text (10 connections, 4 in flight),
// and server memory per open compressed connection after each sent one message (so zlib contexts
// exist), with and without context takeover. `npm run bench:deflate` (builds first).
// Env: DURATION (s, default 5), CONNS (memory test, default 1000).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WsClient = createRequire(import.meta.url)('ws');
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const CONNS = Number(process.env.CONNS ?? 1000);
let taskset = false;
try {
  execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  taskset = true;
} catch {}

let nextPort = 9900 + Math.floor(Math.random() * 50);
async function start(script, deflate) {
  const port = nextPort++;
  const args = taskset ? ['-c', '0', process.execPath, script, String(port)] : [script, String(port)];
  const child = spawn(taskset ? 'taskset' : process.execPath, args, { env: { ...process.env, DEFLATE: deflate }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.on('data', (d) => d.toString().includes('listening') && resolve()));
  return { port, child };
}
const stop = (s) => new Promise((r) => { s.child.once('exit', r); s.child.kill('SIGKILL'); });
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const clientOptions = (deflate) => ({ perMessageDeflate: deflate === 'nct' ? { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true } : { threshold: 1024 } });

async function connect(port, deflate) {
  const ws = new WsClient(`ws://127.0.0.1:${port}`, clientOptions(deflate));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  if (!ws.extensions.includes('permessage-deflate')) throw new Error('deflate not negotiated');
  return ws;
}

const message = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `user-${i}`, online: i % 3 === 0, tags: ['a', 'b', 'c'] }))).slice(0, 16384);

async function throughput(port, deflate) {
  const clients = await Promise.all(Array.from({ length: 10 }, () => connect(port, deflate)));
  let count = 0;
  let measuring = false;
  let running = true;
  for (const ws of clients) {
    ws.on('message', () => {
      if (measuring) count++;
      if (running) ws.send(message);
    });
    for (let i = 0; i < 4; i++) ws.send(message);
  }
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, DURATION));
  measuring = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  for (const ws of clients) ws.terminate();
  return count / seconds;
}

async function memory(server, deflate) {
  const before = rss(server.child.pid);
  const clients = [];
  for (let i = 0; i < CONNS; i += 100) clients.push(...(await Promise.all(Array.from({ length: Math.min(100, CONNS - i) }, () => connect(server.port, deflate)))));
  await Promise.all(clients.map((ws) => new Promise((resolve) => { ws.once('message', resolve); ws.send(message); })));
  await new Promise((r) => setTimeout(r, 1500));
  const perConn = (rss(server.child.pid) - before) / CONNS;
  for (const ws of clients) ws.terminate();
  return perConn;
}

console.log(`permessage-deflate, rfc6455 vs ws (same parameters, ws client), ${DURATION / 1000}s windows`);
for (const [label, deflate] of [['context takeover', '1'], ['no context takeover', 'nct']]) {
  for (const [name, unit, run] of [
    [`echo 10 conns x 16 KiB JSON, depth 4 (${label})`, 'msg/s', (s) => throughput(s.port, deflate)],
    [`RSS per open connection, ${CONNS} conns (${label})`, 'bytes', (s) => memory(s, deflate)],
  ]) {
    const results = {};
    for (const [lib, script] of [['rfc6455', join(here, 'echo-server.mjs')], ['ws', join(here, 'ws-echo-server.mjs')]]) {
      const server = await start(script, deflate);
      try {
        results[lib] = await run(server);
      } finally {
        await stop(server);
      }
    }
    const fmt = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));
    console.log(`${name.padEnd(58)} ${unit.padEnd(6)} rfc6455 ${fmt(results.rfc6455).padStart(8)}  ws ${fmt(results.ws).padStart(8)}  ratio ${(results.rfc6455 / results.ws).toFixed(2)}×`);
  }
}
