import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFLATE_TAIL, type EngineResult, OUTPUT_LIMIT } from '../../extensions/index.js';
import { setZlibConcurrency, ZlibEngine, ZlibLimiter, zlibLimiter } from './zlib-engine.js';

const takeover = { compressWindowBits: 15, decompressWindowBits: 15, compressNoContextTakeover: false, decompressNoContextTakeover: false };
const noTakeover = { ...takeover, compressNoContextTakeover: true, decompressNoContextTakeover: true };
const tuning = { level: 6, memLevel: 8 };
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
});
