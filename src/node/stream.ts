/**
 * `createWebSocketStream(ws, options)`: ws's Duplex over a WebSocket. Each message read is a
 * chunk (text as a string in object mode, else a `Buffer`); each chunk written is sent as a
 * message (a `Buffer` is binary, a string text, as `send` does). Reading pauses the WebSocket when
 * the readable side is full; ending the writable side closes the WebSocket; destroying the stream
 * terminates it; an 'error' of the WebSocket destroys the stream with that error. It adds nothing
 * to a WebSocket that never makes a stream, and it never throws into the event loop.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import type { WebSocket } from './websocket.js';

function emitClose(stream: Duplex): void {
  stream.emit('close');
}

/** Both sides are done (whichever ends last): the stream is over. */
function duplexOnEnd(this: Duplex): void {
  if (!this.destroyed && this.writableFinished) this.destroy();
}
function duplexOnFinish(this: Duplex): void {
  if (!this.destroyed && this.readableEnded) this.destroy();
}

function duplexOnError(this: Duplex, error: Error): void {
  this.removeListener('error', duplexOnError);
  this.destroy();
  // Re-emitted only when nobody else listens, so an unhandled stream error is not silent.
  if (this.listenerCount('error') === 0) this.emit('error', error);
}

/**
 * Make a Duplex stream over `ws`, with ws's semantics.
 *
 * @param ws - an open or connecting WebSocket
 * @param options - Duplex options (`objectMode` applies to the readable side only, as in ws)
 */
export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false, objectMode: false, writableObjectMode: false });

  ws.on('message', (message, isBinary) => {
    const data = !isBinary && duplex.readableObjectMode ? message.toString() : message;
    if (!duplex.push(data)) ws.pause();
  });
  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (duplex.destroyed) return;
    duplex.push(null);
  });

  duplex._destroy = (error: Error | null, callback: (error?: Error | null) => void) => {
    if (ws.readyState === ws.CLOSED) {
      callback(error);
      process.nextTick(emitClose, duplex);
      return;
    }
    let called = false;
    ws.once('error', (cause: Error) => {
      called = true;
      callback(cause);
    });
    ws.once('close', () => {
      if (!called) callback(error);
      process.nextTick(emitClose, duplex);
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback: (error?: Error | null) => void) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    if (ws.readyState === ws.CLOSED) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
      return;
    }
    ws.once('close', () => callback());
    void ws.close();
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, _encoding, callback));
      return;
    }
    ws.send(chunk, (error) => callback(error));
  };

  duplex.on('end', duplexOnEnd);
  duplex.on('finish', duplexOnFinish);
  duplex.on('error', duplexOnError);
  return duplex;
}
