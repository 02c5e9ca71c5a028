/**
 * Options that govern one open connection, for either role: message and frame limits (ws's
 * `maxPayload` name included), the close, heartbeat and idle timers, and the outbound and inbound
 * backpressure thresholds. Validated once into a frozen, fully-defaulted object that every
 * connection of a server shares, so a connection costs no per-connection option copy.
 */
import {
  DEFAULT_BYTES_PER_SECOND,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_CONTROL_FRAME_BURST,
  DEFAULT_CONTROL_FRAMES_PER_SECOND,
  DEFAULT_INFLATED_BYTES_PER_SECOND,
  DEFAULT_MESSAGE_BURST,
  DEFAULT_MESSAGES_PER_SECOND,
  ErrorCode,
  WebSocketError,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_MAX_QUEUED_MESSAGES,
  DEFAULT_STALLED_INPUT_TIMEOUT,
  DEFAULT_STALLED_OUTPUT_TIMEOUT,
} from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import type { RateLimits } from '../../policy/index.js';

/** The `rateLimit` option: rates and bursts (any left out keep their defaults), and what to do with data over the limit. */
export interface RateLimitOptions extends Partial<RateLimits> {
  /** Over a data limit: `'close'` the connection with 1008 (default) or `'drop'` the message. Control frames over their limit always close. */
  overflow?: 'close' | 'drop';
}

/** Per-connection settings, with their defaults. */
export interface ConnectionOptions {
  /** Largest incoming message, in bytes (ws's name for it). Default 100 MiB, as in ws. Bigger messages fail with 1009. */
  maxPayload?: number;
  /** Largest incoming frame, in bytes. Default: `maxPayload`. */
  maxFrameSize?: number;
  /** Most frames in one incoming message, empty ones included. Default 1,048,576. */
  maxFragments?: number;
  /** How long to wait for the closing handshake (and the peer's TCP close) before destroying the socket, in ms. Default 10,000. */
  closeTimeout?: number;
  /** Ping after this many ms with nothing received (anything received is proof of life); terminate the connection when nothing arrives for as long again after the ping (0: off). Default 0. */
  heartbeatInterval?: number;
  /** Close (1001) a connection that neither sent nor received anything for this many ms (0: off). Default 0. */
  idleTimeout?: number;
  /** `send()` returns false, and `'drain'` follows, once this many bytes wait to be written. Default 1 MiB. */
  highWaterMark?: number;
  /**
   * Past this many bytes waiting, a peer that takes none of them for a whole
   * `stalledOutputTimeout` window (30 s when that option is 0) is not reading: the connection is
   * terminated (`WS_ERR_BUFFER_LIMIT`). The size alone never cuts a peer that reads. Default 64 MiB.
   */
  maxBufferedAmount?: number;
  /** Messages queued for an async iterator before the socket stops reading. Default 64. */
  maxQueuedMessages?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Split outgoing messages into frames of at most this many bytes (0: never). Default 0. */
  fragmentSize?: number;
  /** Fail (1008) a frame or fragmented message left incomplete with nothing received for this many ms (0: off). Default 30,000. */
  stalledInputTimeout?: number;
  /** Terminate a connection whose peer took none of our buffered output for this many ms, checked once per period (0: off). Default 30,000. */
  stalledOutputTimeout?: number;
  /** Input rate limits (token buckets), or `false` for none. Default on (see README). */
  rateLimit?: RateLimitOptions | false;
  /**
   * Do not check that incoming text is UTF-8 (ws's option): only for peers known to send valid
   * text, since RFC 6455 §8.1 requires the check. Default false.
   */
  skipUTF8Validation?: boolean;
  /**
   * ws's option: whether several 'message', 'ping' and 'pong' events may be emitted in one turn of
   * the event loop. Default true (ws's default since 8.17). With false each of them gets its own
   * turn (reading pauses meanwhile), so promises resolved by one listener settle before the next
   * event, as with ws's old default.
   */
  allowSynchronousEvents?: boolean;
  /** ws's option. Accepted for compatibility: memory per message is bounded by `maxPayload` and `maxFragments`. */
  maxBufferedChunks?: number;
  /** ws's option. Accepted for compatibility: pending automatic pongs are always bounded (16, the newest replacing the last). */
  maxPendingAutoPongs?: number;
}

/** Fully defaulted connection settings. */
export type ResolvedConnectionOptions = Readonly<Required<Omit<ConnectionOptions, 'rateLimit' | 'maxBufferedChunks' | 'maxPendingAutoPongs'>>> & {
  /** Resolved rate limits, or null when off. */
  readonly rateLimit: RateLimits | null;
  /** What happens to a data message over its limit. */
  readonly rateLimitOverflow: 'close' | 'drop';
};

/** Keys of {@link ConnectionOptions}, for unknown-key checks of the options objects that include them. */
export const CONNECTION_OPTION_KEYS: readonly string[] = [
  'maxPayload',
  'maxFrameSize',
  'maxFragments',
  'closeTimeout',
  'heartbeatInterval',
  'idleTimeout',
  'highWaterMark',
  'maxBufferedAmount',
  'maxQueuedMessages',
  'autoPong',
  'fragmentSize',
  'rateLimit',
  'stalledInputTimeout',
  'stalledOutputTimeout',
  'skipUTF8Validation',
  'allowSynchronousEvents',
  'maxBufferedChunks',
  'maxPendingAutoPongs',
];

