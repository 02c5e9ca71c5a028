/**
 * The async iterator of a connection's messages (`for await (const message of ws)`): messages
 * wait here until the loop takes them, and reading pauses (a {@link PauseReason.IteratorFull})
 * while `limit` are waiting, so a slow consumer is backpressure, not memory. It ends when the
 * connection closes or the loop breaks out. It does no I/O itself.
 */
import { PauseReason } from './pause-reasons.js';

/** A message as the iterator yields it: text as a string, binary as a Buffer or ArrayBuffer. */
export type IteratedMessage = string | Buffer | ArrayBuffer;

/** What the queue needs from its connection. */
export interface ReadControl {
  _pauseFor(reason: PauseReason): void;
  _resumeFor(reason: PauseReason): void;
}

/** Messages waiting for an async iterator, with inbound backpressure. */
export class MessageQueue implements AsyncIterableIterator<IteratedMessage> {
  private readonly items: IteratedMessage[] = [];
  private waiting: ((result: IteratorResult<IteratedMessage>) => void) | null = null;
  private ended = false;
  private full = false;

  /**
   * @param reader - the connection whose reading pauses while the queue is full
   * @param limit - messages that may wait before reading pauses
   */
  constructor(
    private readonly reader: ReadControl,
    private readonly limit: number,
  ) {}

  /** Add a message (ignored once the iterator ended). */
  push(message: IteratedMessage): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting({ value: message, done: false });
      return;
    }
    this.items.push(message);
    if (!this.full && this.items.length >= this.limit) {
      this.full = true;
      this.reader._pauseFor(PauseReason.IteratorFull);
    }
  }

  /** The connection closed: the loop ends after the messages already waiting. */
  end(): void {
    this.ended = true;
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting({ value: undefined, done: true });
    }
    this.release();
  }

  next(): Promise<IteratorResult<IteratedMessage>> {
    const message = this.items.shift();
    if (message !== undefined) {
      if (this.full && this.items.length <= this.limit >> 1) this.release();
      return Promise.resolve({ value: message, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<IteratedMessage>> {
    this.ended = true;
    this.items.length = 0;
    this.release();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IteratedMessage> {
    return this;
  }

  private release(): void {
    if (!this.full) return;
    this.full = false;
    this.reader._resumeFor(PauseReason.IteratorFull);
  }
}
