// Browser-style code against `rfc6455/whatwg`, compiled with `strict` (no DOM lib) by
// test/types.test.ts: event handler attributes and listeners get the standard's event types.
import { WebSocket } from 'rfc6455/whatwg';

const ws = new WebSocket('ws://127.0.0.1:8080', ['chat']);
ws.binaryType = 'arraybuffer';
ws.onopen = (event) => console.log(event.type, ws.readyState, ws.protocol);
ws.onmessage = (event) => {
  const data: unknown = event.data;
  console.log(typeof data === 'string' ? data : 'binary', event.origin);
};
ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
ws.onerror = (event) => console.log(event.type);
ws.addEventListener('message', (event) => console.log(event.data));
ws.addEventListener('close', (event) => console.log(event.code), { once: true });
ws.addEventListener('open', function (this: WebSocket) {
  this.send('hello');
});
