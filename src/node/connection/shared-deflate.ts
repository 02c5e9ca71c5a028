/**
 * One permessage-deflate compression of a published message, shared by every subscriber whose
 * compressor starts afresh for each message (`server_no_context_takeover`) with the same window
 * bits: the message is compressed once, framed once, and the same bytes go to all of them. The
 * compression runs on the process's zlib engine (asynchronously, under its one limiter); each
 * subscriber's send pipeline waits for it in order. A failed compression hands back null, and
 * the waiting subscribers send the message uncompressed (RFC 7692 lets any message go
 * uncompressed). It does not decide who gets what: the publisher does.
 */
import { type PreparedFrame, prepareFrame } from '../../core/index.js';
import { PerMessageDeflateTransform } from '../../extensions/index.js';
import type { PendingFrame } from './outgoing-pipeline.js';
import { ZlibEngine, type ZlibTuning } from './zlib-engine.js';

/** A compression in progress or done; `whenReady` callbacks run once, in order. */
export class SharedDeflate implements PendingFrame {
  private frame: PreparedFrame | null | undefined = undefined;
  private waiters: ((frame: PreparedFrame | null) => void)[] = [];

  /**
   * Start compressing `message`.
   *
   * @param message - the whole message
   * @param binary - its type
   * @param windowBits - the compressor's window bits (the subscribers' shared key)
   * @param tuning - zlib level and memory level
   */
  constructor(message: Uint8Array, binary: boolean, windowBits: number, tuning: ZlibTuning) {
    const parameters = { compressWindowBits: windowBits, decompressWindowBits: 15, compressNoContextTakeover: true, decompressNoContextTakeover: true };
    const engine = new ZlibEngine(parameters, tuning);
    new PerMessageDeflateTransform(parameters, engine, 0).compress(message, (error, payload) => {
      engine.close();
      // "the Per-Message Compressed bit" is set on the first (here the only) frame (RFC 7692 §6).
      this.settle(error === null && payload !== undefined ? prepareFrame(payload, binary, 0x40, message.length) : null);
    });
  }

  /** Whether the compression has finished. */
  get ready(): boolean {
    return this.frame !== undefined;
  }

  /** The compressed frame (null when compression failed); only once {@link ready}. */
  get result(): PreparedFrame | null {
    return this.frame ?? null;
  }

  /** Run `callback` with the result: now if ready, else when it is. */
  whenReady(callback: (frame: PreparedFrame | null) => void): void {
    if (this.frame !== undefined) callback(this.frame);
    else this.waiters.push(callback);
  }

  private settle(frame: PreparedFrame | null): void {
    this.frame = frame;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(frame);
  }
}
