import { describe, expect, it } from 'vitest';
import { seedCorpus } from './corpus-seeds.js';
import { loadCorpusFiles, runFuzz } from './runner.js';

describe('fuzz (short run; `npm run fuzz` for a campaign)', () => {
  it('the committed corpus matches the seed definitions (`npm run fuzz -- --write-corpus` rewrites it)', () => {
    const committed = loadCorpusFiles();
    const seeds = seedCorpus();
    expect([...committed.keys()]).toEqual([...seeds.keys()].sort());
    for (const [name, bytes] of seeds) {
      expect(Buffer.from(committed.get(name) ?? []).toString('hex'), name).toBe(Buffer.from(bytes).toString('hex'));
    }
  });

  it('breaks no invariant over the corpus and 20,000 mutated inputs', () => {
    const report = runFuzz({ iterations: 20_000, seconds: 40, seed: 20261123 });
    if (report.crash) {
      throw new Error(`${report.crash.target} broke an invariant: ${String(report.crash.error)}; input ${Buffer.from(report.crash.input).toString('hex')} cuts ${JSON.stringify(report.crash.cuts)}`);
    }
    expect(report.executions).toBeGreaterThan(1000);
  });
});
