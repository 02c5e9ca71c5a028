// Chat rooms across processes: node:cluster workers share one port, each runs a WebSocketServer
// with the Redis backplane, and every room is a topic, so a message sent to any worker reaches
// the room's members on every worker.
//
//   npm run build && node examples/cluster-chat.mjs
//
// Needs a Redis at REDIS_URL (default redis://127.0.0.1:6379); for a throwaway one:
//   apt-get install redis-server && redis-server --port 6379 --save ''
// PORT (default 8090) and WORKERS (default: the cores, at most 4) can be set. Open
// http://localhost:8090/ in two browsers; each page says which worker holds it.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { createClient } from 'redis';
import { WebSocketServer } from '../dist/index.js';
import { createRedisBackplane } from '../dist/redis.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.PORT ?? 8090);
const workers = Number(process.env.WORKERS ?? Math.min(4, availableParallelism()));

if (cluster.isPrimary) {
  // Fail early, with instructions, when there is no Redis to talk to.
  const probe = createClient({ url: redisUrl, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.close();
  } catch {
    console.error(`No Redis at ${redisUrl}. Start one, for example:\n  apt-get install redis-server && redis-server --port 6379 --save ''\nor set REDIS_URL.`);
    process.exit(1);
  }
  for (let i = 0; i < workers; i++) cluster.fork();
  let ready = 0;
  cluster.on('message', (_worker, message) => {
    if (message === 'listening' && ++ready === workers) console.log(`cluster chat running at http://localhost:${port}/ with ${workers} workers`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`worker ${worker.id} exited (${signal ?? code})`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  const worker = cluster.worker.id;
  const page = `<!doctype html><meta charset="utf-8"><title>cluster chat</title>
<p>Room: <input id="room" value="lobby"> Name: <input id="name" value="guest"> <button id="join">join</button> <span id="status"></span></p>
<form id="form"><input id="text" size="50" autocomplete="off"> <button>send</button></form><pre id="log"></pre>
<script>
let ws;
const log = (t) => (document.getElementById('log').textContent += t + '\\n');
document.getElementById('join').onclick = () => {
  ws?.close();
  ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat?room=' + encodeURIComponent(document.getElementById('room').value));
  ws.onmessage = (e) => { const m = JSON.parse(e.data); log(m.type === 'welcome' ? 'you are on worker ' + m.worker : m.name + ' (worker ' + m.worker + '): ' + m.text); };
  ws.onclose = (e) => log('closed ' + e.code);
};
document.getElementById('form').onsubmit = (e) => { e.preventDefault(); ws?.send(JSON.stringify({ name: document.getElementById('name').value, text: document.getElementById('text').value })); document.getElementById('text').value = ''; };
document.getElementById('join').click();
</script>`;
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const wss = new WebSocketServer({
    server,
    path: '/chat',
    maxPayload: 16 * 1024,
    heartbeatInterval: 30_000,
    backplane: createRedisBackplane({ url: redisUrl }, { channelPrefix: 'cluster-chat:' }),
  });
  wss.on('backplane-down', (cause) => console.error(`worker ${worker}: Redis unreachable (${cause?.message ?? 'connection lost'}); rooms are local to this worker until it is back`));
  wss.on('connection', (ws, req) => {
    const room = new URL(req.url ?? '/', 'http://localhost').searchParams.get('room') || 'lobby';
    ws.subscribe(`room:${room.slice(0, 64)}`);
    ws.send(JSON.stringify({ type: 'welcome', worker }));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text only');
      let parsed;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return ws.close(1007, 'JSON expected');
      }
      const message = { type: 'message', worker, name: String(parsed.name ?? 'guest').slice(0, 32), text: String(parsed.text ?? '').slice(0, 2000) };
      // To every member of the room, on this worker and on the others.
      wss.publish(`room:${room.slice(0, 64)}`, JSON.stringify(message));
    });
  });
  server.listen(port, () => process.send?.('listening'));
  process.on('SIGTERM', async () => {
    await wss.close();
    server.close(() => process.exit(0));
  });
}
