import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

const settings = fc.record({
  minDelay: fc.integer({ min: 1, max: 10_000 }),
  extra: fc.integer({ min: 0, max: 100_000 }),
  factor: fc.double({ min: 1, max: 4, noNaN: true }),
});
const randoms = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 });

describe('Backoff properties', () => {
  it('every delay lies in [minDelay, min(maxDelay, minDelay * factor^n)]', () => {
    fc.assert(
      fc.property(settings, randoms, ({ minDelay, extra, factor }, values) => {
        let i = 0;
        const b = new Backoff({ minDelay, maxDelay: minDelay + extra, factor, random: () => values[i++]! });
        for (let n = 1; n <= values.length; n++) {
          const d = b.next()!;
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(minDelay);
          expect(d).toBeLessThanOrEqual(Math.ceil(Math.min(minDelay + extra, minDelay * factor ** n)));
        }
      }),
    );
  });

  it('with the same random draw, the delay never shrinks from one retry to the next', () => {
    fc.assert(
      fc.property(settings, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 2, max: 30 }), ({ minDelay, extra, factor }, r, n) => {
        const b = new Backoff({ minDelay, maxDelay: minDelay + extra, factor, random: () => r });
        let previous = 0;
        for (let k = 0; k < n; k++) {
          const d = b.next()!;
          expect(d).toBeGreaterThanOrEqual(previous);
          previous = d;
        }
      }),
    );
  });

  it('gives up exactly after maxRetries, and a stable connection restores them all', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5000 }), (maxRetries, stableAfter) => {
        const b = new Backoff({ minDelay: 1, maxRetries, stableAfter });
        for (let k = 0; k < maxRetries; k++) expect(b.next()).not.toBeNull();
        expect(b.next()).toBeNull();
        b.opened(1000);
        b.closed(1000 + stableAfter);
        for (let k = 0; k < maxRetries; k++) expect(b.next()).not.toBeNull();
        expect(b.next()).toBeNull();
      }),
    );
  });

  it('Retry-After is honoured up to maxDelay', () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 0, max: 200_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), ({ minDelay, extra, factor }, retryAfter, r) => {
        const maxDelay = minDelay + extra;
        const d = new Backoff({ minDelay, maxDelay, factor, random: () => r }).next(retryAfter)!;
        expect(d).toBeGreaterThanOrEqual(Math.min(retryAfter, maxDelay));
        expect(d).toBeLessThanOrEqual(maxDelay);
      }),
    );
  });
});
