import { describe, expect, it } from 'vitest';
import { type QueuedMessage, resolveSendQueueOptions, SendQueue } from './send-queue.js';

const message = (data: string): QueuedMessage => ({ data, binary: false, compress: true, size: Buffer.byteLength(data), callback: undefined });
const texts = (items: readonly QueuedMessage[]) => items.map((m) => m.data);

describe('SendQueue', () => {
  it('defaults: 1,000 messages, 1 MiB, refuse the newest', () => {
    expect(resolveSendQueueOptions()).toEqual({ maxQueuedMessages: 1000, maxQueuedBytes: 1024 * 1024, overflow: 'refuse-newest' });
  });

  it('keeps order and counts bytes', () => {
    const q = new SendQueue(resolveSendQueueOptions());
    for (const t of ['a', 'bb', 'ccc']) expect(q.push(message(t))).toEqual({ accepted: true, dropped: [] });
    expect([q.length, q.bytes]).toEqual([3, 6]);
    expect(q.shift()?.data).toBe('a');
    expect(texts(q.drain())).toEqual(['bb', 'ccc']);
    expect([q.length, q.bytes, q.shift()]).toEqual([0, 0, undefined]);
  });

  it('refuse-newest hands back the new message and keeps the rest', () => {
    const q = new SendQueue(resolveSendQueueOptions({ maxQueuedMessages: 2 }));
    q.push(message('1'));
    q.push(message('2'));
    const third = message('3');
    expect(q.push(third)).toEqual({ accepted: false, dropped: [third] });
    expect(texts(q.drain())).toEqual(['1', '2']);
  });

  it('drop-oldest evicts as many old messages as the new one needs, by count and by bytes', () => {
    const q = new SendQueue(resolveSendQueueOptions({ maxQueuedMessages: 3, maxQueuedBytes: 10, overflow: 'drop-oldest' }));
    for (const t of ['aaa', 'bbb', 'ccc']) q.push(message(t));
    expect(texts(q.push(message('d')).dropped)).toEqual(['aaa']);
    expect(texts(q.push(message('eeeeeee')).dropped)).toEqual(['bbb', 'ccc']);
    expect(texts(q.drain())).toEqual(['d', 'eeeeeee']);
  });

  it('a message bigger than the whole queue is refused under either policy; 0 messages refuses all', () => {
    for (const overflow of ['drop-oldest', 'refuse-newest'] as const) {
      const q = new SendQueue(resolveSendQueueOptions({ maxQueuedBytes: 4, overflow }));
      q.push(message('ab'));
      expect(q.push(message('abcde')).accepted).toBe(false);
      expect(q.length).toBe(1);
    }
    expect(new SendQueue(resolveSendQueueOptions({ maxQueuedMessages: 0, overflow: 'drop-oldest' })).push(message('x')).accepted).toBe(false);
  });

  it('stays correct across many pushes and shifts (compaction)', () => {
    const q = new SendQueue(resolveSendQueueOptions({ maxQueuedMessages: 5000 }));
    const out: string[] = [];
    for (let i = 0; i < 4000; i++) {
      q.push(message(String(i)));
      if (i % 3 !== 0) out.push(q.shift()!.data as string);
    }
    out.push(...texts(q.drain()).map(String));
    expect(out.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    expect(out).toEqual(Array.from({ length: 4000 }, (_, i) => String(i)));
  });

  it('rejects unknown keys and bad values', () => {
    expect(() => resolveSendQueueOptions({ overflow: 'drop-newest' as never })).toThrow(/overflow/);
    expect(() => resolveSendQueueOptions({ maxQueuedMessages: -1 })).toThrow(/maxQueuedMessages/);
    expect(() => resolveSendQueueOptions({ size: 1 } as never)).toThrow(/unknown option "size"/);
  });
});
