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
/** Start `script <port>` (pinned to cpu 0), resolved once it prints `listening`. */
export async function startServer(script, env = {}) {
  const port = nextPort++;
  const args = hasTaskset ? ['-c', '0', process.execPath, script, String(port)] : [script, String(port)];
  const child = spawn(hasTaskset ? 'taskset' : process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
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

