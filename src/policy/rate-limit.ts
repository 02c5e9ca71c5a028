/**
 * Per-connection rate limits, sans-I/O: token buckets for data messages, data bytes and control
 * frames (pings and pongs), each with a sustained rate per second and a burst, and a pacing bucket
 * for decompression work (bytes inflated per second), which answers "wait this long" instead of
 * "over the limit". The caller passes the clock (milliseconds), so the buckets are deterministic
 * in tests. Buckets are made only when a connection first receives something, so an idle
 * connection holds none. No timers, no Node.js APIs.
 */

/** Rates (per second) and bursts of one connection's input. */
export interface RateLimits {
  /** Data messages per second, sustained. */
  readonly messagesPerSecond: number;
  /** Data messages allowed at once above the sustained rate. */
  readonly messageBurst: number;
  /** Data payload bytes per second, sustained. */
  readonly bytesPerSecond: number;
  /** Data payload bytes allowed at once (at least one largest message). */
  readonly byteBurst: number;
  /** Pings and pongs per second, sustained. */
  readonly controlFramesPerSecond: number;
  /** Pings and pongs allowed at once. */
  readonly controlFrameBurst: number;
  /**
   * Bytes of decompressed output per second a connection's permessage-deflate may produce,
   * sustained, with one second's worth as the burst. Over it, inflation pauses (and with it the
   * connection's reading) until the budget refills: the connection is slowed, not closed.
   */
  readonly inflatedBytesPerSecond: number;
}

/** Which limit a frame broke, or null when it fits. */
export type RateVerdict = null | 'messages' | 'bytes' | 'control frames';

/** The three buckets of one connection. */
export class InputRateLimiter {
  private messages: number;
  private bytes: number;
  private control: number;
  private last: number;

  /**
   * @param limits - rates and bursts (shared by every connection of a server)
   * @param now - the clock, in ms
   */
  constructor(
    private readonly limits: RateLimits,
    now: number,
  ) {
    this.messages = limits.messageBurst;
    this.bytes = limits.byteBurst;
    this.control = limits.controlFrameBurst;
    this.last = now;
  }

  /** Account one data message of `size` bytes received at `now`. */
  message(size: number, now: number): RateVerdict {
    this.refill(now);
    if (this.messages < 1) return 'messages';
    if (this.bytes < size) return 'bytes';
    this.messages -= 1;
    this.bytes -= size;
    return null;
  }

  /** Account one ping or pong received at `now`. */
  controlFrame(now: number): RateVerdict {
    this.refill(now);
    if (this.control < 1) return 'control frames';
    this.control -= 1;
    return null;
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    const l = this.limits;
    const seconds = elapsed / 1000;
    this.messages = Math.min(l.messageBurst, this.messages + seconds * l.messagesPerSecond);
    this.bytes = Math.min(l.byteBurst, this.bytes + seconds * l.bytesPerSecond);
    this.control = Math.min(l.controlFrameBurst, this.control + seconds * l.controlFramesPerSecond);
  }
}

/**
 * A pacing token bucket: work is always allowed, but a bucket in debt says how long to wait
 * before the next piece of work, so the sustained rate never passes `perSecond` (plus one burst).
 */
export class PacingBucket {
  private tokens: number;
  private last: number;

  /**
   * @param perSecond - sustained units per second (the burst is one second's worth)
   * @param now - the clock, in ms
   */
  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  /** Account `units` of work done at `now`; returns the ms to wait before the next piece (0: go on). */
  spend(units: number, now: number): number {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.last = now;
      this.tokens = Math.min(this.perSecond, this.tokens + (elapsed / 1000) * this.perSecond);
    }
    this.tokens -= units;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }
}
