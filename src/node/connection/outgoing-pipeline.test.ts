import { describe, expect, it } from 'vitest';
import { type PreparedFrame, prepareFrame, type WebSocketError } from '../../core/index.js';
import { type DeflateEngine, type EngineResult, PerMessageDeflateTransform } from '../../extensions/index.js';
import { OutgoingPipeline, type OutgoingSink, type PendingFrame, type SendCallback } from './outgoing-pipeline.js';

/** An engine whose deflate completes when the test says so (uppercases the text, adds the tail). */
class ManualEngine implements DeflateEngine {
  pending: (() => void)[] = [];
  deflate(data: Uint8Array, done: (result: EngineResult) => void): void {
    this.pending.push(() => done(Buffer.concat([Buffer.from(Buffer.from(data).toString().toUpperCase()), Buffer.from([0, 0, 0xff, 0xff])])));
  }
  inflate(): void {
    throw new Error('not used');
  }
  close(): void {}
  finishOne(): void {
    this.pending.shift()!();
  }
}

class RecordingSink implements OutgoingSink {
  log: string[] = [];
  idle = 0;
  writeMessage(bytes: Uint8Array, _binary: boolean, fin: boolean, rsv: number): void {
    this.log.push(`${Buffer.from(bytes).toString()}${rsv ? '(rsv1)' : ''}${fin ? '' : '…'}`);
  }
  writeClose(code: number | undefined): void {
    this.log.push(`close ${code}`);
  }
  writePrepared(frame: PreparedFrame, topic: string): void {
    this.log.push(`${topic}: ${frame.byteLength} bytes${frame.rsv ? ' (rsv1)' : ''}`);
  }
  rejectSend(callback: SendCallback | undefined, error?: WebSocketError): void {
    this.log.push(`rejected ${error?.code ?? ''}`);
    callback?.(error);
  }
  pipelineIdle(): void {
    this.idle++;
  }
}

const params = { compressWindowBits: 15, decompressWindowBits: 15, compressNoContextTakeover: true, decompressNoContextTakeover: true };

describe('OutgoingPipeline', () => {
  it('keeps send order across compressed and plain messages, and the close after them', () => {
    const engine = new ManualEngine();
    const sink = new RecordingSink();
    const pipeline = new OutgoingPipeline(sink, new PerMessageDeflateTransform(params, engine, 1000));
    pipeline.push(Buffer.from('a'), false, true, true, undefined);
    pipeline.push(Buffer.from('b'), false, true, false, undefined);
    pipeline.pushClose(1000, '');
    expect(pipeline.busy).toBe(true);
    expect(pipeline.closing).toBe(true);
    expect(pipeline.bytes).toBe(2);
    expect(sink.log).toEqual([]);
    engine.finishOne();
    expect(sink.log).toEqual(['A(rsv1)', 'b', 'close 1000']);
    expect(pipeline.busy).toBe(false);
    expect(sink.idle).toBe(1);
  });
  it('reports an unfinished fragment waiting in the queue', () => {
    const engine = new ManualEngine();
    const pipeline = new OutgoingPipeline(new RecordingSink(), new PerMessageDeflateTransform(params, engine, 1000));
    expect(pipeline.lastUnfinished).toBeNull();
    pipeline.push(Buffer.from('a'), false, true, true, undefined);
    pipeline.push(Buffer.from('b'), false, false, false, undefined);
    expect(pipeline.lastUnfinished).toBe(true);
  });
  it('abort fails every waiting callback once, and a late compression result is dropped', () => {
    const engine = new ManualEngine();
    const sink = new RecordingSink();
    const pipeline = new OutgoingPipeline(sink, new PerMessageDeflateTransform(params, engine, 1000));
    const calls: number[] = [0, 0];
    pipeline.push(Buffer.from('a'), false, true, true, () => calls[0]!++);
    pipeline.push(Buffer.from('b'), false, true, false, () => calls[1]!++);
    pipeline.abort({ code: 'WS_ERR_INVALID_STATE' } as WebSocketError);
    engine.finishOne();
    expect(calls).toEqual([1, 1]);
    expect(sink.log).toEqual(['rejected WS_ERR_INVALID_STATE', 'rejected WS_ERR_INVALID_STATE']);
  });
  it('keeps published frames in order with sends, and waits for a shared compression without holding it', () => {
    const engine = new ManualEngine();
    const sink = new RecordingSink();
    const pipeline = new OutgoingPipeline(sink, new PerMessageDeflateTransform(params, engine, 1000));
    let ready: (() => void) | null = null;
    const shared: PendingFrame & { finish(frame: PreparedFrame | null): void } = {
      ready: false,
      result: null,
      whenReady(callback) {
        ready = callback;
      },
      finish(frame) {
        Object.assign(this, { ready: true, result: frame });
        ready?.();
      },
    };
    pipeline.push(Buffer.from('a'), false, true, true, undefined);
    pipeline.pushPublished('t1', prepareFrame(Buffer.from('xyz'), false), null, Buffer.from('xyz'), false);
    pipeline.pushPublished('t2', null, shared, Buffer.from('plain if it fails'), false);
    pipeline.push(Buffer.from('b'), false, true, false, undefined);
    engine.finishOne();
    expect(sink.log).toEqual(['A(rsv1)', 't1: 5 bytes']);
    expect(pipeline.busy).toBe(true);
    shared.finish(null);
    expect(sink.log).toEqual(['A(rsv1)', 't1: 5 bytes', 'plain if it fails', 'b']);
    expect(pipeline.busy).toBe(false);
  });
});