const RATE_KEYS: ReadonlySet<string> = new Set([
  'messagesPerSecond',
  'messageBurst',
  'bytesPerSecond',
  'byteBurst',
  'controlFramesPerSecond',
  'controlFrameBurst',
  'inflatedBytesPerSecond',
  'overflow',
]);

function resolveRateLimit(value: RateLimitOptions | false | undefined, maxPayload: number): RateLimits | null {
  if (value === false) return null;
  const o = value ?? {};
  if (typeof o !== 'object' || o === null) throw new WebSocketError(ErrorCode.InvalidArgument, 'option "rateLimit" must be an object or false');
  rejectUnknownKeys(o, RATE_KEYS, 'rateLimit');
  if (o.overflow !== undefined && o.overflow !== 'close' && o.overflow !== 'drop') {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'option "rateLimit.overflow" must be "close" or "drop"');
  }
  return Object.freeze({
    messagesPerSecond: integerOption(o.messagesPerSecond, 'rateLimit.messagesPerSecond', DEFAULT_MESSAGES_PER_SECOND, 1),
    messageBurst: integerOption(o.messageBurst, 'rateLimit.messageBurst', DEFAULT_MESSAGE_BURST, 1),
    bytesPerSecond: integerOption(o.bytesPerSecond, 'rateLimit.bytesPerSecond', DEFAULT_BYTES_PER_SECOND, 1),
    byteBurst: integerOption(o.byteBurst, 'rateLimit.byteBurst', Math.max(2 * maxPayload, 1), 1),
    controlFramesPerSecond: integerOption(o.controlFramesPerSecond, 'rateLimit.controlFramesPerSecond', DEFAULT_CONTROL_FRAMES_PER_SECOND, 1),
    controlFrameBurst: integerOption(o.controlFrameBurst, 'rateLimit.controlFrameBurst', DEFAULT_CONTROL_FRAME_BURST, 1),
    inflatedBytesPerSecond: integerOption(o.inflatedBytesPerSecond, 'rateLimit.inflatedBytesPerSecond', DEFAULT_INFLATED_BYTES_PER_SECOND, 1),
  });
}

const MAX_TIMER = 2 ** 31 - 1;

/** Check ws's options this library accepts without needing them; returns `skipUTF8Validation`. */
function acceptedCompat(options: ConnectionOptions): boolean {
  integerOption(options.maxBufferedChunks, 'maxBufferedChunks', 0, 0);
  integerOption(options.maxPendingAutoPongs, 'maxPendingAutoPongs', 0, 0);
  return booleanOption(options.skipUTF8Validation, 'skipUTF8Validation', false);
}

/**
 * Validate and default connection options.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a value of the wrong type or range
 */
export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  const maxPayload = integerOption(options.maxPayload, 'maxPayload', DEFAULT_MAX_PAYLOAD, 0);
  return Object.freeze({
    maxPayload,
    maxFrameSize: integerOption(options.maxFrameSize, 'maxFrameSize', maxPayload, 0),
    maxFragments: integerOption(options.maxFragments, 'maxFragments', DEFAULT_MAX_FRAGMENTS, 1),
    closeTimeout: integerOption(options.closeTimeout, 'closeTimeout', DEFAULT_CLOSE_TIMEOUT, 1, MAX_TIMER),
    heartbeatInterval: integerOption(options.heartbeatInterval, 'heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL, 0, MAX_TIMER),
    idleTimeout: integerOption(options.idleTimeout, 'idleTimeout', DEFAULT_IDLE_TIMEOUT, 0, MAX_TIMER),
    highWaterMark: integerOption(options.highWaterMark, 'highWaterMark', DEFAULT_HIGH_WATER_MARK, 1),
    maxBufferedAmount: integerOption(options.maxBufferedAmount, 'maxBufferedAmount', DEFAULT_MAX_BUFFERED_AMOUNT, 1),
    maxQueuedMessages: integerOption(options.maxQueuedMessages, 'maxQueuedMessages', DEFAULT_MAX_QUEUED_MESSAGES, 1),
    autoPong: booleanOption(options.autoPong, 'autoPong', true),
    fragmentSize: integerOption(options.fragmentSize, 'fragmentSize', 0, 0),
    stalledInputTimeout: integerOption(options.stalledInputTimeout, 'stalledInputTimeout', DEFAULT_STALLED_INPUT_TIMEOUT, 0, MAX_TIMER),
    stalledOutputTimeout: integerOption(options.stalledOutputTimeout, 'stalledOutputTimeout', DEFAULT_STALLED_OUTPUT_TIMEOUT, 0, MAX_TIMER),
    rateLimit: resolveRateLimit(options.rateLimit, maxPayload),
    rateLimitOverflow: options.rateLimit === false ? 'close' : (options.rateLimit?.overflow ?? 'close'),
    allowSynchronousEvents: booleanOption(options.allowSynchronousEvents, 'allowSynchronousEvents', true),
    skipUTF8Validation: acceptedCompat(options),
  });
}
