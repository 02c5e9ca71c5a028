/**
 * The zlib side of permessage-deflate (RFC 7692 §7.2) for one connection. Compression and
 * decompression run on Node's asynchronous zlib (never blocking the event loop), one message at a
 * time per direction (so messages stay in order), with a process-wide limit on concurrent zlib
 * work. With context takeover a connection keeps one zlib stream per direction; without it,
 * messages borrow streams from a small process-wide pool (reset after each message), so the
 * connection holds no zlib memory between messages.
 * Inflation stops as soon as the output passes `maxPayload` (a few KB that expand to GBs are
 * never allocated whole). It neither frames nor validates text: the connection does that.
 */
import { constants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { ErrorCode, WebSocketError } from '../core/index.js';
import type { DeflateParameters } from '../extensions/index.js';

/** The 4 octets a sync flush ends with, removed from (and restored to) every message (§7.2.1, §7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Tuning of the codec. */
export interface DeflateCodecOptions {
  /** zlib compression level (0–9). */
  readonly level: number;
  /** zlib memory level (1–9): the compressor's hash table is 2^(memLevel + 9) bytes. */
  readonly memLevel: number;
  /** Largest decompressed message, in bytes. */
  readonly maxPayload: number;
  /** Shared limit of concurrent zlib operations. */
  readonly limiter: ZlibLimiter;
}

type Done = (error: Error | null, result?: Buffer) => void;

/** Runs at most `limit` zlib operations at once, process-wide; the rest wait in FIFO order. */
export class ZlibLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** @param limit - concurrent operations allowed */
  constructor(private readonly limit: number) {}

  /** Run `task` when a slot is free; it must call `release` exactly once when done. */
  run(task: (release: () => void) => void): void {
    if (this.running < this.limit) {
      this.running++;
      task(() => this.release());
    } else {
      this.waiting.push(() => task(() => this.release()));
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.running--;
  }
}

/** One direction's queue: operations of a connection run one after another, in order. */
class Serial {
  private busy = false;
  private readonly queue: ((finish: () => void) => void)[] = [];

  push(operation: (finish: () => void) => void): void {
    if (this.busy) {
      this.queue.push(operation);
      return;
    }
    this.busy = true;
    operation(() => this.next());
  }

  private next(): void {
    const operation = this.queue.shift();
    if (operation === undefined) this.busy = false;
    else operation(() => this.next());
  }
}

/** Idle zlib streams kept per configuration, shared by every connection without context takeover. */
const MAX_IDLE_STREAMS = 16;
const idleDeflaters = new Map<string, DeflateRaw[]>();
const idleInflaters = new Map<number, InflateRaw[]>();

/** permessage-deflate compression and decompression for one connection. */
export class DeflateCodec {
  private readonly parameters: DeflateParameters;
  private readonly options: DeflateCodecOptions;
  private deflater: DeflateRaw | null = null;
  private inflater: InflateRaw | null = null;
  private readonly outgoing = new Serial();
  private readonly incoming = new Serial();
  private closed = false;

  /**
   * @param parameters - what the handshake agreed on
   * @param options - zlib tuning, the decompression limit and the shared limiter
   */
  constructor(parameters: DeflateParameters, options: DeflateCodecOptions) {
    this.parameters = parameters;
    this.options = options;
  }

  /**
   * Whether this endpoint can compress at all. zlib cannot produce raw DEFLATE with a 256-byte
   * window, so when the peer limited us to 8 window bits every message is sent uncompressed,
   * which RFC 7692 always allows.
   */
  get canCompress(): boolean {
    return this.parameters.compressWindowBits > 8;
  }

  /** Compress one whole message; the result has the trailing 00 00 FF FF removed (§7.2.1). */
  compress(data: Buffer, done: Done): void {
    this.schedule(this.outgoing, done, (complete) => {
      const { level, memLevel } = this.options;
      const windowBits = this.parameters.compressWindowBits;
      if (!this.parameters.compressNoContextTakeover) {
        const deflater = (this.deflater ??= createDeflateRaw({ level, memLevel, windowBits }));
        runDeflate(deflater, data, (out) => complete(null, out));
        return;
      }
      // No context to keep: borrow a pooled stream and reset it afterwards, so the connection
      // holds no zlib memory between messages and no compressor is built per message.
      const key = `${windowBits}:${level}:${memLevel}`;
      const deflater = idleDeflaters.get(key)?.pop() ?? createDeflateRaw({ level, memLevel, windowBits });
      runDeflate(deflater, data, (out) => {
        deflater.reset();
        returnToPool(idleDeflaters, key, deflater);
        complete(null, out);
      });
    });
  }

  /**
   * Decompress one whole message (its frames' payloads joined). Fails with 1009 as soon as the
   * output passes `maxPayload`, and with 1007 for data that is not valid DEFLATE.
   */
  decompress(data: Buffer, done: Done): void {
    this.schedule(this.incoming, done, (complete) => {
      // Inflating with a window at least as large as the peer's is always correct; zlib's raw
      // inflate needs 9 bits or more.
      const windowBits = Math.max(9, this.parameters.decompressWindowBits);
      if (!this.parameters.decompressNoContextTakeover) {
        const inflater = (this.inflater ??= createInflateRaw({ windowBits }));
        runInflate(inflater, data, this.options.maxPayload, (error, out) => {
          if (error) {
            // The inflater's context is lost, and so is the connection.
            this.inflater = null;
            inflater.close();
          }
          complete(error, out);
        });
        return;
      }
      const inflater = idleInflaters.get(windowBits)?.pop() ?? createInflateRaw({ windowBits });
      runInflate(inflater, data, this.options.maxPayload, (error, out) => {
        if (error) {
          inflater.close();
        } else {
          inflater.reset();
          returnToPool(idleInflaters, windowBits, inflater);
        }
        complete(error, out);
      });
    });
  }

  /** Run `work` after this direction's earlier operations, inside the process-wide zlib limit. */
  private schedule(direction: Serial, done: Done, work: (complete: Done) => void): void {
    direction.push((finish) =>
      this.options.limiter.run((release) => {
        const complete: Done = (error, result) => {
          release();
          finish();
          done(error, result);
        };
        if (this.closed) complete(new WebSocketError(ErrorCode.InvalidState, 'connection closed'));
        else work(complete);
      }),
    );
  }

  /** Free the zlib streams; later operations fail. */
  close(): void {
    this.closed = true;
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = null;
    this.inflater = null;
  }
}

/** Return a reset stream to its pool, or close it when the pool is full. */
function returnToPool<K, S extends { close(): void }>(pool: Map<K, S[]>, key: K, stream: S): void {
  let idle = pool.get(key);
  if (idle === undefined) pool.set(key, (idle = []));
  if (idle.length < MAX_IDLE_STREAMS) idle.push(stream);
  else stream.close();
}

/** Compress `data` with a sync flush and hand back the output without its trailing 00 00 FF FF. */
function runDeflate(deflater: DeflateRaw, data: Buffer, done: (out: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const onData = (chunk: Buffer) => chunks.push(chunk);
  deflater.on('data', onData);
  deflater.write(data);
  deflater.flush(constants.Z_SYNC_FLUSH, () => {
    deflater.off('data', onData);
    done(withoutTail(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  });
}

/** Inflate `data` (with the 00 00 FF FF restored, §7.2.2), stopping as soon as the output passes `max`. */
function runInflate(inflater: InflateRaw, data: Buffer, max: number, done: Done): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let finished = false;
  const finish = (error: Error | null, out?: Buffer) => {
    if (finished) return;
    finished = true;
    inflater.off('data', onData);
    inflater.off('error', onError);
    done(error, out);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total > max) finish(new WebSocketError(ErrorCode.MessageTooBig, 'message too big'));
    else chunks.push(chunk);
  };
  const onError = (error: Error) => finish(inflateError(error));
  inflater.on('data', onData);
  inflater.on('error', onError);
  inflater.write(data);
  inflater.write(TAIL);
  inflater.flush(constants.Z_SYNC_FLUSH, () => finish(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
}

function withoutTail(out: Buffer): Buffer {
  const n = out.length;
  if (n >= 4 && out[n - 4] === 0x00 && out[n - 3] === 0x00 && out[n - 2] === 0xff && out[n - 1] === 0xff) return out.subarray(0, n - 4);
  return out;
}

function inflateError(error: Error): WebSocketError {
  if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
    return new WebSocketError(ErrorCode.MessageTooBig, 'message too big');
  }
  return new WebSocketError(ErrorCode.InvalidCompressedData, `invalid compressed data: ${error.message}`);
}
