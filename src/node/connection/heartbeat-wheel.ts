/**
 * One timer for the heartbeats of all connections that share an interval, instead of a Node
 * timer per connection: a connection with heartbeats on holds one entry in a Set, not a
 * `Timeout` (and its arguments array) re-armed at every check. The wheel ticks four times per
 * interval and hands each member the time; the member decides (ping, or give up on a silent
 * peer). So a ping goes out after 1 to 1.25 intervals of silence, and a peer that answers nothing
 * is dropped 2 to 2.5 intervals after it last spoke. The timer is unref'd and stops when the last
 * member leaves. This module must not know about frames or sockets.
 */

/** What the wheel drives: a connection with heartbeats on. */
export interface HeartbeatMember {
  /** A tick: `now` is `Date.now()` read once for every member. */
  onHeartbeat(now: number): void;
}

/** Ticks per interval. */
const TICKS_PER_INTERVAL = 4;

class Wheel {
  readonly members = new Set<HeartbeatMember>();
  timer: NodeJS.Timeout | null = null;
  constructor(readonly interval: number) {}
}

const wheels = new Map<number, Wheel>();

/** Start driving `member`'s heartbeat every `interval` ms (until {@link leaveHeartbeat}). */
export function joinHeartbeat(member: HeartbeatMember, interval: number): void {
  let wheel = wheels.get(interval);
  if (wheel === undefined) {
    wheel = new Wheel(interval);
    wheels.set(interval, wheel);
  }
  wheel.members.add(member);
  if (wheel.timer === null) {
    wheel.timer = setInterval(tick, Math.max(1, Math.floor(interval / TICKS_PER_INTERVAL)), wheel);
    wheel.timer.unref();
  }
}

/** Stop driving `member` (a no-op when it is not a member). */
export function leaveHeartbeat(member: HeartbeatMember, interval: number): void {
  const wheel = wheels.get(interval);
  if (wheel === undefined || !wheel.members.delete(member) || wheel.members.size !== 0) return;
  clearInterval(wheel.timer!);
  wheels.delete(interval);
}

/** How many connections the wheels drive (for tests and stats). */
export function heartbeatMembers(): number {
  let count = 0;
  for (const wheel of wheels.values()) count += wheel.members.size;
  return count;
}

function tick(wheel: Wheel): void {
  const now = Date.now();
  let failure: unknown = null;
  // A member that ends during its tick leaves the Set; deleting while iterating is safe.
  for (const member of wheel.members) {
    try {
      member.onHeartbeat(now);
    } catch (error) {
      failure ??= error;
    }
  }
  // One member's failure does not stop the others' heartbeats; it is not swallowed either.
  if (failure !== null) throw failure;
}
