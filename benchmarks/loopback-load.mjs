// Loopback load for the benchmarks (no dependencies beyond Node): start a server script in its
// own process (pinned to cpu 0 when `taskset` exists), and drive it with a minimal raw-TCP
// WebSocket client that sends pre-masked frames, so every server faces the same load. Used by
// e2e.mjs and limits-cost.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pin this (the load) process to cpu 1. */
export function pinLoad() {
  if (hasTaskset) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
}

let nextPort = 9500 + Math.floor(Math.random() * 400);
/**
 * Start `node [nodeArgs] script <port>` (pinned to cpu 0), resolved once it prints `listening`.
 * Lines it prints later reach the waiters of {@link serverLine}.
 */
export async function startServer(script, env = {}, nodeArgs = []) {
  const port = nextPort++;
  const node = [...nodeArgs, script, String(port)];
  const args = hasTaskset ? ['-c', '0', process.execPath, ...node] : node;
  const child = spawn(hasTaskset ? 'taskset' : process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const server = { port, child, pid: child.pid, lineWaiters: [] };
  let pending = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 10_000);
    child.stdout.on('data', (d) => {
      pending += d.toString();
      let end;
      while ((end = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (line.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
        for (const waiter of server.lineWaiters.splice(0)) waiter(line);
      }
    });
  });
  // taskset execs the server in place, so the child's pid is the server's.
  return server;
}

/** The server's next line of output. */
export const serverLine = (server) => new Promise((resolve) => server.lineWaiters.push(resolve));

/**
 * The server's memory after two full collections: it must run with --expose-gc and answer
 * SIGUSR2 with `memory <rss> <heapUsed>` (both echo servers do).
 */
export async function memory(server) {
  const line = serverLine(server);
  process.kill(server.pid, 'SIGUSR2');
  const [, rss, heapUsed] = (await line).split(' ').map(Number);
  return { rss, heapUsed };
}

export const stop = (s) => new Promise((resolve) => {
  s.child.once('exit', resolve);
  s.child.kill('SIGKILL');
});
export const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

export function maskedFrame(size, opcode = 2) {
  const payload = randomBytes(size);
  const key = randomBytes(4);
  const header = size < 126 ? Buffer.from([0x80 | opcode, 0x80 | size]) : size < 65536 ? Buffer.from([0x80 | opcode, 0xfe, size >> 8, size & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 0xff]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(size)); return b; })()]);
  for (let i = 0; i < size; i++) payload[i] ^= key[i & 3];
  return Buffer.concat([header, key, payload]);
}
export const CLOSE = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

export function open(port) {
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
export function frameCounter(onFrame) {
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

/** One second of warm-up, then a `duration` (ms) window during which `setMeasuring(true)` holds; returns its length in seconds. */
export async function measuredWindow(setMeasuring, duration) {
  await new Promise((r) => setTimeout(r, 1000));
  setMeasuring(true);
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, duration));
  setMeasuring(false);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export async function echo(port, conns, size, depth, duration) {
  const frame = maskedFrame(size);
  // Connect in groups of 32: a server with default limits admits 64 pending handshakes per address.
  const sockets = [];
  for (let i = 0; i < conns; i += 32) sockets.push(...(await Promise.all(Array.from({ length: Math.min(32, conns - i) }, () => open(port)))));
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
  const seconds = await measuredWindow((on) => (measuring = on), duration);
  running = false;
  for (const { socket } of sockets) socket.destroy();
  return count / seconds;
}

export async function idle(server, conns) {
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

/**
 * Memory per added idle connection: open `from` connections, sample (after GC), open more up to
 * `to`, sample again; the slope leaves out the fixed startup and young-generation memory that
 * makes "RSS / N" misleading. Returns bytes per connection, RSS and heap.
 */
export async function idleSlope(server, from, to) {
  const sockets = [];
  const openUpTo = async (n) => {
    while (sockets.length < n) {
      const batch = Math.min(200, n - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => open(server.port)))));
    }
    await new Promise((r) => setTimeout(r, 1000));
  };
  await openUpTo(from);
  const first = await memory(server);
  await openUpTo(to);
  const second = await memory(server);
  for (const { socket } of sockets) {
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.write(CLOSE);
  }
  await Promise.all(sockets.map(({ socket }) => new Promise((r) => (socket.destroyed ? r() : socket.once('close', r)))));
  return { rss: (second.rss - first.rss) / (to - from), heap: (second.heapUsed - first.heapUsed) / (to - from) };
}

export async function churn(port, concurrency, duration) {
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
  const seconds = await measuredWindow((on) => (measuring = on), duration);
  running = false;
  await Promise.all(loops);
  return cycles / seconds;
}

