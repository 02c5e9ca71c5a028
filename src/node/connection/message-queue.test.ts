import { describe, expect, it } from 'vitest';
import { MessageQueue, type ReadControl } from './message-queue.js';
import { PauseReason } from './pause-reasons.js';

class Reader implements ReadControl {
  reasons = 0;
  _pauseFor(reason: PauseReason): void {
    this.reasons |= reason;
  }
  _resumeFor(reason: PauseReason): void {
    this.reasons &= ~reason;
  }
}

describe('MessageQueue', () => {
  it('pauses reading at the limit and resumes at half of it', async () => {
    const reader = new Reader();
    const queue = new MessageQueue(reader, 4);
    for (let i = 0; i < 4; i++) queue.push(`m${i}`);
    expect(reader.reasons).toBe(PauseReason.IteratorFull);
    await queue.next();
    expect(reader.reasons).toBe(PauseReason.IteratorFull);
    await queue.next();
    expect(reader.reasons).toBe(0);
  });
  it('hands a message straight to a waiting loop and ends after the queued ones', async () => {
    const queue = new MessageQueue(new Reader(), 4);
    const waiting = queue.next();
    queue.push('now');
    expect(await waiting).toEqual({ value: 'now', done: false });
    queue.push('last');
    queue.end();
    expect(await queue.next()).toEqual({ value: 'last', done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });
  it('return() releases a paused reader', async () => {
    const reader = new Reader();
    const queue = new MessageQueue(reader, 1);
    queue.push('x');
    expect(reader.reasons).toBe(PauseReason.IteratorFull);
    await queue.return();
    expect(reader.reasons).toBe(0);
  });
});
