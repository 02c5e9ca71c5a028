import { describe, expect, it } from 'vitest';
import { Backoff, resolveBackoffOptions } from './backoff.js';

/** A random source that returns the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('Backoff', () => {
  it('defaults: 1 s floor, 30 s ceiling, factor 2, 10 s stable, unlimited retries', () => {
    const o = resolveBackoffOptions();
    expect([o.minDelay, o.maxDelay, o.factor, o.stableAfter, o.maxRetries]).toEqual([1000, 30_000, 2, 10_000, Number.POSITIVE_INFINITY]);
  });

  it('retry n waits between minDelay and min(maxDelay, minDelay * factor^n)', () => {
    const top = new Backoff({ minDelay: 100, maxDelay: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6].map(() => top.next())).toEqual([200, 400, 800, 1000, 1000, 1000]);
    const bottom = new Backoff({ minDelay: 100, maxDelay: 1000, random: () => 0 });
    expect([1, 2, 3].map(() => bottom.next())).toEqual([100, 100, 100]);
    const middle = new Backoff({ minDelay: 100, maxDelay: 10_000, factor: 3, random: () => 0.5 });
    // ceilings 300, 900, 2700: halfway between 100 and each
    expect([1, 2, 3].map(() => middle.next())).toEqual([200, 500, 1400]);
    expect(middle.retries).toBe(3);
  });

  it('gives up after maxRetries and keeps giving up', () => {
    const b = new Backoff({ minDelay: 10, maxRetries: 2, random: () => 0 });
    expect(b.next()).toBe(10);
    expect(b.next()).toBe(10);
    expect(b.next()).toBeNull();
    expect(b.next()).toBeNull();
    expect(b.retries).toBe(2);
    expect(new Backoff({ maxRetries: 0 }).next()).toBeNull();
  });

  it('resets only after a connection stayed open for stableAfter', () => {
    const b = new Backoff({ minDelay: 100, maxDelay: 100_000, stableAfter: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    b.opened(5000);
    b.closed(5999); // up 999 ms: not stable
    expect(b.next()).toBe(800);
    b.opened(10_000);
    b.closed(11_000); // up 1000 ms: stable
    expect(b.retries).toBe(0);
    expect(b.next()).toBe(200);
    b.closed(50_000); // a close without an open does not reset
    expect(b.retries).toBe(1);
  });

  it('Retry-After raises the delay, up to maxDelay, and never lowers it', () => {
    const b = new Backoff({ minDelay: 100, maxDelay: 5000, random: sequence(0, 0.999999, 0) });
    expect(b.next(2000)).toBe(2000);
    expect(b.next(10)).toBe(400);
    expect(b.next(60_000)).toBe(5000);
    expect(b.next(null)).toBe(100);
  });

  it('a random source out of range cannot produce a delay outside the bounds', () => {
    for (const r of [Number.NaN, -1, 2, Number.POSITIVE_INFINITY]) {
      const d = new Backoff({ minDelay: 100, maxDelay: 1000, random: () => r }).next()!;
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
  });

  it('rejects unknown keys and bad values', () => {
    expect(() => new Backoff({ minDelay: 0 })).toThrow(/minDelay/);
    expect(() => new Backoff({ minDelay: 500, maxDelay: 100 })).toThrow(/maxDelay/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/factor/);
    expect(() => new Backoff({ maxRetries: -1 })).toThrow(/maxRetries/);
    expect(() => new Backoff({ jitter: true } as never)).toThrow(/unknown option "jitter"/);
    expect(() => new Backoff({ random: 3 } as never)).toThrow(/random/);
    expect(new Backoff({ minDelay: 40_000 }).options.maxDelay).toBe(40_000);
  });
});
