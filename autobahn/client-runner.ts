/**
 * Runs Autobahn's fuzzingserver cases against this library's client: asks for the case count,
 * runs every case (echoing each message back, text as text, binary as binary), then asks the
 * fuzzing server to write its reports. `npx tsx autobahn/client-runner.ts [ws://127.0.0.1:9002]`.
 */
import { WebSocket } from '../src/index.js';

const base = process.argv[2] ?? 'ws://127.0.0.1:9002';
const agent = 'rfc6455';
const limits = { maxPayload: 16 * 1024 * 1024 };

async function caseCount(): Promise<number> {
  const ws = new WebSocket(`${base}/getCaseCount`, limits);
  let count = 0;
  for await (const message of ws) count = Number(message);
  return count;
}

async function runCase(n: number): Promise<void> {
  const ws = new WebSocket(`${base}/runCase?case=${n}&agent=${agent}`, limits);
  ws.on('message', (data, isBinary) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
  });
  ws.on('error', () => undefined);
  await ws.closed;
}

async function updateReports(): Promise<void> {
  const ws = new WebSocket(`${base}/updateReports?agent=${agent}`, limits);
  ws.on('error', () => undefined);
  await ws.closed;
}

const total = await caseCount();
if (!Number.isInteger(total) || total <= 0) {
  console.error(`the fuzzing server at ${base} reported no cases`);
  process.exit(1);
}
for (let n = 1; n <= total; n++) {
  await runCase(n);
  if (n % 50 === 0 || n === total) console.log(`ran ${n}/${total} cases`);
}
await updateReports();
