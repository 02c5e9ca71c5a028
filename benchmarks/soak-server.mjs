// Soak server (run by soak.mjs with --expose-gc and an IPC channel): a WebSocketServer with every
// limit at its default and heartbeats on; each connection subscribes to one topic, and on the
// orchestrator's word the server publishes one message to it every second. It answers `sample`
// with its memory after two full collections, and reports connections opened and closed (by code).
import { WebSocketServer } from '../dist/index.js';

const HEARTBEAT = Number(process.env.HEARTBEAT ?? 15_000);
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', heartbeatInterval: HEARTBEAT });
const closes = {};
let opened = 0;
let seq = 0;
let ticker = null;
const payload = (n) => JSON.stringify({ seq: n, at: Date.now(), pad: 'x'.repeat(24) });

wss.on('connection', (ws) => {
  opened++;
  ws.subscribe('all');
  ws.on('close', (code) => (closes[code] = (closes[code] ?? 0) + 1));
});
wss.on('listening', () => process.send({ type: 'listening', port: wss.address().port }));

function sample() {
  globalThis.gc();
  globalThis.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed, open: wss.clients.size };
}

process.on('message', (message) => {
  switch (message.type) {
    case 'sample':
      process.send({ type: 'sample', ...sample() });
      break;
    case 'start':
      ticker = setInterval(() => wss.publish('all', payload(++seq)), 1000);
      process.send({ type: 'started' });
      break;
    case 'stop':
      clearInterval(ticker);
      process.send({ type: 'stopped', published: seq });
      break;
    case 'report':
      process.send({ type: 'report', opened, closes, stats: wss.stats() });
      break;
    case 'exit':
      void wss.close().then(() => process.exit(0));
      break;
  }
});
