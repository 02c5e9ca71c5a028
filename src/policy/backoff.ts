/**
 * The reconnection backoff policy, sans-I/O: how long a client waits before each new attempt.
 * Retry n (1, 2, ...) waits a uniformly random time between `minDelay` and
 * min(`maxDelay`, `minDelay` × `factor`^n): exponential growth with full jitter above the floor,
 * so a crowd of clients that lost one server at the same moment spreads its returns instead of
 * arriving together. A server's `Retry-After` raises a delay to at least that long (up to
 * `maxDelay`). The count resets once a connection stayed open for `stableAfter`, and the policy
 * gives up after `maxRetries` retries in a row. It only computes: it holds no timer and reads no
 * clock (callers pass `now` in, from any monotonic clock), and the random source is injectable so
 * tests are deterministic. It must not know about sockets, close codes or HTTP: which endings
 * deserve a retry is `retry.ts`'s job.
 */
import {
  DEFAULT_RECONNECT_FACTOR,
  DEFAULT_RECONNECT_MAX_DELAY,
  DEFAULT_RECONNECT_MAX_RETRIES,
  DEFAULT_RECONNECT_MIN_DELAY,
  DEFAULT_RECONNECT_STABLE_AFTER,
  ErrorCode,
  WebSocketError,
} from '../core/index.js';
import { integerOption, rejectUnknownKeys } from '../core/options.js';

/** Settings of a {@link Backoff}; every one has a default. */
export interface BackoffOptions {
  /** Shortest wait before a retry, in ms (the floor of every delay). Default 1,000. */
  minDelay?: number;
  /** Longest wait before a retry, in ms (the ceiling of every delay, `Retry-After` included). Default 30,000. */
  maxDelay?: number;
  /** Growth of the ceiling per retry (≥ 1). Default 2. */
  factor?: number;
  /** A connection that stayed open this many ms resets the retry count. Default 10,000. */
  stableAfter?: number;
  /** Retries in a row before giving up (0: never retry). Default unlimited. */
  maxRetries?: number;
  /** Uniform random numbers in [0, 1). Default `Math.random`; inject one in tests. */
  random?: () => number;
}

/** Backoff settings after validation. */
export interface ResolvedBackoffOptions {
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly stableAfter: number;
  readonly maxRetries: number;
  readonly random: () => number;
}

const KEYS: ReadonlySet<string> = new Set(['minDelay', 'maxDelay', 'factor', 'stableAfter', 'maxRetries', 'random']);
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Validate backoff settings and fill in the defaults.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for an unknown key or a value out of range
 */
export function resolveBackoffOptions(options: BackoffOptions = {}): ResolvedBackoffOptions {
  if (typeof options !== 'object' || options === null) throw new WebSocketError(ErrorCode.InvalidArgument, 'option "backoff" must be an object');
  rejectUnknownKeys(options, KEYS, 'backoff');
  const minDelay = integerOption(options.minDelay, 'backoff.minDelay', DEFAULT_RECONNECT_MIN_DELAY, 1, MAX_TIMER);
  const maxDelay = integerOption(options.maxDelay, 'backoff.maxDelay', Math.max(DEFAULT_RECONNECT_MAX_DELAY, minDelay), minDelay, MAX_TIMER);
  const factor = options.factor ?? DEFAULT_RECONNECT_FACTOR;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new WebSocketError(ErrorCode.InvalidArgument, `option "backoff.factor" must be a finite number ≥ 1, got ${String(factor)}`);
  }
  // Infinity (the default) is the one non-integer allowed: never give up.
  const maxRetries =
    options.maxRetries === undefined || options.maxRetries === Number.POSITIVE_INFINITY
      ? DEFAULT_RECONNECT_MAX_RETRIES
      : integerOption(options.maxRetries, 'backoff.maxRetries', DEFAULT_RECONNECT_MAX_RETRIES, 0);
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new WebSocketError(ErrorCode.InvalidArgument, 'option "backoff.random" must be a function');
  return Object.freeze({
    minDelay,
    maxDelay,
    factor,
    stableAfter: integerOption(options.stableAfter, 'backoff.stableAfter', DEFAULT_RECONNECT_STABLE_AFTER, 0, MAX_TIMER),
    maxRetries,
    random,
  });
}

/**
 * One client's backoff state: the retries made since the last stable connection.
 *
 * @example
 * const backoff = new Backoff({ minDelay: 500 });
 * const delay = backoff.next();        // null: give up
 */
export class Backoff {
  /** The validated settings. */
  readonly options: ResolvedBackoffOptions;
  private retryCount = 0;
  private openedAt: number | null = null;

  /**
   * @param options - settings (validated here)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for invalid settings
   */
  constructor(options: BackoffOptions = {}) {
    this.options = resolveBackoffOptions(options);
  }

  /** Retries counted since the last reset (the attempt number of the latest retry). */
  get retries(): number {
    return this.retryCount;
  }

  /**
   * The ceiling of retry `n` (1-based): min(`maxDelay`, `minDelay` × `factor`^n).
   */
  ceiling(n: number): number {
    const { minDelay, maxDelay, factor } = this.options;
    return Math.min(maxDelay, minDelay * factor ** n);
  }

  /**
   * Count one more retry and return how long to wait before it, in whole ms; or null when
   * `maxRetries` retries were made already (give up; the count is not changed).
   *
   * @param retryAfter - a server's `Retry-After`, in ms: the delay is at least this (capped at `maxDelay`)
   */
  next(retryAfter?: number | null): number | null {
    const { minDelay, maxDelay, maxRetries, random } = this.options;
    if (this.retryCount >= maxRetries) return null;
    this.retryCount++;
    const ceiling = this.ceiling(this.retryCount);
    let r = random();
    // A broken random source must not produce a negative, NaN or out-of-range delay.
    if (!(r >= 0)) r = 0;
    else if (r > 1) r = 1;
    let delay = Math.round(minDelay + r * (ceiling - minDelay));
    if (retryAfter !== undefined && retryAfter !== null && retryAfter > delay) delay = Math.min(Math.ceil(retryAfter), maxDelay);
    return delay;
  }

  /** A connection opened at `now` (ms on any monotonic clock). */
  opened(now: number): void {
    this.openedAt = now;
  }

  /** The open connection closed at `now`: the count resets when it stayed open for `stableAfter`. */
  closed(now: number): void {
    if (this.openedAt !== null && now - this.openedAt >= this.options.stableAfter) this.retryCount = 0;
    this.openedAt = null;
  }

  /** Forget every retry made. */
  reset(): void {
    this.retryCount = 0;
    this.openedAt = null;
  }
}
