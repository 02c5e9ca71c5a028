/**
 * `npm run fuzz:diff -- [--seconds N] [--iterations N] [--seed N]`: a longer differential campaign
 * against ws's Receiver than the one inside `npm test` (see differential.ts). Prints the counts of
 * agreements and of each deliberate difference; on a mismatch, prints the case that reproduces it
 * and exits 1.
 */
import { parseArgs } from 'node:util';
import { DELIBERATE, runDifferential } from './differential.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    iterations: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    seed: { type: 'string', default: String(Date.now() & 0x7fffffff) },
  },
});
const seed = Number(values.seed);
console.log(`differential fuzzing against ws for ${values.seconds}s, seed ${seed}`);
const started = Date.now();
const report = await runDifferential({ seed, iterations: Number(values.iterations), seconds: Number(values.seconds) });
const elapsed = (Date.now() - started) / 1000;
console.log(`${report.cases} cases in ${elapsed.toFixed(1)}s: ${report.same} the same`);
for (const [name, count] of Object.entries(report.deliberate)) console.log(`  ${count} ${name}: ${DELIBERATE[name as keyof typeof DELIBERATE]}`);
if (report.mismatch !== null) {
  console.error(`MISMATCH at case ${report.mismatch.i} (replay: --seed ${seed}, case index ${report.mismatch.i}):`);
  console.error(JSON.stringify(report.mismatch, null, 2));
  process.exit(1);
}
