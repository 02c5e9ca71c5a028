/**
 * ws's root properties on the `WebSocket` class: `WebSocket.Server`, `WebSocket.WebSocketServer`,
 * `WebSocket.WebSocket` and `WebSocket.createWebSocketStream`, so `import WebSocket from
 * 'rfc6455'` and `require('rfc6455')` work as with ws. Set once at load; no behaviour of its own.
 */
import { WebSocketServer } from './server/server.js';
import { createWebSocketStream } from './stream.js';
import { WebSocket } from './websocket.js';

for (const [name, value] of [
  ['Server', WebSocketServer],
  ['WebSocketServer', WebSocketServer],
  ['WebSocket', WebSocket],
  ['createWebSocketStream', createWebSocketStream],
] as const) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true, writable: true, configurable: true });
}

export { createWebSocketStream, WebSocket, WebSocketServer };
