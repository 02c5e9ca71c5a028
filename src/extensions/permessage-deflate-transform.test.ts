import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type DeflateEngine, DEFLATE_TAIL, type EngineResult, OUTPUT_LIMIT, PerMessageDeflateTransform } from './permessage-deflate-transform.js';
import type { DeflateParameters } from './permessage-deflate.js';

const params: DeflateParameters = { compressWindowBits: 15, decompressWindowBits: 15, compressNoContextTakeover: true, decompressNoContextTakeover: true };

/** A synchronous engine on zlib's one-shot functions (real DEFLATE, no streams). */
class OneShotEngine implements DeflateEngine {
  inflated: Uint8Array[] = [];
  deflate(data: Uint8Array, done: (result: EngineResult) => void): void {
    done(deflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ }));
  }
  inflate(data: Uint8Array, tail: Uint8Array, maxOutput: number, done: (result: EngineResult) => void): void {
    const input = Buffer.concat([data, tail]);
    this.inflated.push(input);
    try {
      const out = inflateRawSync(input, { finishFlush: 2, maxOutputLength: maxOutput + 1 });
      done(out.length > maxOutput ? OUTPUT_LIMIT : out);
    } catch (error) {
      done((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? OUTPUT_LIMIT : (error as Error));
    }
  }
  close(): void {}
}

describe('RFC 7692 §7.2 transform', () => {
  it('removes the 00 00 ff ff tail when compressing (§7.2.1) and restores it when decompressing (§7.2.2)', () => {
    const engine = new OneShotEngine();
    const transform = new PerMessageDeflateTransform(params, engine, 1 << 20);
    let payload: Uint8Array | undefined;
    transform.compress(Buffer.from('Hello'), (error, data) => {
      expect(error).toBeNull();
      payload = data;
    });
    // RFC 7692 §7.2.3.1: "Hello" compressed without context is f2 48 cd c9 c9 07 00.
    expect(Buffer.from(payload!).toString('hex')).toBe('f248cdc9c90700');
    transform.decompress(payload!, (error, data) => {
      expect(error).toBeNull();
      expect(Buffer.from(data!).toString()).toBe('Hello');
    });
    expect(Buffer.from(engine.inflated[0]!.subarray(-4))).toEqual(Buffer.from(DEFLATE_TAIL));
  });
  it('fails with 1009 past the limit and 1007 for invalid data', () => {
    const transform = new PerMessageDeflateTransform(params, new OneShotEngine(), 1000);
    const bomb = deflateRawSync(Buffer.alloc(100_000), { finishFlush: 2 }).subarray(0, -4);
    transform.decompress(bomb, (error) => expect(error).toMatchObject({ code: 'WS_ERR_MESSAGE_TOO_BIG', closeCode: 1009 }));
    transform.decompress(Buffer.from([0xff, 0xff, 0xff]), (error) => expect(error).toMatchObject({ code: 'WS_ERR_INVALID_COMPRESSED_DATA', closeCode: 1007 }));
  });
  it('does not compress when the peer allowed only an 8-bit window', () => {
    expect(new PerMessageDeflateTransform({ ...params, compressWindowBits: 8 }, new OneShotEngine(), 10).canCompress).toBe(false);
    expect(new PerMessageDeflateTransform(params, new OneShotEngine(), 10).rsv).toBe(0x40);
  });
});
