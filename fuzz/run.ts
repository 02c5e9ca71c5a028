/**
 * `npm run fuzz -- [--seconds N] [--iterations N] [--seed N] [--target NAME] [--start N] [--write-corpus]`:
 * a longer fuzz campaign than the one inside `npm test`. The core targets run first, then the
 * `node-layer` target (real sockets, see node-layer.ts) for a quarter of the time; `--target`
 * picks either. `--start` is the first node-layer case (with `--iterations 1`, a replay of one).
 * A crasher is written to `fuzz/crashers/` with what reproduces it and the process exits 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedCorpus } from './corpus-seeds.js';
import { describeCase, describeFailure, fuzzNodeLayer } from './node-layer.js';
import { CORPUS_DIR, runFuzz } from './runner.js';
import { type TargetName, targets } from './targets.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    iterations: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    seed: { type: 'string', default: String(Date.now() & 0x7fffffff) },
    target: { type: 'string', multiple: true },
    start: { type: 'string', default: '0' },
    'write-corpus': { type: 'boolean', default: false },
  },
});

if (values['write-corpus']) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  for (const [name, bytes] of seedCorpus()) writeFileSync(join(CORPUS_DIR, name), bytes);
  console.log(`wrote ${seedCorpus().size} seed files to ${CORPUS_DIR}`);
  process.exit(0);
}

const NODE_LAYER = 'node-layer';
/** Share of the time the node-layer target gets when every target runs. */
const NODE_SHARE = 0.25;
const requested = values.target;
for (const name of requested ?? []) {
  if (!(name in targets) && name !== NODE_LAYER) {
    console.error(`unknown target ${name}; targets: ${[...Object.keys(targets), NODE_LAYER].join(', ')}`);
    process.exit(2);
  }
}
const only = requested?.filter((name): name is TargetName => name in targets);
const runCore = requested === undefined || only!.length > 0;
const runNode = requested === undefined || requested.includes(NODE_LAYER);
const seed = Number(values.seed);
const seconds = Number(values.seconds);
const iterations = Number(values.iterations);
const coreSeconds = runNode ? (runCore ? seconds * (1 - NODE_SHARE) : 0) : seconds;
const crashDir = join(import.meta.dirname, 'crashers');

if (runCore) {
  console.log(`fuzzing ${(only?.length ? only : Object.keys(targets)).join(', ')} for ${coreSeconds}s, seed ${seed}`);
  const started = Date.now();
  const report = runFuzz({ seconds: coreSeconds, iterations, seed, ...(only?.length ? { only } : {}) });
  const elapsed = (Date.now() - started) / 1000;
  console.log(`${report.executions} executions in ${elapsed.toFixed(1)}s (${Math.round(report.executions / elapsed)}/s), corpus ${report.corpusFiles} files`);
  if (report.crash) {
    mkdirSync(crashDir, { recursive: true });
    const file = join(crashDir, `${report.crash.target}-${seed}.bin`);
    writeFileSync(file, report.crash.input);
    writeFileSync(`${file}.json`, JSON.stringify({ target: report.crash.target, cuts: report.crash.cuts, seed }));
    console.error(`CRASH in ${report.crash.target}: ${String(report.crash.error)}\ninput saved to ${file}`);
    process.exit(1);
  }
}

if (runNode) {
  const nodeSeconds = seconds - coreSeconds;
  console.log(`fuzzing ${NODE_LAYER} for ${nodeSeconds}s, seed ${seed}`);
  const started = Date.now();
  const report = await fuzzNodeLayer({ seconds: nodeSeconds, iterations, seed, start: Number(values.start) });
  const elapsed = (Date.now() - started) / 1000;
  console.log(`${report.iterations} connections in ${elapsed.toFixed(1)}s`);
  if (report.failure) {
    const c = report.failure.case;
    mkdirSync(crashDir, { recursive: true });
    const file = join(crashDir, `${NODE_LAYER}-${seed}-${c?.iteration ?? 'final'}`);
    if (c) writeFileSync(`${file}.bin`, c.input);
    writeFileSync(
      `${file}.json`,
      JSON.stringify({ target: NODE_LAYER, seed, kind: report.failure.kind, error: String(report.failure.error), ...(c ? { case: describeCase(c), replay: { seed, start: c.iteration, iterations: 1 } } : {}) }, null, 2),
    );
    const replay = c ? `\nreplay: npm run fuzz -- --target ${NODE_LAYER} --seed ${seed} --start ${c.iteration} --iterations 1` : '';
    console.error(`CRASH in ${NODE_LAYER}: ${describeFailure(report)}${replay}\ndetails saved to ${file}.json`);
    process.exit(1);
  }
}
console.log('no invariant broken');
