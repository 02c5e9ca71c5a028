// End-to-end loopback benchmarks, rfc6455 and ws side by side in one run: each server runs in its
// own process (pinned to cpu 0 when `taskset` exists) and this process drives it with a minimal
// raw-TCP WebSocket client (pinned to cpu 1) that sends pre-masked frames, so both servers face the
// same load. Scenarios: echo throughput (100 conns x 32 B at depth 1 and 32; 10 conns x 64 KiB),
// idle memory per connection (RSS delta for N open connections, and after they close), and
// handshakes per second (50 concurrent connect-echo-close loops).
// `npm run bench:e2e` (builds first). Env: DURATION (s, default 5), IDLE_CONNS (default 10000).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { churn, echo, hasTaskset, idle, pinLoad, startServer, stop } from './loopback-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const IDLE_CONNS = Number(process.env.IDLE_CONNS ?? 10_000);
pinLoad();

const servers = {
  rfc6455: join(here, 'echo-server.mjs'),
  ws: join(here, 'ws-echo-server.mjs'),
};

const scenarios = [
  ['echo 100 conns x 32 B, depth 1', 'msg/s', (s) => echo(s.port, 100, 32, 1, DURATION)],
  ['echo 100 conns x 32 B, depth 32', 'msg/s', (s) => echo(s.port, 100, 32, 32, DURATION)],
  ['echo 10 conns x 64 KiB, depth 4', 'msg/s', (s) => echo(s.port, 10, 65536, 4, DURATION)],
  ['handshakes (50 concurrent cycles)', 'cycles/s', (s) => churn(s.port, 50, DURATION)],
  [`idle RSS per connection (${IDLE_CONNS})`, 'bytes', async (s) => (await idle(s, IDLE_CONNS)).perConn],
];

console.log(`rfc6455 vs ws, loopback, ${DURATION / 1000}s windows${hasTaskset ? ', server on cpu 0, client on cpu 1' : ''}`);
for (const [name, unit, run] of scenarios) {
  const results = {};
  for (const [label, script] of Object.entries(servers)) {
    const server = await startServer(script);
    try {
      results[label] = await run(server);
    } finally {
      await stop(server);
    }
  }
  const ratio = results.rfc6455 / results.ws;
  const fmt = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));
  console.log(`${name.padEnd(40)} ${unit.padEnd(8)} rfc6455 ${fmt(results.rfc6455).padStart(8)}  ws ${fmt(results.ws).padStart(8)}  ratio ${ratio.toFixed(2)}×${unit === 'bytes' ? ' (lower is better)' : ''}`);
}
