import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type QueuedMessage, resolveSendQueueOptions, SendQueue } from './send-queue.js';

const operation = fc.oneof(
  { weight: 3, arbitrary: fc.record({ push: fc.string({ maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ shift: true as const }) },
);

describe('SendQueue properties', () => {
  it('never exceeds its bounds, keeps order, and accounts for every message exactly once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 40 }),
        fc.constantFrom('drop-oldest' as const, 'refuse-newest' as const),
        fc.array(operation, { maxLength: 80 }),
        (maxQueuedMessages, maxQueuedBytes, overflow, operations) => {
          const q = new SendQueue(resolveSendQueueOptions({ maxQueuedMessages, maxQueuedBytes, overflow }));
          const pushed: QueuedMessage[] = [];
          const taken: QueuedMessage[] = [];
          const lost: QueuedMessage[] = [];
          for (const op of operations) {
            if ('push' in op) {
              const message: QueuedMessage = { data: op.push, binary: false, compress: true, size: Buffer.byteLength(op.push), callback: undefined };
              pushed.push(message);
              const { accepted, dropped } = q.push(message);
              lost.push(...dropped);
              expect(accepted).toBe(!dropped.includes(message));
              if (overflow === 'refuse-newest') expect(dropped.length === 0 || (dropped.length === 1 && dropped[0] === message)).toBe(true);
            } else {
              const message = q.shift();
              if (message !== undefined) taken.push(message);
            }
            expect(q.length).toBeLessThanOrEqual(maxQueuedMessages);
            expect(q.bytes).toBeLessThanOrEqual(maxQueuedBytes);
          }
          const left = q.drain();
          expect(q.bytes).toBe(0);
          // Every message is taken, left or lost, once; taken-then-left keeps push order.
          const outcome = [...taken, ...left, ...lost];
          expect(outcome).toHaveLength(pushed.length);
          expect(new Set(outcome).size).toBe(pushed.length);
          const delivered = [...taken, ...left];
          const order = delivered.map((m) => pushed.indexOf(m));
          expect(order).toEqual([...order].sort((a, b) => a - b));
        },
      ),
    );
  });
});
