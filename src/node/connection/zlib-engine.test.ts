import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFLATE_TAIL, type EngineResult, OUTPUT_LIMIT } from '../../extensions/index.js';
import { INFLATE_SLICE, setZlibConcurrency, ZlibEngine, ZlibLimiter, zlibLimiter } from './zlib-engine.js';

const takeover = { compressWindowBits: 15, decompressWindowBits: 15, compressNoContextTakeover: false, decompressNoContextTakeover: false };
const noTakeover = { ...takeover, compressNoContextTakeover: true, decompressNoContextTakeover: true };
const tuning = { level: 6, memLevel: 8 };
/** A message's payload as a permessage-deflate peer sends it: sync-flushed, the 4-byte tail removed. */
const compress = (data: Buffer) => deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
const run = (start: (done: (r: EngineResult) => void) => void) => new Promise<EngineResult>((resolve) => start(resolve));

describe('ZlibLimiter', () => {
  it('runs at most `limit` tasks and starts the next in FIFO order on release', () => {
    const limiter = new ZlibLimiter(2);
    const started: number[] = [];
    for (let i = 0; i < 5; i++) limiter.run(() => started.push(i));
    expect(started).toEqual([0, 1]);
    limiter.release();
    expect(started).toEqual([0, 1, 2]);
    limiter.setLimit(4);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.active).toBe(4);
  });
  it('setZlibConcurrency rejects anything but a positive integer', () => {
    expect(() => setZlibConcurrency(0)).toThrow(/positive integer/);
    expect(() => setZlibConcurrency(1.5)).toThrow(/positive integer/);
  });
});

