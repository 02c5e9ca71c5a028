import { describe, expect, it } from 'vitest';
import { seedCorpus } from './corpus-seeds.js';
import { loadCorpus, runFuzz } from './runner.js';

describe('fuzz (short run; `npm run fuzz` for a campaign)', () => {
  it('the committed corpus matches the seed definitions', () => {
    const committed = loadCorpus();
    expect(committed.length).toBe(seedCorpus().size);
  });

  it('breaks no invariant over the corpus and 20,000 mutated inputs', () => {
    const report = runFuzz({ iterations: 20_000, seconds: 40, seed: 20261123 });
    if (report.crash) {
      throw new Error(`${report.crash.target} broke an invariant: ${String(report.crash.error)}; input ${Buffer.from(report.crash.input).toString('hex')} cuts ${JSON.stringify(report.crash.cuts)}`);
    }
    expect(report.executions).toBeGreaterThan(1000);
  });
});
