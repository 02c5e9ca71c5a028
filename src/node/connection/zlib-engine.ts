/**
 * The zlib engine behind permessage-deflate in Node.js: raw DEFLATE on Node's asynchronous zlib
 * (never blocking the event loop), under ONE process-wide limit on concurrent zlib operations
 * (like ws's module-level limiter; `setZlibConcurrency` or the `concurrencyLimit` option sets it).
 * With context takeover a connection keeps one stream per direction; without it, operations
 * borrow streams from a small process-wide pool (reset after each message), so an idle connection
 * holds no zlib memory. Decompression is sliced and paced: after every {@link INFLATE_SLICE} of
 * output an inflation gives its slot to the next waiting operation (so a bomb cannot hold honest
 * messages behind it for longer than a few slices), and a connection over its inflate rate waits
 * before its next slice. Every operation's callback runs exactly once, also when the engine is
 * closed while it runs or waits. It does not frame, strip tails or validate text: the RFC 7692
 * transform in `src/extensions/` does that.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { DEFAULT_ZLIB_CONCURRENCY, ErrorCode, WebSocketError } from '../../core/index.js';
import { PacingBucket } from '../../policy/index.js';
import { type DeflateEngine, type DeflateParameters, type EngineResult, OUTPUT_LIMIT } from '../../extensions/index.js';

/** Runs at most `limit` operations at once; the rest wait in FIFO order. */
export class ZlibLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** @param limit - operations allowed to run at once */
  constructor(private limit: number) {}

  /** Change the limit; a raised one lets waiting operations start now. */
  setLimit(limit: number): void {
    this.limit = limit;
    this.startWaiting();
  }

  /** Operations running now (for tests and monitoring). */
  get active(): number {
    return this.running;
  }

  /** Run `task` when a slot is free; it must call `release` exactly once. */
  run(task: () => void): void {
    if (this.running < this.limit) {
      this.running++;
      task();
    } else {
      this.waiting.push(task);
    }
  }

  /** Give a slot back; the oldest waiting task takes it. */
  release(): void {
    this.running--;
    this.startWaiting();
  }

  private startWaiting(): void {
    while (this.running < this.limit && this.waiting.length !== 0) {
      this.running++;
      this.waiting.shift()!();
    }
  }
}

/** The one limiter of this process. */
export const zlibLimiter = new ZlibLimiter(DEFAULT_ZLIB_CONCURRENCY);

/**
 * Set how many zlib operations may run at once in this process (default 10). Applies to every
 * connection, of every server and client.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` unless `limit` is a positive integer
 */
export function setZlibConcurrency(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new WebSocketError(ErrorCode.InvalidArgument, 'zlib concurrency must be a positive integer');
  zlibLimiter.setLimit(limit);
}

/** zlib tuning of the compressor. */
export interface ZlibTuning {
  readonly level: number;
  readonly memLevel: number;
}

/**
 * Output an inflation produces before it goes to the back of the zlib queue: 256 KiB (about a
 * quarter of a millisecond of zlib work here). An honest message waits behind at most one slice
 * per operation ahead of it, never behind a whole bomb.
 */
export const INFLATE_SLICE = 256 * 1024;

const MAX_IDLE_STREAMS = 16;
const idleDeflaters = new Map<string, DeflateRaw[]>();
const idleInflaters = new Map<number, InflateRaw[]>();

/** Streams keep a listener for late errors (after a message gave up on them), which must never crash the process. */
function newDeflater(level: number, memLevel: number, windowBits: number): DeflateRaw {
  return createDeflateRaw({ level, memLevel, windowBits }).on('error', ignore);
}
function newInflater(windowBits: number): InflateRaw {
  return createInflateRaw({ windowBits }).on('error', ignore);
}
function ignore(): void {}

function returnToPool<K, S extends { close(): void }>(pool: Map<K, S[]>, key: K, stream: S): void {
  let idle = pool.get(key);
  if (idle === undefined) pool.set(key, (idle = []));
  if (idle.length < MAX_IDLE_STREAMS) idle.push(stream);
  else stream.close();
}

/** Node.js zlib for one connection's permessage-deflate. */
export class ZlibEngine implements DeflateEngine {
  private deflater: DeflateRaw | null = null;
  private inflater: InflateRaw | null = null;
  private inFlight = 0;
  private closed = false;
  /** Inflate budget, made on the first paced slice. */
  private pacer: PacingBucket | null = null;
  /** The next slice may not start before this time (ms). */
  private pacedUntil = 0;
  /** Ends the inflation waiting out its pacing delay, when one does (for close()). */
  private abortPacingWait: (() => void) | null = null;

