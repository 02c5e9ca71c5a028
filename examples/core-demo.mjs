// Demo of the sans-I/O core: a client Protocol and a server Protocol wired back to back in
// memory. Every byte one writes is fed to the other, so you can watch a real RFC 6455 exchange
// (masked client frames, a fragmented message, ping/pong, the closing handshake) with no sockets.
import { Protocol, SEND_EOF } from '../dist/index.js';

const client = new Protocol({ role: 'client' });
const server = new Protocol({ role: 'server' });
const hex = (bytes) => Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, '0')).join(' ') + (bytes.length > 24 ? ' …' : '');

function pump(from, to, label) {
  for (const chunk of from.dataToSend()) {
    if (chunk === SEND_EOF) {
      console.log(`${label}  FIN (half-close)`);
      to.receiveEof();
    } else {
      console.log(`${label}  ${hex(chunk)}  (${chunk.length} bytes)`);
      to.receiveData(chunk.slice());
    }
  }
  for (const event of to.eventsReceived()) {
    const who = to === server ? 'server' : 'client';
    if (event.type === 'message') {
      const text = event.binary ? `<${event.data.length} bytes>` : JSON.stringify(new TextDecoder().decode(event.data));
      console.log(`        ${who} got ${event.binary ? 'binary' : 'text'} message ${text}`);
      if (who === 'server') event.binary ? server.sendBinary(event.data) : server.sendText(event.data);
    } else if (event.type === 'closed') {
      console.log(`        ${who} closed: code ${event.code}, clean ${event.wasClean}`);
    } else {
      console.log(`        ${who} got ${event.type}${'code' in event ? ` ${event.code}` : ''}`);
    }
  }
}

function settle() {
  for (let i = 0; i < 6; i++) {
    pump(client, server, 'client → server');
    pump(server, client, 'server → client');
  }
}

console.log('rfc6455 core demo: an echo server and a client, back to back in memory\n');
client.sendText('Hello');
settle();
client.sendText('frag', false);
client.sendPing(new TextEncoder().encode('are you there?'));
client.sendContinuation(new TextEncoder().encode('mented'), true);
settle();
client.sendBinary(new Uint8Array(300).fill(7));
settle();
client.sendClose(1000, 'bye');
settle();
console.log(`\nclient state ${client.state}, server state ${server.state} (3 = CLOSED)`);
