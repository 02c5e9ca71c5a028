// End-to-end loopback benchmarks, rfc6455 and ws side by side in one run: each server runs in its
// own process (pinned to cpu 0 when `taskset` exists) and this process drives it with a minimal
// raw-TCP WebSocket client (pinned to cpu 1) that sends pre-masked frames, so both servers face the
// same load. Scenarios: echo throughput (100 conns x 32 B at depth 1 and 32; 10 conns x 64 KiB),
// idle memory per connection (RSS delta for N open connections, and after they close), and
// handshakes per second (50 concurrent connect-echo-close loops).
// `npm run bench:e2e` (builds first). Env: DURATION (s, default 5), IDLE_CONNS (default 10000).
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const IDLE_CONNS = Number(process.env.IDLE_CONNS ?? 10_000);
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (hasTaskset) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

const servers = {
  rfc6455: join(here, 'echo-server.mjs'),
  ws: join(here, 'ws-echo-server.mjs'),
};

let nextPort = 9500 + Math.floor(Math.random() * 400);
async function startServer(script) {
  const port = nextPort++;
  const args = hasTaskset ? ['-c', '0', process.execPath, script, String(port)] : [script, String(port)];
  const child = spawn(hasTaskset ? 'taskset' : process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 10_000);
    child.stdout.on('data', (d) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // taskset execs the server in place, so the child's pid is the server's.
  return { port, child, pid: child.pid };
}
const stop = (s) => new Promise((resolve) => {
  s.child.once('exit', resolve);
  s.child.kill('SIGKILL');
});
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

// -- a minimal client -------------------------------------------------------------------------
function maskedFrame(size, opcode = 2) {
  const payload = randomBytes(size);
  const key = randomBytes(4);
  const header = size < 126 ? Buffer.from([0x80 | opcode, 0x80 | size]) : size < 65536 ? Buffer.from([0x80 | opcode, 0xfe, size >> 8, size & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 0xff]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(size)); return b; })()]);
  for (let i = 0; i < size; i++) payload[i] ^= key[i & 3];
  return Buffer.concat([header, key, payload]);
}
const CLOSE = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

function open(port) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('connect', () =>
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const expected = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (!head.subarray(0, end).toString().includes(expected)) return reject(new Error('bad accept'));
      resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

/** Count complete server frames in a stream (unmasked), carrying partial frames across chunks. */
function frameCounter(onFrame) {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      if (buffered.length - offset < 2) break;
      let len = buffered[offset + 1] & 0x7f;
      let hl = 2;
      if (len === 126) { if (buffered.length - offset < 4) break; len = buffered.readUInt16BE(offset + 2); hl = 4; }
      else if (len === 127) { if (buffered.length - offset < 10) break; len = Number(buffered.readBigUInt64BE(offset + 2)); hl = 10; }
      if (buffered.length - offset < hl + len) break;
      onFrame(buffered[offset] & 0x0f);
      offset += hl + len;
    }
    buffered = offset === buffered.length ? Buffer.alloc(0) : buffered.subarray(offset);
  };
}

/** One second of warm-up, then a DURATION window during which `setMeasuring(true)` holds; returns its length in seconds. */
async function measuredWindow(setMeasuring) {
  await new Promise((r) => setTimeout(r, 1000));
  setMeasuring(true);
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, DURATION));
  setMeasuring(false);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function echo(port, conns, size, depth) {
  const frame = maskedFrame(size);
  const sockets = await Promise.all(Array.from({ length: conns }, () => open(port)));
  let measuring = false;
  let count = 0;
  let running = true;
  for (const { socket } of sockets) {
    socket.on('data', frameCounter(() => {
      if (measuring) count++;
      if (running) socket.write(frame);
    }));
    for (let i = 0; i < depth; i++) socket.write(frame);
  }
  const seconds = await measuredWindow((on) => (measuring = on));
  running = false;
  for (const { socket } of sockets) socket.destroy();
  return count / seconds;
}

async function idle(server, conns) {
  const before = rssKb(server.pid);
  const sockets = [];
  for (let i = 0; i < conns; i += 200) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, conns - i) }, () => open(server.port)))));
  }
  await new Promise((r) => setTimeout(r, 2000));
  const open_ = rssKb(server.pid);
  for (const { socket } of sockets) {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.write(CLOSE);
  }
  await Promise.all(sockets.map(({ socket }) => new Promise((r) => (socket.destroyed ? r() : socket.once('close', r)))));
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssKb(server.pid);
  return { perConn: ((open_ - before) * 1024) / conns, afterPerConn: ((after - before) * 1024) / conns };
}

async function churn(port, concurrency) {
  const frame = maskedFrame(32);
  let cycles = 0;
  let measuring = false;
  let running = true;
  const loop = async () => {
    while (running) {
      const { socket, rest } = await open(port);
      await new Promise((resolve) => {
        let gotEcho = false;
        const count = frameCounter((opcode) => {
          if (opcode === 2 && !gotEcho) {
            gotEcho = true;
            socket.write(CLOSE);
          }
        });
        socket.on('data', count);
        socket.on('close', resolve);
        socket.on('error', resolve);
        if (rest.length) count(rest);
        socket.write(frame);
      });
      if (measuring) cycles++;
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  const seconds = await measuredWindow((on) => (measuring = on));
  running = false;
  await Promise.all(loops);
  return cycles / seconds;
}

const scenarios = [
  ['echo 100 conns x 32 B, depth 1', 'msg/s', (s) => echo(s.port, 100, 32, 1)],
  ['echo 100 conns x 32 B, depth 32', 'msg/s', (s) => echo(s.port, 100, 32, 32)],
  ['echo 10 conns x 64 KiB, depth 4', 'msg/s', (s) => echo(s.port, 10, 65536, 4)],
  ['handshakes (50 concurrent cycles)', 'cycles/s', (s) => churn(s.port, 50)],
  [`idle RSS per connection (${IDLE_CONNS})`, 'bytes', async (s) => (await idle(s, IDLE_CONNS)).perConn],
];

console.log(`rfc6455 vs ws, loopback, ${DURATION / 1000}s windows${hasTaskset ? ', server on cpu 0, client on cpu 1' : ''}`);
for (const [name, unit, run] of scenarios) {
  const results = {};
  for (const [label, script] of Object.entries(servers)) {
    const server = await startServer(script);
    try {
      results[label] = await run(server);
    } finally {
      await stop(server);
    }
  }
  const ratio = results.rfc6455 / results.ws;
  const fmt = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));
  console.log(`${name.padEnd(40)} ${unit.padEnd(8)} rfc6455 ${fmt(results.rfc6455).padStart(8)}  ws ${fmt(results.ws).padStart(8)}  ratio ${ratio.toFixed(2)}×${unit === 'bytes' ? ' (lower is better)' : ''}`);
}
