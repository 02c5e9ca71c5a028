// Soak clients (run by soak.mjs with an IPC channel): ws clients (the independent peer) opened
// from the loopback addresses in ADDRESSES (`address=count,...`), every message's sequence number
// checked per connection: a gap, a repeat, a late first message or an unexpected close is
// counted. On `close` they close with 1000 and report.
import WebSocket from 'ws';

const url = process.env.URL;
/** `address=count` pairs: how many connections to open from each loopback address. */
const addresses = process.env.ADDRESSES.split(',').map((pair) => {
  const [address, count] = pair.split('=');
  return { address, count: Number(count) };
});
const clients = [];
const problems = { gaps: 0, repeats: 0, unexpectedCloses: 0, errors: 0 };
let closing = false;
let received = 0;

function openOne(localAddress) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress });
    const state = { ws, last: 0, first: 0, count: 0 };
    ws.on('message', (data) => {
      const { seq } = JSON.parse(data);
      received++;
      if (state.first === 0) {
        state.first = seq;
        // Every connection was open before the first broadcast: it must get the first one.
        if (seq !== 1) problems.gaps += seq - 1;
      } else if (seq === state.last) problems.repeats++;
      else if (seq !== state.last + 1) problems.gaps += seq - state.last - 1;
      state.last = seq;
      state.count++;
    });
    ws.on('error', () => problems.errors++);
    ws.on('close', () => {
      if (!closing) problems.unexpectedCloses++;
    });
    ws.once('open', () => resolve(state));
    ws.once('error', () => resolve(null));
  });
}

async function connectAll() {
  const started = Date.now();
  await Promise.all(
    addresses.map(async ({ address, count }) => {
      // 32 handshakes at a time per address (the server admits 64 pending per address).
      for (let done = 0; done < count; ) {
        const batch = Math.min(32, count - done);
        done += batch;
        const opened = await Promise.all(Array.from({ length: batch }, () => openOne(address)));
        for (const state of opened) if (state !== null) clients.push(state);
      }
    }),
  );
  process.send({ type: 'connected', open: clients.length, ms: Date.now() - started });
}

process.on('message', async (message) => {
  if (message.type === 'connect') await connectAll();
  if (message.type === 'progress') process.send({ type: 'progress', received, ...problems });
  if (message.type === 'close') {
    closing = true;
    // Each connection's messages: every one from its first to the last published.
    let missingAtEnd = 0;
    for (const state of clients) if (state.last !== message.published) missingAtEnd += message.published - state.last;
    await Promise.all(
      clients.map(
        ({ ws }) =>
          new Promise((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', resolve);
            ws.close(1000);
          }),
      ),
    );
    process.send({ type: 'closed', clients: clients.length, received, missingAtEnd, ...problems });
  }
});
