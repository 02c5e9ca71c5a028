import { afterEach, describe, expect, it, vi } from 'vitest';
import { heartbeatMembers, joinHeartbeat, leaveHeartbeat, type HeartbeatMember } from './heartbeat-wheel.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('heartbeat wheel', () => {
  it('ticks every member four times per interval with one timer, and stops when the last leaves', () => {
    vi.useFakeTimers();
    const ticks: number[][] = [[], []];
    const members: HeartbeatMember[] = ticks.map((log) => ({ onHeartbeat: (now) => log.push(now) }));
    for (const member of members) joinHeartbeat(member, 1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(ticks.map((log) => log.length)).toEqual([4, 4]);
    leaveHeartbeat(members[0]!, 1000);
    vi.advanceTimersByTime(500);
    expect(ticks.map((log) => log.length)).toEqual([4, 6]);
    leaveHeartbeat(members[1]!, 1000);
    expect(vi.getTimerCount()).toBe(0);
    expect(heartbeatMembers()).toBe(0);
    // Leaving twice, or a wheel that does not exist, is a no-op.
    leaveHeartbeat(members[1]!, 1000);
    leaveHeartbeat(members[1]!, 7);
  });

  it('keeps one wheel per interval', () => {
    vi.useFakeTimers();
    const a = { onHeartbeat: vi.fn() };
    const b = { onHeartbeat: vi.fn() };
    joinHeartbeat(a, 100);
    joinHeartbeat(b, 400);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(400);
    expect([a.onHeartbeat.mock.calls.length, b.onHeartbeat.mock.calls.length]).toEqual([16, 4]);
    leaveHeartbeat(a, 100);
    leaveHeartbeat(b, 400);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a member that leaves during its tick, or throws, does not stop the others', () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const leaving: HeartbeatMember = {
      onHeartbeat: () => {
        seen.push('leaving');
        leaveHeartbeat(leaving, 100);
      },
    };
    const throwing: HeartbeatMember = {
      onHeartbeat: () => {
        seen.push('throwing');
        throw new Error('member failed');
      },
    };
    const steady: HeartbeatMember = { onHeartbeat: () => seen.push('steady') };
    joinHeartbeat(leaving, 100);
    joinHeartbeat(throwing, 100);
    joinHeartbeat(steady, 100);
    expect(() => vi.advanceTimersByTime(25)).toThrow('member failed');
    expect(seen).toEqual(['leaving', 'throwing', 'steady']);
    leaveHeartbeat(throwing, 100);
    vi.advanceTimersByTime(25);
    expect(seen).toEqual(['leaving', 'throwing', 'steady', 'steady']);
    leaveHeartbeat(steady, 100);
    expect(vi.getTimerCount()).toBe(0);
  });
});
