// `npm run bench:e2e` (builds first): rfc6455 and ws side by side in one run, on loopback. Each
// server runs in its own process (pinned to cpu 0 when `taskset` exists); this process (pinned to
// cpu 1) is the load generator: a minimal raw-TCP WebSocket client written with node:net that
// sends pre-masked frames, so every server faces the same load. ws runs twice: as installed by
// default, and with its optional native add-on bufferutil (WS_BUFFERUTIL=1). Ratios are rfc6455
// over each ws.
//
// Scenarios: echo (100 conns x 32 B at depth 1 and 32; 10 x 64 KiB at depth 4; 10 x 1 MiB at
// depth 2), handshakes per second (50 concurrent connect-echo-close loops), and memory per added
// idle connection: open IDLE_FROM connections, two full GCs, read RSS and heapUsed, open up to
// IDLE_TO, read again; the slope is the per-connection cost without the fixed startup memory.
// Env: DURATION (s per window, default 5), IDLE_FROM (4000), IDLE_TO (18000), ONLY (a substring
// of the scenario names to run, e.g. ONLY=RSS for the memory slope alone).
//
// A Node load generator on one core saturates before the servers do in the pipelined 32 B case
// (depth 32): there the figures are bounded by the client; the C generator in the project's
// measurements (README) drives that case harder.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { churn, echo, hasTaskset, idleSlope, pinLoad, startServer, stop } from './loopback-load.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.DURATION ?? 5) * 1000;
const IDLE_FROM = Number(process.env.IDLE_FROM ?? 4000);
const IDLE_TO = Number(process.env.IDLE_TO ?? 18_000);
const ONLY = process.env.ONLY ?? '';
pinLoad();

const servers = [
  ['rfc6455', join(here, 'echo-server.mjs'), {}],
  ['ws', join(here, 'ws-echo-server.mjs'), {}],
  ['ws+bufferutil', join(here, 'ws-echo-server.mjs'), { WS_BUFFERUTIL: '1' }],
];

const idle = new Map();
const scenarios = [
  ['a. echo 100 conns x 32 B, depth 1', 'msg/s', (s) => echo(s.port, 100, 32, 1, DURATION)],
  ['b. echo 100 conns x 32 B, depth 32', 'msg/s', (s) => echo(s.port, 100, 32, 32, DURATION)],
  ['c. echo 10 conns x 64 KiB, depth 4', 'msg/s', (s) => echo(s.port, 10, 65536, 4, DURATION)],
  ['d. echo 10 conns x 1 MiB, depth 2', 'msg/s', (s) => echo(s.port, 10, 1024 * 1024, 2, DURATION)],
  ['f. handshakes, 50 concurrent', 'cycles/s', (s) => churn(s.port, 50, DURATION)],
  [`e. RSS per added idle conn (${IDLE_FROM}->${IDLE_TO})`, 'bytes', async (s, label) => {
    const slope = await idleSlope(s, IDLE_FROM, IDLE_TO);
    idle.set(label, slope.heap);
    return slope.rss;
  }],
  [`e'. heap per added idle conn`, 'bytes', async (_s, label) => idle.get(label)],
];

const fmt = (v) => (v === undefined ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));
console.log(`rfc6455 vs ws 8 (default install, and with bufferutil), loopback, ${DURATION / 1000} s windows${hasTaskset ? ', server on cpu 0, load on cpu 1' : ''}`);
console.log(`${'scenario'.padEnd(44)} ${'unit'.padEnd(8)} ${servers.map(([l]) => l.padStart(13)).join(' ')}   vs ws   vs ws+bufferutil`);
for (const [name, unit, run] of scenarios) {
  // e' reads what e measured: it runs exactly when e did.
  if (name.startsWith("e'") ? idle.size === 0 : ONLY !== '' && !name.includes(ONLY)) continue;
  const results = {};
  for (const [label, script, env] of servers) {
    if (name.startsWith("e'")) {
      results[label] = await run(null, label);
      continue;
    }
    const server = await startServer(script, env, ['--expose-gc']);
    try {
      results[label] = await run(server, label);
    } finally {
      await stop(server);
    }
  }
  const ratio = (other) => `${(results.rfc6455 / results[other]).toFixed(2)}×`;
  console.log(`${name.padEnd(44)} ${unit.padEnd(8)} ${servers.map(([l]) => fmt(results[l]).padStart(13)).join(' ')}   ${ratio('ws').padStart(5)}   ${ratio('ws+bufferutil').padStart(5)}${unit === 'bytes' ? '  (lower is better)' : ''}`);
}
