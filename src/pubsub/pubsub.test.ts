import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InProcessHub } from './backplane.js';
import { decodeEnvelope, encodeEnvelope, GapDetector, SequenceCounter } from './envelope.js';
import { TopicRegistry } from './topic-registry.js';
import { channelOf, checkTopic, isUserKey, keyOfChannel, userKey } from './topics.js';

describe('topics', () => {
  it('checks names and keeps user topics apart from chosen ones', () => {
    expect(checkTopic('room:1', 10)).toBe('room:1');
    for (const bad of ['', 'x'.repeat(11), 'a\0b', 7, null]) expect(() => checkTopic(bad, 10)).toThrow();
    expect(isUserKey(userKey('alice'))).toBe(true);
    expect(isUserKey('alice')).toBe(false);
    expect(channelOf('p:', 'room')).toBe('p:topic:room');
    expect(channelOf('p:', userKey('42'))).toBe('p:user:42');
  });
  it('maps every key to a channel and back', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.boolean(), fc.string(), (name, user, prefix) => {
        const key = user ? userKey(name) : name.replaceAll('\0', '_');
        expect(keyOfChannel(prefix, channelOf(prefix, key))).toBe(key);
      }),
    );
    expect(keyOfChannel('p:', 'other:topic:x')).toBeNull();
    expect(keyOfChannel('p:', 'p:topic:')).toBeNull();
  });
});

describe('TopicRegistry', () => {
  it('reports the first subscriber and the last, and holds nothing for a topic without subscribers', () => {
    const r = new TopicRegistry<string>();
    expect(r.add('t', 'a')).toBe('first');
    expect(r.add('t', 'b')).toBe('added');
    expect(r.add('t', 'b')).toBe('already');
    expect(r.count('t')).toBe(2);
    expect(r.remove('t', 'a')).toBe('removed');
    expect(r.remove('t', 'a')).toBe('absent');
    expect(r.remove('t', 'b')).toBe('last');
    expect(r.size).toBe(0);
    expect(r.subscribers('t')).toBeUndefined();
  });
});

describe('envelopes', () => {
  it('round-trip, and anything else decodes to null', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{0,32}$/), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.boolean(), fc.boolean(), fc.uint8Array(), (origin, sequence, binary, compress, payload) => {
        const decoded = decodeEnvelope(encodeEnvelope(origin, sequence, binary, compress, payload));
        expect(decoded).toEqual({ origin, sequence, binary, compress, payload });
      }),
    );
    expect(decodeEnvelope(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toBeNull();
    expect(decodeEnvelope(Uint8Array.of(1, 0, 200, 0))).toBeNull();
  });
  it('sequence numbers count per channel; gaps and stale envelopes are counted per origin and channel', () => {
    const counter = new SequenceCounter();
    expect([counter.take('a'), counter.take('a'), counter.take('b')]).toEqual([1, 2, 1]);
    // Past 65,536 channels the table starts over in a new generation (a new origin for receivers).
    for (let i = 0; i < 65_534; i++) counter.take(`c${i}`);
    expect(counter.generation).toBe(0);
    expect(counter.take('one too many')).toBe(1);
    expect(counter.generation).toBe(1);
    expect(counter.take('a')).toBe(1);
    const seen = new GapDetector();
    expect(seen.observe('a', 'x', 1)).toBe(true);
    expect(seen.observe('a', 'x', 2)).toBe(true);
    expect(seen.observe('a', 'x', 5)).toBe(true);
    expect(seen.gaps).toBe(2);
    expect(seen.observe('a', 'x', 4)).toBe(false);
    expect(seen.stale).toBe(1);
    // Another origin, another channel: their own counts. A duplicate of the first is stale too.
    expect(seen.observe('a', 'y', 9)).toBe(true);
    expect(seen.observe('b', 'x', 3)).toBe(true);
    expect(seen.observe('a', 'x', 1)).toBe(false);
    expect(seen.gaps).toBe(2);
    seen.forget('a');
    expect(seen.observe('a', 'x', 100)).toBe(true);
    expect(seen.gaps).toBe(2);
  });
});

describe('InProcessHub', () => {
  it('delivers to the members subscribed to a channel, the publisher included, asynchronously and in order', async () => {
    const hub = new InProcessHub();
    const got: string[][] = [[], [], []];
    const members = got.map((box) => {
      const b = hub.backplane();
      b.attach({ message: (channel, envelope) => box.push(`${channel}:${String.fromCharCode(...envelope)}`), status: () => undefined });
      return b;
    });
    members[0]!.subscribe('c');
    members[1]!.subscribe('c');
    expect(members[2]!.publish('c', Uint8Array.of(0x61))).toBe(true);
    members[0]!.publish('c', Uint8Array.of(0x62));
    expect(got).toEqual([[], [], []]);
    await Promise.resolve();
    await Promise.resolve();
    expect(got).toEqual([['c:a', 'c:b'], ['c:a', 'c:b'], []]);
    await members[1]!.close();
    expect(members[1]!.up).toBe(false);
    expect(members[1]!.publish('c', Uint8Array.of(0x63))).toBe(false);
  });
});
