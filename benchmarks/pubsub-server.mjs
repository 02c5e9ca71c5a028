// One server of `npm run bench:pubsub`: `node --expose-gc pubsub-server.mjs <impl> <port> <deflate 0|1> [redisUrl]`.
// impl `rfc6455`: every connection subscribes to 'bench' and a publish is `wss.publish` (framed
// once); impl `ws`: the idiom ws users write, `for (const c of wss.clients) c.send(msg)`, with the
// same slow-subscriber rule (skip a client over 1 MiB buffered) so neither buffers without bound.
// With a redisUrl, rfc6455 uses its Redis backplane and ws a hand-written node-redis fan-out.
// Commands on stdin (JSON lines), answers on stdout:
//   {"cmd":"run","size":32,"batch":1,"seconds":5,"rate":0}  publish for `seconds` (batch per tick, or `rate` msg/s)
//   {"cmd":"topics","k":10}  subscribe every connection to k more topics (rfc6455) -> memory
//   {"cmd":"mem"}  after two GCs: rss and heapUsed
import { createInterface } from 'node:readline';

const [impl, portText, deflateText, redisUrl] = process.argv.slice(2);
const port = Number(portText);
const deflate = deflateText === '1';
const LIMIT = 1024 * 1024;
const say = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);

let publish;
let subscribeMore = () => 0;
let connections = () => 0;

if (impl === 'rfc6455') {
  const { WebSocketServer } = await import('../dist/index.js');
  const backplane = redisUrl ? (await import('../dist/redis.js')).createRedisBackplane({ url: redisUrl }, { channelPrefix: 'bench:' }) : undefined;
  const wss = new WebSocketServer({
    port,
    host: '127.0.0.1',
    maxConnections: 1_000_000,
    maxConnectionsPerIp: 1_000_000,
    maxPendingHandshakes: 100_000,
    maxPendingHandshakesPerIp: 100_000,
    perMessageDeflate: deflate ? { threshold: 0 } : false,
    publishBackpressureLimit: LIMIT,
    ...(backplane ? { backplane } : {}),
  });
  wss.on('connection', (ws) => ws.subscribe('bench'));
  publish = (data) => wss.publish('bench', data, { binary: false });
  subscribeMore = (k) => {
    let n = 0;
    for (const ws of wss.clients) for (let i = 0; i < k; i++) n += ws.subscribe(`extra-${i}`) ? 1 : 0;
    return n;
  };
  connections = () => wss.clients.size;
  wss.on('listening', () => say({ listening: true }));
} else {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: deflate ? { threshold: 0 } : false });
  const listening = new Promise((resolve) => wss.once('listening', resolve));
  const fanOut = (data) => {
    for (const c of wss.clients) if (c.bufferedAmount <= LIMIT) c.send(data, { binary: false });
  };
  if (redisUrl) {
    const { createClient } = await import('redis');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    await sub.subscribe('bench:ws', (message) => fanOut(message), true);
    publish = (data) => void pub.publish('bench:ws', data);
  } else {
    publish = fanOut;
  }
  connections = () => wss.clients.size;
  await listening;
  say({ listening: true });
}

process.on('SIGINT', () => process.exit(0));
createInterface({ input: process.stdin }).on('line', async (line) => {
  const c = JSON.parse(line);
  if (c.cmd === 'run') {
    const cpuBefore = process.cpuUsage();
    const end = Date.now() + c.seconds * 1000;
    let published = 0;
    const filler = 'x'.repeat(Math.max(0, c.size - 16));
    const message = () => Buffer.from(`${String(Date.now()).padStart(14, '0')}${filler}`.slice(0, c.size));
    if (c.rate > 0) {
      // Paced: `rate` messages per second, for latency.
      const interval = 1000 / c.rate;
      let next = Date.now();
      while (Date.now() < end) {
        while (Date.now() >= next) {
          publish(message());
          published++;
          next += interval;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    } else {
      while (Date.now() < end) {
        const data = message();
        for (let i = 0; i < c.batch; i++) publish(data);
        published += c.batch;
        await new Promise((r) => setImmediate(r));
      }
    }
    const cpu = process.cpuUsage(cpuBefore);
    say({ published, connections: connections(), cpu: (cpu.user + cpu.system) / 1000 / (c.seconds * 1000) });
  } else if (c.cmd === 'topics') {
    say({ subscribed: subscribeMore(c.k) });
  } else if (c.cmd === 'mem') {
    globalThis.gc?.();
    globalThis.gc?.();
    const m = process.memoryUsage();
    say({ rss: m.rss, heapUsed: m.heapUsed, connections: connections() });
  }
});
