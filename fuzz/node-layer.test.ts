import { describe, expect, it } from 'vitest';
import { describeFailure, fuzzNodeLayer } from './node-layer.js';

describe('node-layer fuzz (short run; `npm run fuzz` for a campaign)', () => {
  it('150 hostile connections, both roles: nothing throws into the event loop, every connection closes, the server still echoes', async () => {
    const report = await fuzzNodeLayer({ iterations: 150, seconds: 15, seed: 20261124 });
    if (report.failure) throw new Error(describeFailure(report));
    expect(report.iterations).toBe(150);
  }, 30_000);
});
