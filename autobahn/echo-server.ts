/**
 * The echo server Autobahn's fuzzingclient mode tests: built on the public API only, echoing text
 * as text and binary as binary, with default options except `maxPayload` (16 MiB, for section 9's
 * largest messages) and permessage-deflate switched on (sections 12 and 13), so it tests what users get. `npx tsx autobahn/echo-server.ts [PORT]` (default 9001).
 */
import { WebSocketServer } from '../src/index.js';

const port = Number(process.argv[2] ?? 9001);
const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 16 * 1024 * 1024, perMessageDeflate: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`autobahn echo server listening on ws://127.0.0.1:${port}`));
process.on('SIGTERM', () => void wss.close().then(() => process.exit(0)));
