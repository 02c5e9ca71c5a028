/**
 * The ordered send pipeline of one connection (ws's sender queue): while a message is being
 * compressed, every later send (compressed or not, published frames included) and a requested
 * close wait behind it, so messages reach the wire in the order they were accepted and the close
 * frame after all of them. Compression is asynchronous (this connection's own, or a published
 * message's compression shared with other connections); everything else is handed to the core at
 * once. Each job's callback settles exactly once: written, or an error when the connection ended
 * first. It holds no memory while idle (the job list is made on first use) and does no socket I/O.
 */
import type { PreparedFrame, WebSocketError } from '../../core/index.js';
import type { PerMessageDeflateTransform } from '../../extensions/index.js';

/** A frame being made elsewhere (a compression shared by many connections, see `SharedDeflate`). */
export interface PendingFrame {
  readonly ready: boolean;
  /** The frame, or null when making it failed; only once `ready`. */
  readonly result: PreparedFrame | null;
  /** Run `callback` once ready (now, if it is). */
  whenReady(callback: () => void): void;
}

/** Completion callback of a send. */
/** A send callback (ws's shape): called once, with no argument on success or with the error. */
export type SendCallback = (error?: Error) => void;

/** What the pipeline hands its results to (the connection). */
export interface OutgoingSink {
  /** Queue one message (or fragment) in the core; if the core can no longer send, the callback gets the error. */
  writeMessage(bytes: Uint8Array, binary: boolean, fin: boolean, rsv: number, callback: SendCallback | undefined): void;
  /** Queue the close frame that waited behind the messages. */
  writeClose(code: number | undefined, reason: string | Uint8Array): void;
  /** Queue a published message's prepared frame (`topic` names it if it must be dropped). */
  writePrepared(frame: PreparedFrame, topic: string): void;
  /** Fail a callback (on the next tick). */
  rejectSend(callback: SendCallback | undefined, error?: WebSocketError): void;
  /** Nothing waits any more: write what is queued (a held close reply may go now). */
  pipelineIdle(): void;
}

interface Job {
  readonly bytes: Uint8Array;
  readonly binary: boolean;
  readonly fin: boolean;
  readonly compress: boolean;
  readonly callback: SendCallback | undefined;
  /** A close request rather than a message. */
  readonly close: boolean;
  readonly code: number | undefined;
  readonly reason: string | Uint8Array;
  /** A published message: its frame ready to write... */
  readonly prepared: PreparedFrame | null;
  /** ...or a compression of it shared with other connections (`bytes` go uncompressed if it fails). */
  readonly shared: PendingFrame | null;
  /** The published message's topic. */
  readonly topic: string;
}

const NO_BYTES = new Uint8Array(0);

/** Sends waiting behind a message being compressed, in order. */
export class OutgoingPipeline {
  private jobs: Job[] | null = null;
  private compressing = false;
  private waitingBytes = 0;
  private closeRequested = false;

  /**
   * @param sink - where finished messages go
   * @param transform - permessage-deflate, or null when it was not negotiated
   * @param threshold - messages smaller than this many bytes are sent uncompressed
   */
  constructor(
    private readonly sink: OutgoingSink,
    /** The message transform the pipeline compresses with. */
    readonly transform: PerMessageDeflateTransform | null,
    readonly threshold = 0,
  ) {}

  /** Whether anything waits (then every new send must wait too, to keep the order). */
  get busy(): boolean {
    return this.jobs !== null;
  }

  /** Payload bytes waiting here. */
  get bytes(): number {
    return this.waitingBytes;
  }

  /** Whether a close waits behind the messages (the connection counts as closing). */
  get closing(): boolean {
    return this.closeRequested;
  }

  /** Whether the last message accepted (queued here) is an unfinished fragment. */
  get lastUnfinished(): boolean | null {
    const jobs = this.jobs;
    if (jobs === null) return null;
    for (let i = jobs.length - 1; i >= 0; i--) if (!jobs[i]!.close) return !jobs[i]!.fin;
    return null;
  }

  /** Add a message; it is compressed when `compress` is true. */
  push(bytes: Uint8Array, binary: boolean, fin: boolean, compress: boolean, callback: SendCallback | undefined): void {
    (this.jobs ??= []).push({ bytes, binary, fin, compress, callback, close: false, code: undefined, reason: '', prepared: null, shared: null, topic: '' });
    this.waitingBytes += bytes.length;
    if (!this.compressing) this.run();
  }

  /**
   * Add a published message: a prepared frame, or a shared compression of `bytes` (sent
   * uncompressed if the compression fails).
   */
  pushPublished(topic: string, prepared: PreparedFrame | null, shared: PendingFrame | null, bytes: Uint8Array, binary: boolean): void {
    (this.jobs ??= []).push({ bytes, binary, fin: true, compress: false, callback: undefined, close: false, code: undefined, reason: '', prepared, shared, topic });
    this.waitingBytes += bytes.length;
    if (!this.compressing) this.run();
  }

  /** Add a close request behind the queued messages. */
  pushClose(code: number | undefined, reason: string | Uint8Array): void {
    this.closeRequested = true;
    (this.jobs ??= []).push({ bytes: NO_BYTES, binary: false, fin: true, compress: false, callback: undefined, close: true, code, reason, prepared: null, shared: null, topic: '' });
    if (!this.compressing) this.run();
  }

  /** The connection is gone: fail every waiting callback. */
  abort(error: WebSocketError): void {
    const jobs = this.jobs;
    this.jobs = null;
    this.waitingBytes = 0;
    if (jobs === null) return;
    for (const job of jobs) if (!job.close) this.sink.rejectSend(job.callback, error);
  }

  private run(): void {
    while (this.jobs !== null && this.jobs.length !== 0) {
      const job = this.jobs[0]!;
      if (job.close) {
        this.shift(job);
        this.sink.writeClose(job.code, job.reason);
        continue;
      }
      if (job.prepared !== null) {
        this.shift(job);
        this.sink.writePrepared(job.prepared, job.topic);
        continue;
      }
      if (job.shared !== null) {
        const shared = job.shared;
        if (shared.ready) {
          this.shift(job);
          const frame = shared.result;
          if (frame !== null) this.sink.writePrepared(frame, job.topic);
          else this.sink.writeMessage(job.bytes, job.binary, true, 0, undefined);
          continue;
        }
        this.compressing = true;
        shared.whenReady(() => {
          this.compressing = false;
          if (this.jobs !== null) this.run();
        });
        return;
      }
      if (!job.compress || this.transform === null) {
        this.shift(job);
        this.sink.writeMessage(job.bytes, job.binary, job.fin, 0, job.callback);
        continue;
      }
      this.compressing = true;
      const transform = this.transform;
      transform.compress(job.bytes, (error, payload) => {
        this.compressing = false;
        if (this.jobs === null) return; // aborted: the callback was failed already
        this.shift(job);
        if (error !== null || payload === undefined) this.sink.rejectSend(job.callback, error ?? undefined);
        // "the Per-Message Compressed bit" is set on the first frame only (RFC 7692 §6).
        else this.sink.writeMessage(payload, job.binary, true, transform.rsv, job.callback);
        this.run();
      });
      return;
    }
    if (this.jobs !== null) {
      this.jobs = null;
      this.sink.pipelineIdle();
    }
  }

  private shift(job: Job): void {
    this.jobs!.shift();
    this.waitingBytes -= job.bytes.length;
  }
}