  /**
   * @param parameters - what the handshake agreed on
   * @param tuning - compression level and memory level
   * @param inflatedBytesPerSecond - decompressed bytes per second this connection may produce (0: unpaced)
   */
  constructor(
    private readonly parameters: DeflateParameters,
    private readonly tuning: ZlibTuning,
    private readonly inflatedBytesPerSecond = 0,
  ) {}

  deflate(data: Uint8Array, done: (result: EngineResult) => void): void {
    this.schedule(done, (complete) => {
      const { level, memLevel } = this.tuning;
      const windowBits = this.parameters.compressWindowBits;
      if (!this.parameters.compressNoContextTakeover) {
        const deflater = (this.deflater ??= newDeflater(level, memLevel, windowBits));
        runDeflate(deflater, data, complete);
        return;
      }
      const key = `${windowBits}:${level}:${memLevel}`;
      const deflater = idleDeflaters.get(key)?.pop() ?? newDeflater(level, memLevel, windowBits);
      runDeflate(deflater, data, (result) => {
        if (result instanceof Error) deflater.close();
        else {
          deflater.reset();
          returnToPool(idleDeflaters, key, deflater);
        }
        complete(result);
      });
    });
  }

  inflate(data: Uint8Array, tail: Uint8Array, maxOutput: number, done: (result: EngineResult) => void): void {
    this.schedule(done, (complete, slicer) => {
      // Inflating with a window at least as large as the peer's is always correct; zlib's raw
      // inflate needs 9 bits or more.
      const windowBits = Math.max(9, this.parameters.decompressWindowBits);
      if (!this.parameters.decompressNoContextTakeover) {
        const inflater = (this.inflater ??= newInflater(windowBits));
        runInflate(inflater, data, tail, maxOutput, slicer!, (result, ended) => {
          if (!(result instanceof Uint8Array) || ended) {
            // A failed message loses the context (and the connection); a final block ends the
            // stream, and the next message starts a new one.
            this.inflater = null;
            inflater.close();
          }
          complete(result);
        });
        return;
      }
      const inflater = idleInflaters.get(windowBits)?.pop() ?? newInflater(windowBits);
      runInflate(inflater, data, tail, maxOutput, slicer!, (result, ended) => {
        // A stream that saw a final block has ended for good: pooling it would fail the next
        // connection to borrow it.
        if (result instanceof Uint8Array && !ended) {
          inflater.reset();
          returnToPool(idleInflaters, windowBits, inflater);
        } else {
          inflater.close();
        }
        complete(result);
      });
    }, true);
  }

  close(): void {
    this.closed = true;
    this.abortPacingWait?.();
    if (this.inFlight === 0) this.freeStreams();
  }

  private freeStreams(): void {
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }

  /**
   * Run `work` in a zlib slot. Deflations (no `slicer` asked for) keep the slot to the end;
   * inflations get a {@link Slicer} to give it up between slices and to account their output.
   */
  private schedule(done: (result: EngineResult) => void, work: (complete: (result: EngineResult) => void, slicer: Slicer | null) => void, sliced = false): void {
    if (this.closed) {
      done(closedError());
      return;
    }
    this.inFlight++;
    let settled = false;
    let holding = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const complete = (result: EngineResult) => {
      if (settled) return;
      settled = true;
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
        this.abortPacingWait = null;
      }
      if (holding) {
        holding = false;
        zlibLimiter.release();
      }
      if (--this.inFlight === 0 && this.closed) this.freeStreams();
      done(result);
    };
    // Wait out the pacing delay (if any), then queue for a slot; `then(false)` when the engine closed meanwhile.
    const acquire = (then: (open: boolean) => void) => {
      const wait = sliced ? this.pacedUntil - Date.now() : 0;
      if (wait > 0) {
        this.abortPacingWait = () => {
          clearTimeout(timer!);
          timer = null;
          this.abortPacingWait = null;
          then(false);
        };
        timer = setTimeout(() => {
          timer = null;
          this.abortPacingWait = null;
          acquire(then);
        }, wait);
        return;
      }
      zlibLimiter.run(() => {
        if (settled) {
          zlibLimiter.release();
          return;
        }
        holding = true;
        then(!this.closed);
      });
    };
    const slicer: Slicer | null = sliced
      ? {
          spend: (units) => this.spend(units),
          yieldSlot: (resume) => {
            holding = false;
            zlibLimiter.release();
            acquire(resume);
          },
        }
      : null;
    acquire((open) => (open ? work(complete, slicer) : complete(closedError())));
  }

  /** Account inflated output against the connection's rate; sets when the next slice may start. */
  private spend(units: number): void {
    const rate = this.inflatedBytesPerSecond;
    if (rate === 0) return;
    const now = Date.now();
    const wait = (this.pacer ??= new PacingBucket(rate, now)).spend(units, now);
    this.pacedUntil = now + wait;
  }
}

