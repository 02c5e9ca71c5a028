import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputRateLimiter, PacingBucket } from './rate-limit.js';

const limits = { messagesPerSecond: 10, messageBurst: 5, bytesPerSecond: 1000, byteBurst: 2000, controlFramesPerSecond: 2, controlFrameBurst: 2, inflatedBytesPerSecond: 1000 };

describe('InputRateLimiter', () => {
  it('allows the burst, then the sustained rate', () => {
    const r = new InputRateLimiter(limits, 0);
    for (let i = 0; i < 5; i++) expect(r.message(1, 0)).toBeNull();
    expect(r.message(1, 0)).toBe('messages');
    // 100 ms at 10/s refills one message.
    expect(r.message(1, 100)).toBeNull();
    expect(r.message(1, 100)).toBe('messages');
  });
  it('limits bytes and control frames on their own', () => {
    const r = new InputRateLimiter(limits, 0);
    expect(r.message(1500, 0)).toBeNull();
    expect(r.message(600, 0)).toBe('bytes');
    expect(r.message(600, 100)).toBeNull();
    expect(r.controlFrame(0)).toBeNull();
    expect(r.controlFrame(0)).toBeNull();
    expect(r.controlFrame(0)).toBe('control frames');
    expect(r.controlFrame(600)).toBeNull();
  });
  it('never refills past the burst', () => {
    const r = new InputRateLimiter(limits, 0);
    for (let i = 0; i < 5; i++) r.message(1, 0);
    for (let i = 0; i < 5; i++) expect(r.message(1, 1_000_000)).toBeNull();
    expect(r.message(1, 1_000_000)).toBe('messages');
  });
});

describe('PacingBucket', () => {
  it('lets one second of work through, then asks to wait for the debt to refill', () => {
    const b = new PacingBucket(1000, 0);
    expect(b.spend(600, 0)).toBe(0);
    expect(b.spend(400, 0)).toBe(0);
    expect(b.spend(250, 0)).toBe(250);
    // 250 ms later the debt is paid: nothing to wait for, and the next 500 units are all debt.
    expect(b.spend(0, 250)).toBe(0);
    expect(b.spend(500, 250)).toBe(500);
  });
  it('never lets more than one burst plus the sustained rate through when its waits are honoured', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 200 }), (rate, pieces) => {
        const b = new PacingBucket(rate, 0);
        let now = 0;
        let done = 0;
        for (const units of pieces) {
          done += units;
          now += b.spend(units, now);
          // Once the wait is over, the work done is within one burst plus the rate over the time.
          expect(done).toBeLessThanOrEqual(rate + (rate * now) / 1000 + 1e-6);
        }
      }),
    );
  });
});
