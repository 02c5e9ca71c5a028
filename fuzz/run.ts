/**
 * `npm run fuzz -- [--seconds N] [--iterations N] [--seed N] [--target NAME] [--write-corpus]`:
 * a longer fuzz campaign than the one inside `npm test`. A crasher is written to
 * `fuzz/crashers/` with its chunk boundaries and the process exits 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { seedCorpus } from './corpus-seeds.js';
import { CORPUS_DIR, runFuzz } from './runner.js';
import { type TargetName, targets } from './targets.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    iterations: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    seed: { type: 'string', default: String(Date.now() & 0x7fffffff) },
    target: { type: 'string', multiple: true },
    'write-corpus': { type: 'boolean', default: false },
  },
});

if (values['write-corpus']) {
  mkdirSync(CORPUS_DIR, { recursive: true });
  for (const [name, bytes] of seedCorpus()) writeFileSync(join(CORPUS_DIR, name), bytes);
  console.log(`wrote ${seedCorpus().size} seed files to ${CORPUS_DIR}`);
  process.exit(0);
}

const only = values.target as TargetName[] | undefined;
for (const name of only ?? []) {
  if (!(name in targets)) {
    console.error(`unknown target ${name}; targets: ${Object.keys(targets).join(', ')}`);
    process.exit(2);
  }
}
const seed = Number(values.seed);
console.log(`fuzzing ${(only ?? Object.keys(targets)).join(', ')} for ${values.seconds}s, seed ${seed}`);
const started = Date.now();
const report = runFuzz({ seconds: Number(values.seconds), iterations: Number(values.iterations), seed, ...(only ? { only } : {}) });
const elapsed = (Date.now() - started) / 1000;
console.log(`${report.executions} executions in ${elapsed.toFixed(1)}s (${Math.round(report.executions / elapsed)}/s), corpus ${report.corpusFiles} files`);
if (report.crash) {
  const dir = join(import.meta.dirname, 'crashers');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.crash.target}-${seed}.bin`);
  writeFileSync(file, report.crash.input);
  writeFileSync(`${file}.json`, JSON.stringify({ target: report.crash.target, cuts: report.crash.cuts, seed }));
  console.error(`CRASH in ${report.crash.target}: ${String(report.crash.error)}\ninput saved to ${file}`);
  process.exit(1);
}
console.log('no invariant broken');