function closedError(): WebSocketError {
  return new WebSocketError(ErrorCode.InvalidState, 'connection closed');
}

/** How a sliced operation gives up its zlib slot between slices and accounts its output. */
interface Slicer {
  /** Account `units` bytes of output. */
  spend(units: number): void;
  /** Release the slot; `resume(true)` runs once the operation has one again (after any pacing delay), `resume(false)` if the engine closed meanwhile. */
  yieldSlot(resume: (open: boolean) => void): void;
}

/** Compress `data` and end with a sync flush. */
function runDeflate(deflater: DeflateRaw, data: Uint8Array, done: (result: EngineResult) => void): void {
  runStream(deflater, data, null, Number.POSITIVE_INFINITY, null, done);
}

/**
 * Inflate `data` then `tail` in slices, stopping with {@link OUTPUT_LIMIT} as soon as the output
 * passes `max`. `ended` says the data held a final block (BFINAL), after which zlib takes no more
 * input: the stream is finished. Only the appended tail may follow a final block.
 */
function runInflate(inflater: InflateRaw, data: Uint8Array, tail: Uint8Array, max: number, slicer: Slicer, done: (result: EngineResult, ended: boolean) => void): void {
  const before = inflater.bytesWritten;
  runStream(inflater, data, tail, max, slicer, (result) => {
    const consumed = inflater.bytesWritten - before;
    if (!(result instanceof Uint8Array) || consumed === data.length + tail.length) {
      done(result, false);
    } else if (consumed < data.length) {
      done(new WebSocketError(ErrorCode.InvalidCompressedData, 'data after the final DEFLATE block'), true);
    } else {
      done(result, true);
    }
  });
}

/**
 * Write `data` (and `tail`) through a zlib stream, flush, and collect the output once. With a
 * `slicer`, the stream is paused after each slice of output (zlib stops at its buffer's high-water
 * mark) until the operation has a slot again.
 */
function runStream(stream: DeflateRaw | InflateRaw, data: Uint8Array, tail: Uint8Array | null, max: number, slicer: Slicer | null, done: (result: EngineResult) => void): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let sinceSlice = 0;
  let flushed = false;
  let finished = false;
  const finish = (result: EngineResult) => {
    if (finished) return;
    finished = true;
    if (!(result instanceof Uint8Array)) chunks.length = 0;
    stream.off('data', onData);
    stream.off('error', onError);
    // A stream kept or pooled for the next message must not stay paused.
    if (stream.isPaused()) stream.resume();
    if (slicer !== null && sinceSlice !== 0) slicer.spend(sinceSlice);
    done(result);
  };
  // Closing a stream that gave up calls the pending flush back (with an error): never join the
  // output of an operation that already finished (a bomb's chunks are megabytes).
  const succeed = () => {
    if (!finished) finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total > max) {
      finish(OUTPUT_LIMIT);
      return;
    }
    chunks.push(chunk);
    // Output buffered while paused can still be arriving after zlib's flush finished.
    if (flushed) {
      if (stream.readableLength === 0) succeed();
      return;
    }
    if (slicer === null) return;
    sinceSlice += chunk.length;
    if (sinceSlice < INFLATE_SLICE) return;
    slicer.spend(sinceSlice);
    sinceSlice = 0;
    stream.pause();
    slicer.yieldSlot((open) => {
      if (!open) finish(closedError());
      else if (!finished) stream.resume();
    });
  };
  const onError = (error: Error) => finish((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError ? OUTPUT_LIMIT : error);
  stream.on('data', onData);
  stream.on('error', onError);
  stream.write(data);
  if (tail !== null) stream.write(tail);
  stream.flush(constants.Z_SYNC_FLUSH, () => {
    flushed = true;
    if (stream.readableLength === 0) succeed();
  });
}
