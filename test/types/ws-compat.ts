// Typical @types/ws code, unchanged but for the import, compiled with `strict` against the
// package's bundled declarations (dist/*.d.ts, through the package's own name and exports map) by
// test/types.test.ts. It is never run.
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import WebSocket, { createWebSocketStream, type ClientOptions, type RawData, type ServerOptions, WebSocketServer } from 'rfc6455';

declare module 'rfc6455' {
  interface WebSocket {
    isAlive: boolean;
  }
}

const serverOptions: ServerOptions = { port: 8080, perMessageDeflate: { zlibDeflateOptions: { level: 3 }, threshold: 1024 }, clientTracking: true };
const wss = new WebSocketServer(serverOptions);
const alsoServer: WebSocket.Server = new WebSocket.Server({ noServer: true });
const viaNamespace: WebSocket.WebSocketServer = alsoServer;
void viaNamespace;

function heartbeat(this: WebSocket): void {
  this.isAlive = true;
}

wss.on('connection', function connection(ws: WebSocket, req: IncomingMessage) {
  const ip: string | undefined = req.socket.remoteAddress;
  const forwarded = req.headers['x-forwarded-for'];
  void ip;
  void forwarded;
  ws.isAlive = true;
  ws.on('pong', heartbeat);
  ws.on('error', console.error);
  ws.on('message', function message(data: RawData, isBinary: boolean) {
    wss.clients.forEach(function each(client) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
  ws.on('message', (data: WebSocket.Data) => console.log('received: %s', data));
  ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString()));
  ws.send('something');
  ws.send(Date.now());
  ws.send(new Float32Array(5), (err?: Error) => {
    if (err) console.error(err);
  });
  ws.ping();
  ws.ping(() => undefined);
  ws.ping('x', false, (err?: Error) => void err);
});

const interval = setInterval(function ping() {
  wss.clients.forEach(function each(ws: WebSocket) {
    if (ws.isAlive === false) return ws.terminate();
    ws.isAlive = false;
    ws.ping();
  });
}, 30000);
wss.on('close', function close() {
  clearInterval(interval);
});

const server = createServer();
const wss1 = new WebSocketServer({ noServer: true });
server.on('upgrade', function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
  wss1.handleUpgrade(request, socket, head, function done(ws: WebSocket) {
    wss1.emit('connection', ws, request);
  });
});
const attached = new WebSocketServer({ server, verifyClient: (info: { origin: string | undefined; secure: boolean; req: IncomingMessage }) => info.secure });
attached.on('headers', (headers: string[], req: IncomingMessage) => headers.push(`X-Url: ${req.url ?? ''}`));

const clientOptions: ClientOptions = { perMessageDeflate: false, handshakeTimeout: 1000, headers: { Authorization: 'Bearer x' }, followRedirects: true };
const ws = new WebSocket('ws://www.host.com/path', clientOptions);
const withProtocols = new WebSocket('ws://www.host.com/path', ['chat', 'superchat'], { origin: 'https://websocket.org' });
void withProtocols;
ws.on('open', function open() {
  ws.send('something');
});
ws.on('upgrade', (response: IncomingMessage) => console.log(response.headers['set-cookie']));
ws.on('unexpected-response', (req, res: IncomingMessage) => {
  console.log(req.path, res.statusCode);
  res.resume();
});
ws.on('redirect', (url: string) => console.log(url));
ws.binaryType = 'arraybuffer';
ws.binaryType = 'fragments';
const state: number = ws.readyState;
if (state === WebSocket.CONNECTING || state === ws.OPEN) console.log(ws.url, ws.protocol, ws.extensions, ws.bufferedAmount);
type Open = typeof WebSocket.OPEN;
const open: Open = 1;
void open;
ws.onmessage = (event) => console.log(event.data);
ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
ws.onerror = (event) => console.log(event.message);
ws.addEventListener('message', (event) => console.log(event.data, event.type));
ws.close();
ws.close(1000, 'bye');

const custom = new WebSocket('wss://www.host.com/', {
  createConnection: tlsConnect,
  finishRequest: (request, websocket) => {
    websocket.isAlive = true;
    request.setHeader('X-Token', 'abc');
    request.end();
  },
});
void custom;

const duplex: Duplex = createWebSocketStream(ws, { encoding: 'utf8' });
duplex.pipe(process.stdout);
const alsoDuplex: Duplex = WebSocket.createWebSocketStream(ws);
void alsoDuplex;

// The declarations are real types, not `any`: these must be errors.
// @ts-expect-error not a binaryType
ws.binaryType = 'bogus';
// @ts-expect-error readyState is read-only
ws.readyState = 1;
// @ts-expect-error WebSocket.OPEN is the literal 1
const notOpen: typeof WebSocket.OPEN = 2;
void notOpen;

// ws's other named types and namespace members, and a server typed by its WebSocket class.
import type { AddressInfo, CertMeta, CloseEvent, ErrorEvent, Event, EventListenerOptions, FinishRequestCallback, MessageEvent, VerifyClientCallbackAsync, VerifyClientCallbackSync } from 'rfc6455';
const syncVerify: VerifyClientCallbackSync = (info) => info.origin !== 'https://evil.example';
const asyncVerify: WebSocket.VerifyClientCallbackAsync = (_info, done) => done(true);
const asyncVerify2: VerifyClientCallbackAsync = asyncVerify;
new WebSocketServer({ noServer: true, verifyClient: syncVerify });
new WebSocketServer({ noServer: true, verifyClient: asyncVerify2 });
const finish: FinishRequestCallback = (request) => request.end();
new WebSocket('ws://127.0.0.1:8080', { finishRequest: finish });
const deflateOptions: WebSocket.PerMessageDeflateOptions = { threshold: 1024, serverNoContextTakeover: true };
void deflateOptions;
const listenOptions: EventListenerOptions = { once: true };
const address: AddressInfo | null = null;
const cert: CertMeta = 'pem';
void address;
void cert;
function onEvents(ws: WebSocket): void {
  ws.addEventListener('message', (event: MessageEvent) => console.log(event.data, event.target.readyState), listenOptions);
  ws.addEventListener('close', (event: CloseEvent) => console.log(event.code, event.reason, event.wasClean));
  ws.addEventListener('error', (event: ErrorEvent) => console.log(event.message));
  ws.addEventListener('open', (event: Event) => console.log(event.type));
  const state: 0 | 1 | 2 | 3 = ws.readyState;
  void state;
}
void onEvents;
class Tracked extends WebSocket {
  joined = Date.now();
}
const typed = new WebSocketServer<typeof Tracked>({ noServer: true, WebSocket: Tracked });
typed.on('connection', (ws) => console.log(ws.joined));
typed.clients.forEach((ws) => console.log(ws.joined));
