// `npm run bench:limits`: what admission budgets, rate limits and stall timers cost, on against
// off, in one run: the same rfc6455 echo server with every limit at its default (LIMITS=defaults)
// and with the rate limits and stall timers off and the budgets at their maximum (LIMITS=off;
// admission still counts, it cannot be taken out). Echo 100 conns x 32 B at depth 1 and 32, and
// handshakes (50 concurrent connect-echo-close loops). ROUNDS rounds alternate which runs first;
// the medians are compared. Env: DURATION (s, default 5), ROUNDS (default 3).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { churn, echo, hasTaskset, pinLoad, startServer, stop } from './loopback-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
pinLoad();

const scenarios = [
  ['echo 100 conns x 32 B, depth 1', 'msg/s', (port) => echo(port, 100, 32, 1, DURATION)],
  ['echo 100 conns x 32 B, depth 32', 'msg/s', (port) => echo(port, 100, 32, 32, DURATION)],
  ['handshakes (50 concurrent cycles)', 'cycles/s', (port) => churn(port, 50, DURATION)],
];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

console.log(`limits on (defaults) vs off, ${ROUNDS} alternating rounds, ${DURATION / 1000}s windows${hasTaskset ? ', server on cpu 0, load on cpu 1' : ''}`);
console.log('| scenario | limits on (median) | limits off (median) | on / off | rounds (on, off) |');
console.log('|---|---|---|---|---|');
for (const [name, unit, run] of scenarios) {
  const results = { defaults: [], off: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['defaults', 'off'] : ['off', 'defaults'];
    for (const limits of order) {
      const server = await startServer(join(here, 'echo-server.mjs'), { LIMITS: limits });
      try {
        results[limits].push(await run(server.port));
      } finally {
        await stop(server);
      }
    }
  }
  const on = median(results.defaults);
  const off = median(results.off);
  const fmt = (v) => Math.round(v).toLocaleString('en-US');
  console.log(`| ${name} (${unit}) | ${fmt(on)} | ${fmt(off)} | ${((on / off - 1) * 100).toFixed(1)}% | ${results.defaults.map(fmt).join(' ')}; ${results.off.map(fmt).join(' ')} |`);
}
