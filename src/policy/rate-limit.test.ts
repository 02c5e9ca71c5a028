import { describe, expect, it } from 'vitest';
import { InputRateLimiter } from './rate-limit.js';

const limits = { messagesPerSecond: 10, messageBurst: 5, bytesPerSecond: 1000, byteBurst: 2000, controlFramesPerSecond: 2, controlFrameBurst: 2 };

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
