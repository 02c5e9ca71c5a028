import { describe, expect, it } from 'vitest';
import { compare, DELIBERATE, makeDiffCase, observeOurs, observeWs, runDifferential } from './differential.js';

describe('differential fuzzing against ws (short run; `npm run fuzz:diff` for a campaign)', () => {
  it('20,000 generated client streams: every difference from ws is one of the documented deliberate ones', async () => {
    const report = await runDifferential({ seed: 20261202, iterations: 20_000, seconds: 60 });
    if (report.mismatch !== null) throw new Error(`case ${report.mismatch.i} differs from ws: ${JSON.stringify(report.mismatch)}`);
    expect(report.cases).toBe(20_000);
    // The streams reach every deliberate difference, and most agree outright.
    for (const name of Object.keys(DELIBERATE)) expect(report.deliberate[name as keyof typeof DELIBERATE] ?? 0, name).toBeGreaterThan(0);
    expect(report.same / report.cases).toBeGreaterThan(0.85);
  }, 90_000);

  it('reports a real difference as a mismatch (the comparison is not a catch-all)', async () => {
    // One masked text frame "hi", as both sides see it, against a made-up ws result.
    const frame = Uint8Array.of(0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69);
    const ours = observeOurs([new Uint8Array(frame)]);
    const ws = await observeWs([new Uint8Array(frame)]);
    expect(ours).toEqual({ outcomes: ['text 6869'], failure: null });
    expect(await compare(frame, ours, ws)).toEqual({ kind: 'same' });
    expect(await compare(frame, ours, { outcomes: ['text 6868'], failure: null })).toEqual({ kind: 'mismatch' });
    expect(await compare(frame, ours, { outcomes: [], failure: 1002 })).toEqual({ kind: 'mismatch' });
    expect(await compare(frame, { outcomes: [], failure: 1002, why: 'WS_ERR_MASK_REQUIRED: x' }, ws)).toEqual({ kind: 'mismatch' });
  });

  it('generates the same case for the same seed and index', () => {
    expect(Buffer.from(makeDiffCase(7, 42).input).equals(Buffer.from(makeDiffCase(7, 42).input))).toBe(true);
  });
});
