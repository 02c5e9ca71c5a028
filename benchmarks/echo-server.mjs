// Echo server for load generators: `node benchmarks/echo-server.mjs [PORT]` (default 9001).
// Echoes text as text and binary as binary; prints a line containing "listening" when ready.
// Set MAX_TIME (seconds) to exit by itself; DEFLATE=1 or DEFLATE=nct to negotiate permessage-deflate;
// RATE_LIMIT=off turns the input rate limits off. LIMITS=defaults runs with every limit at its
// default; LIMITS=off with the rate limits and stall timers off and every budget at its maximum
// (what limits-cost.mjs compares).
import { WebSocketServer } from '../dist/index.js';

const port = Number(process.argv[2] ?? 9001);
// DEFLATE=1: permessage-deflate with context takeover; DEFLATE=nct: without context takeover.
const deflate = process.env.DEFLATE === '1' ? true : process.env.DEFLATE === 'nct' ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : false;
const open = { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000, maxPendingHandshakes: 1_000_000, maxPendingHandshakesPerIp: 1_000_000 };
const limits =
  process.env.LIMITS === 'defaults'
    ? {}
    : process.env.LIMITS === 'off'
      ? { ...open, rateLimit: false, stalledInputTimeout: 0, stalledOutputTimeout: 0, maxBufferedBytes: Number.MAX_SAFE_INTEGER }
      : { ...open, ...(process.env.RATE_LIMIT === 'off' ? { rateLimit: false } : {}) };
const wss = new WebSocketServer({ port, host: '127.0.0.1', clientTracking: false, perMessageDeflate: deflate, ...limits });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`rfc6455 echo listening on 127.0.0.1:${port} pid ${process.pid}`));
if (process.env.MAX_TIME) setTimeout(() => process.exit(0), Number(process.env.MAX_TIME) * 1000).unref();
// SIGUSR2 (run with --expose-gc): two full collections, then `memory <rss> <heapUsed>` on stdout.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  console.log(`memory ${rss} ${heapUsed}`);
});
