// The subscribers of `npm run bench:pubsub`, in their own process: `node pubsub-clients.mjs <port> <n> <deflate 0|1>`.
// Opens n raw WebSocket connections (offering permessage-deflate with server_no_context_takeover
// when asked), counts the frames they receive and, for paced runs, the latency from the publish
// time carried in the first 14 bytes (uncompressed runs only). Commands on stdin, answers on stdout:
//   {"cmd":"reset"}  zero the counters
//   {"cmd":"count"}  {"frames":N,"latency":{"p50":ms,"p99":ms}|null}
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [portText, nText, deflateText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(nText);
const deflate = deflateText === '1';
const say = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);

let frames = 0;
let latencies = [];

function open() {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect({ host: '127.0.0.1', port });
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n' : '') +
          '\r\n',
      ),
    );
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (!head.subarray(0, end).toString().includes(expected)) return reject(new Error('bad accept'));
      const counter = frameCounter();
      socket.on('data', counter);
      if (head.length > end + 4) counter(head.subarray(end + 4));
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

function frameCounter() {
  let buffered = null;
  return (chunk) => {
    const b = buffered === null ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    const now = Date.now();
    for (;;) {
      if (b.length - offset < 2) break;
      let len = b[offset + 1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (b.length - offset < 4) break;
        len = b.readUInt16BE(offset + 2);
        hl = 4;
      } else if (len === 127) {
        if (b.length - offset < 10) break;
        len = Number(b.readBigUInt64BE(offset + 2));
        hl = 10;
      }
      if (b.length - offset < hl + len) break;
      frames++;
      // Sample latency from uncompressed frames (RSV1 clear), one in 16.
      if ((b[offset] & 0x40) === 0 && (frames & 15) === 0 && len >= 14) latencies.push(now - Number(b.toString('latin1', offset + hl, offset + hl + 14)));
      offset += hl + len;
    }
    buffered = offset === b.length ? null : b.subarray(offset);
  };
}

const sockets = [];
for (let i = 0; i < n; i += 500) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(500, n - i) }, open))));
}
say({ connected: sockets.length });

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line);
  if (c.cmd === 'reset') {
    frames = 0;
    latencies = [];
    say({ ok: true });
  } else if (c.cmd === 'count') {
    const sorted = latencies.sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    say({ frames, latency: sorted.length === 0 ? null : { p50: at(0.5), p99: at(0.99), samples: sorted.length } });
  }
});
