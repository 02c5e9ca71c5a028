/**
 * The reconnecting client's offline send queue: messages accepted by `send` while no connection
 * is open wait here, in order, within two bounds (`maxQueuedMessages`, `maxQueuedBytes`). When a
 * message does not fit, the overflow policy decides: `'refuse-newest'` refuses the new message,
 * `'drop-oldest'` evicts the oldest ones until it fits. Either way the loser is handed back to the
 * caller, which reports it: nothing leaves this queue silently. It does no I/O, holds no timer,
 * and never calls a user callback itself.
 */
import { DEFAULT_SEND_QUEUE_BYTES, DEFAULT_SEND_QUEUE_MESSAGES, ErrorCode, WebSocketError } from '../../core/index.js';
import { integerOption, rejectUnknownKeys } from '../../core/options.js';

/** What happens to a message that does not fit. */
export type QueueOverflow = 'drop-oldest' | 'refuse-newest';

/** The `sendQueue` option of the reconnecting client. */
export interface SendQueueOptions {
  /** Messages held while offline (0: none; sends while offline are refused). Default 1,000. */
  maxQueuedMessages?: number;
  /** Payload bytes held while offline. Default 1 MiB. */
  maxQueuedBytes?: number;
  /** When full: refuse the new message (default) or drop the oldest ones to make room. */
  overflow?: QueueOverflow;
}

/** One message waiting for a connection. */
export interface QueuedMessage {
  /** The payload (a private copy when the caller passed bytes). */
  readonly data: string | Buffer;
  readonly binary: boolean;
  readonly compress: boolean;
  /** Payload size in bytes. */
  readonly size: number;
  /** The caller's send callback. */
  readonly callback: ((error?: Error | null) => void) | undefined;
}

/** Validated queue bounds. */
export interface ResolvedSendQueueOptions {
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly overflow: QueueOverflow;
}

const KEYS: ReadonlySet<string> = new Set(['maxQueuedMessages', 'maxQueuedBytes', 'overflow']);

/**
 * Validate the `sendQueue` option.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for an unknown key or a bad value
 */
export function resolveSendQueueOptions(options: SendQueueOptions = {}): ResolvedSendQueueOptions {
  if (typeof options !== 'object' || options === null) throw new WebSocketError(ErrorCode.InvalidArgument, 'option "sendQueue" must be an object');
  rejectUnknownKeys(options, KEYS, 'sendQueue');
  const overflow = options.overflow ?? 'refuse-newest';
  if (overflow !== 'drop-oldest' && overflow !== 'refuse-newest') {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'option "sendQueue.overflow" must be "drop-oldest" or "refuse-newest"');
  }
  return Object.freeze({
    maxQueuedMessages: integerOption(options.maxQueuedMessages, 'sendQueue.maxQueuedMessages', DEFAULT_SEND_QUEUE_MESSAGES, 0),
    maxQueuedBytes: integerOption(options.maxQueuedBytes, 'sendQueue.maxQueuedBytes', DEFAULT_SEND_QUEUE_BYTES, 0),
    overflow,
  });
}

/** The outcome of {@link SendQueue.push}. */
export interface PushResult {
  /** Whether the new message was queued. */
  readonly accepted: boolean;
  /** Messages that left the queue to make room (oldest first), or the refused new one. */
  readonly dropped: readonly QueuedMessage[];
}

/** A bounded FIFO of messages waiting for a connection. */
export class SendQueue {
  private items: QueuedMessage[] = [];
  /** Index of the first live item (shifting an array on every take is quadratic). */
  private headIndex = 0;
  private byteCount = 0;

  /** @param limits - validated bounds */
  constructor(readonly limits: ResolvedSendQueueOptions) {}

  /** Messages waiting. */
  get length(): number {
    return this.items.length - this.headIndex;
  }

  /** Payload bytes waiting. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Queue `message`, or refuse it, or drop older ones for it, as the overflow policy says. */
  push(message: QueuedMessage): PushResult {
    const { maxQueuedMessages, maxQueuedBytes, overflow } = this.limits;
    const fitsAlone = maxQueuedMessages >= 1 && message.size <= maxQueuedBytes;
    const fits = () => this.length + 1 <= maxQueuedMessages && this.byteCount + message.size <= maxQueuedBytes;
    if (!fits() && (overflow === 'refuse-newest' || !fitsAlone)) return { accepted: false, dropped: [message] };
    const dropped: QueuedMessage[] = [];
    while (!fits()) dropped.push(this.shift()!);
    this.items.push(message);
    this.byteCount += message.size;
    return { accepted: true, dropped };
  }

  /** Take the oldest message, or undefined when empty. */
  shift(): QueuedMessage | undefined {
    if (this.headIndex === this.items.length) return undefined;
    const message = this.items[this.headIndex]!;
    this.headIndex++;
    this.byteCount -= message.size;
    if (this.headIndex === this.items.length) {
      this.items = [];
      this.headIndex = 0;
    } else if (this.headIndex >= 1024 && this.headIndex * 2 >= this.items.length) {
      this.items = this.items.slice(this.headIndex);
      this.headIndex = 0;
    }
    return message;
  }

  /** Take every waiting message, oldest first, leaving the queue empty. */
  drain(): QueuedMessage[] {
    const all = this.items.slice(this.headIndex);
    this.items = [];
    this.headIndex = 0;
    this.byteCount = 0;
    return all;
  }
}