describe('ZlibEngine', () => {
  it.each([
    ['with context takeover', takeover],
    ['without context takeover (pooled streams)', noTakeover],
  ])('round-trips messages %s', async (_name, parameters) => {
    const engine = new ZlibEngine(parameters, tuning);
    for (const text of ['hello', 'hello again', 'x'.repeat(100_000)]) {
      const compressed = (await run((done) => engine.deflate(Buffer.from(text), done))) as Buffer;
      expect(compressed.subarray(-4)).toEqual(Buffer.from(DEFLATE_TAIL));
      const inflated = (await run((done) => engine.inflate(compressed.subarray(0, -4), DEFLATE_TAIL, 1 << 20, done))) as Buffer;
      expect(inflated.toString()).toBe(text);
    }
    engine.close();
    expect(zlibLimiter.active).toBe(0);
  });
  it('stops inflating past the limit and reports invalid data', async () => {
    const engine = new ZlibEngine(noTakeover, tuning);
    const bomb = deflateRawSync(Buffer.alloc(1 << 20));
    expect(await run((done) => engine.inflate(bomb, DEFLATE_TAIL, 1000, done))).toBe(OUTPUT_LIMIT);
    expect(await run((done) => engine.inflate(Buffer.from([0xff, 0xfe, 0xfd]), DEFLATE_TAIL, 1000, done))).toBeInstanceOf(Error);
    engine.close();
  });
  it('settles an operation in flight exactly once when closed, and fails later ones', async () => {
    const engine = new ZlibEngine(takeover, tuning);
    let calls = 0;
    const inFlight = run((done) =>
      engine.deflate(Buffer.alloc(1 << 20, 1), (r) => {
        calls++;
        done(r);
      }),
    );
    engine.close();
    await inFlight;
    expect(calls).toBe(1);
    expect(await run((done) => engine.deflate(Buffer.from('late'), done))).toMatchObject({ code: 'WS_ERR_INVALID_STATE' });
    expect(zlibLimiter.active).toBe(0);
  });

  it('slices inflation: with one zlib slot, a small message finishes while a 48 MiB one is still inflating', async () => {
    setZlibConcurrency(1);
    try {
      const big = new ZlibEngine(noTakeover, tuning);
      const small = new ZlibEngine(noTakeover, tuning);
      const bomb = compress(Buffer.alloc(48 << 20));
      const order: string[] = [];
      const bigDone = run((done) => big.inflate(bomb, DEFLATE_TAIL, 64 << 20, (r) => (order.push('big'), done(r))));
      // Let the big one take the slot and produce its first slices.
      await new Promise((r) => setTimeout(r, 5));
      const smallDone = run((done) => small.inflate(compress(Buffer.from('honest')), DEFLATE_TAIL, 1000, (r) => (order.push('small'), done(r))));
      expect(((await smallDone) as Buffer).toString()).toBe('honest');
      expect(((await bigDone) as Buffer).length).toBe(48 << 20);
      expect(order).toEqual(['small', 'big']);
      big.close();
      small.close();
      expect(zlibLimiter.active).toBe(0);
    } finally {
      setZlibConcurrency(10);
    }
  });
  it('paces a connection over its inflate rate: 3 MiB at 2 MiB/s (1 s burst) takes about half a second', async () => {
    const engine = new ZlibEngine(takeover, tuning, 2 << 20);
    const start = Date.now();
    const out = (await run((done) => engine.inflate(compress(Buffer.alloc(3 << 20)), DEFLATE_TAIL, 64 << 20, done))) as Buffer;
    const elapsed = Date.now() - start;
    expect(out.length).toBe(3 << 20);
    // 1 MiB over the burst at 2 MiB/s is 500 ms, less the last slice (spent after the output is done).
    expect(elapsed).toBeGreaterThanOrEqual(500 - (INFLATE_SLICE / (2 << 20)) * 1000 - 20);
    expect(elapsed).toBeLessThan(2000);
    // The next message waits for the debt: the whole budget is spent.
    const t2 = Date.now();
    await run((done) => engine.inflate(compress(Buffer.from('x')), DEFLATE_TAIL, 1000, done));
    expect(Date.now() - t2).toBeGreaterThanOrEqual(INFLATE_SLICE / (2 << 20) * 1000 - 30);
    engine.close();
  });
  it('settles an inflation waiting out its pacing delay exactly once when closed, and leaves no slot taken', async () => {
    const engine = new ZlibEngine(noTakeover, tuning, 1 << 20);
    let calls = 0;
    const result = run((done) =>
      engine.inflate(compress(Buffer.alloc(4 << 20)), DEFLATE_TAIL, 64 << 20, (r) => {
        calls++;
        done(r);
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const closedAt = Date.now();
    engine.close();
    expect(await result).toMatchObject({ code: 'WS_ERR_INVALID_STATE' });
    expect(Date.now() - closedAt).toBeLessThan(50);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(1);
    expect(zlibLimiter.active).toBe(0);
  });
  it.each([
    ['with context takeover', takeover],
    ['without context takeover (pooled streams)', noTakeover],
  ])('a message ending in a final block (BFINAL) decodes, and neither the next message nor another connection breaks (%s)', async (_name, parameters) => {
    // Before: the pooled stream had ended, so the next connection to borrow it failed with
    // "push() after EOF"; with context takeover the next message came out empty.
    const engine = new ZlibEngine(parameters, tuning);
    const final = deflateRawSync(Buffer.from('final block'));
    expect(String(await run((done) => engine.inflate(final, DEFLATE_TAIL, 1000, done)))).toBe('final block');
    expect(String(await run((done) => engine.inflate(compress(Buffer.from('next')), DEFLATE_TAIL, 1000, done)))).toBe('next');
    const other = new ZlibEngine(parameters, tuning);
    expect(String(await run((done) => other.inflate(compress(Buffer.from('other')), DEFLATE_TAIL, 1000, done)))).toBe('other');
    engine.close();
    other.close();
  });
  it('fails bytes after a final block as invalid compressed data', async () => {
    const engine = new ZlibEngine(noTakeover, tuning);
    const result = await run((done) => engine.inflate(Buffer.concat([deflateRawSync(Buffer.from('x')), Buffer.from([1, 2, 3, 4, 5])]), DEFLATE_TAIL, 1000, done));
    expect(result).toMatchObject({ code: 'WS_ERR_INVALID_COMPRESSED_DATA' });
    engine.close();
  });
});
