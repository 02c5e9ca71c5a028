/**
 * The zlib engine behind permessage-deflate in Node.js: raw DEFLATE on Node's asynchronous zlib
 * (never blocking the event loop), under ONE process-wide limit on concurrent zlib operations
 * (like ws's module-level limiter; `setZlibConcurrency` or the `concurrencyLimit` option sets it).
 * With context takeover a connection keeps one stream per direction; without it, operations
 * borrow streams from a small process-wide pool (reset after each message), so an idle connection
 * holds no zlib memory. Every operation's callback runs exactly once, also when the engine is
 * closed while it runs. It does not frame, strip tails or validate text: the RFC 7692 transform
 * in `src/extensions/` does that.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { DEFAULT_ZLIB_CONCURRENCY, ErrorCode, WebSocketError } from '../../core/index.js';
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

  /**
   * @param parameters - what the handshake agreed on
   * @param tuning - compression level and memory level
   */
  constructor(
    private readonly parameters: DeflateParameters,
    private readonly tuning: ZlibTuning,
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
    this.schedule(done, (complete) => {
      // Inflating with a window at least as large as the peer's is always correct; zlib's raw
      // inflate needs 9 bits or more.
      const windowBits = Math.max(9, this.parameters.decompressWindowBits);
      if (!this.parameters.decompressNoContextTakeover) {
        const inflater = (this.inflater ??= newInflater(windowBits));
        runInflate(inflater, data, tail, maxOutput, (result) => {
          if (!(result instanceof Uint8Array)) {
            // The context is lost with the message, and so is the connection.
            this.inflater = null;
            inflater.close();
          }
          complete(result);
        });
        return;
      }
      const inflater = idleInflaters.get(windowBits)?.pop() ?? newInflater(windowBits);
      runInflate(inflater, data, tail, maxOutput, (result) => {
        if (result instanceof Uint8Array) {
          inflater.reset();
          returnToPool(idleInflaters, windowBits, inflater);
        } else {
          inflater.close();
        }
        complete(result);
      });
    });
  }

  close(): void {
    this.closed = true;
    if (this.inFlight === 0) this.freeStreams();
  }

  private freeStreams(): void {
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }

  private schedule(done: (result: EngineResult) => void, work: (complete: (result: EngineResult) => void) => void): void {
    if (this.closed) {
      done(new WebSocketError(ErrorCode.InvalidState, 'connection closed'));
      return;
    }
    this.inFlight++;
    zlibLimiter.run(() => {
      let settled = false;
      const complete = (result: EngineResult) => {
        if (settled) return;
        settled = true;
        zlibLimiter.release();
        if (--this.inFlight === 0 && this.closed) this.freeStreams();
        done(result);
      };
      if (this.closed) complete(new WebSocketError(ErrorCode.InvalidState, 'connection closed'));
      else work(complete);
    });
  }
}

/** Compress `data` and end with a sync flush. */
function runDeflate(deflater: DeflateRaw, data: Uint8Array, done: (result: EngineResult) => void): void {
  runStream(deflater, data, null, Number.POSITIVE_INFINITY, done);
}

/** Inflate `data` then `tail`, stopping with {@link OUTPUT_LIMIT} as soon as the output passes `max`. */
function runInflate(inflater: InflateRaw, data: Uint8Array, tail: Uint8Array, max: number, done: (result: EngineResult) => void): void {
  runStream(inflater, data, tail, max, done);
}

/** Write `data` (and `tail`) through a zlib stream, flush, and collect the output once. */
function runStream(stream: DeflateRaw | InflateRaw, data: Uint8Array, tail: Uint8Array | null, max: number, done: (result: EngineResult) => void): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let finished = false;
  const finish = (result: EngineResult) => {
    if (finished) return;
    finished = true;
    stream.off('data', onData);
    stream.off('error', onError);
    done(result);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total > max) finish(OUTPUT_LIMIT);
    else chunks.push(chunk);
  };
  const onError = (error: Error) => finish((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError ? OUTPUT_LIMIT : error);
  stream.on('data', onData);
  stream.on('error', onError);
  stream.write(data);
  if (tail !== null) stream.write(tail);
  stream.flush(constants.Z_SYNC_FLUSH, () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
}
