// The same echo server written with ws (its default install: no bufferutil unless WS_BUFFERUTIL=1),
// for side-by-side runs: `node benchmarks/ws-echo-server.mjs [PORT]`.
if (process.env.WS_BUFFERUTIL !== '1') process.env.WS_NO_BUFFER_UTIL = '1';
const { WebSocketServer } = await import('ws');
const port = Number(process.argv[2] ?? 9001);
const deflate = process.env.DEFLATE === '1' ? { threshold: 1024 } : process.env.DEFLATE === 'nct' ? { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true } : false;
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: deflate, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`ws echo listening on 127.0.0.1:${port} pid ${process.pid}`));
if (process.env.MAX_TIME) setTimeout(() => process.exit(0), Number(process.env.MAX_TIME) * 1000).unref();
// SIGUSR2 (run with --expose-gc): two full collections, then `memory <rss> <heapUsed>` on stdout.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  console.log(`memory ${rss} ${heapUsed}`);
});
