// The rfc6455 demo: one node:http server on http://localhost:8080 (PORT to change it) serving a
// small page, an echo endpoint at /echo and a broadcast chat room at /chat, all with this library.
// Runs until Ctrl-C.
import { createServer } from 'node:http';
import { WebSocketServer } from '../dist/index.js';

const port = Number(process.env.PORT ?? 8080);

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rfc6455 demo</title>
<style>
 body { font: 15px system-ui, sans-serif; max-width: 760px; margin: 2em auto; padding: 0 1em; color: #222 }
 section { border: 1px solid #ccc; border-radius: 8px; padding: 1em; margin: 1em 0 }
 .log { height: 160px; overflow: auto; background: #f6f6f6; padding: .5em; font: 13px ui-monospace, monospace; white-space: pre-wrap }
 input { padding: .4em; } button { padding: .4em .8em }
 .status { font-size: 12px; color: #666 }
</style></head>
<body>
<h1>rfc6455 demo</h1>
<p>This page talks to the demo server over WebSockets: <code>/echo</code> sends back what you send, and
<code>/chat</code> broadcasts every message to everyone connected. Open the page in two tabs to chat.</p>
<section><h2>Echo</h2>
 <form id="echo-form"><input id="echo-input" size="40" value="Hello, RFC 6455!" autocomplete="off"> <button>Send</button></form>
 <p class="status" id="echo-status">connecting…</p><div class="log" id="echo-log"></div></section>
<section><h2>Chat room</h2>
 <form id="chat-form"><input id="chat-name" size="10" placeholder="name"> <input id="chat-input" size="34" placeholder="message" autocomplete="off"> <button>Send</button></form>
 <p class="status" id="chat-status">connecting…</p><div class="log" id="chat-log"></div></section>
<script>
const wsUrl = (path) => (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
function log(id, text) { const el = document.getElementById(id); el.textContent += text + '\\n'; el.scrollTop = el.scrollHeight; }
function open(path, statusId, onMessage) {
  const ws = new WebSocket(wsUrl(path));
  ws.onopen = () => { document.getElementById(statusId).textContent = 'connected to ' + path; };
  ws.onclose = (e) => { document.getElementById(statusId).textContent = 'closed (' + e.code + ')'; };
  ws.onmessage = (e) => onMessage(e.data);
  return ws;
}
const echo = open('/echo', 'echo-status', (data) => log('echo-log', '← ' + data));
document.getElementById('echo-form').onsubmit = (e) => {
  e.preventDefault(); const text = document.getElementById('echo-input').value;
  echo.send(text); log('echo-log', '→ ' + text);
};
const chat = open('/chat', 'chat-status', (data) => {
  const m = JSON.parse(data);
  log('chat-log', m.type === 'message' ? m.name + ': ' + m.text : '* ' + m.text);
});
document.getElementById('chat-form').onsubmit = (e) => {
  e.preventDefault(); const input = document.getElementById('chat-input');
  if (!input.value) return;
  chat.send(JSON.stringify({ name: document.getElementById('chat-name').value || 'anonymous', text: input.value }));
  input.value = '';
};
</script></body></html>`;

const server = createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
});

// Two endpoints on one HTTP server: route upgrades by path with noServer + handleUpgrade.
const echo = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
const chat = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, heartbeatInterval: 30_000 });

echo.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});

// The chat room is a topic: each connection subscribes, and a publish is framed once and
// written to every subscriber (a slow one has messages dropped instead of slowing the room).
const ROOM = 'chat';
const broadcast = (message) => chat.publish(ROOM, JSON.stringify(message));
chat.on('connection', (ws, req) => {
  const who = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  ws.subscribe(ROOM);
  broadcast({ type: 'notice', text: `someone joined from ${who} (${chat.subscriberCount(ROOM)} here)` });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003, 'text only');
    let parsed;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      return ws.close(1007, 'JSON expected');
    }
    broadcast({ type: 'message', name: String(parsed.name ?? 'anonymous').slice(0, 32), text: String(parsed.text ?? '').slice(0, 2000) });
  });
  // A closed connection has left the room by the time 'close' fires.
  ws.on('close', () => broadcast({ type: 'notice', text: `someone left (${chat.subscriberCount(ROOM)} here)` }));
});

server.on('upgrade', (req, socket, head) => {
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  const target = pathname === '/echo' ? echo : pathname === '/chat' ? chat : null;
  if (target === null) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});

server.listen(port, () => {
  console.log(`rfc6455 demo running at http://localhost:${port}/  (echo: ws://localhost:${port}/echo, chat: ws://localhost:${port}/chat)`);
  console.log('Press Ctrl-C to stop.');
});

process.on('SIGINT', async () => {
  console.log('\nshutting down');
  await Promise.all([echo.close(), chat.close()]);
  server.close(() => process.exit(0));
});
