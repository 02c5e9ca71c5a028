/**
 * Input held while an asynchronous `verify` runs: bytes the client sends right behind its
 * upgrade request are kept (not dropped), a half-close or a vanished socket is noticed (such a
 * socket is never upgraded), and past `limit` bytes reading pauses so the kernel, not this
 * process, holds the rest. One small object per pending upgrade, gone when verify answers.
 */
import type { Duplex } from 'node:stream';

const HELD = Symbol('rfc6455.held-input');
type HoldingSocket = Duplex & { [HELD]?: HeldInput | undefined };

/** The bytes and events a socket produced while its upgrade waited for `verify`. */
export class HeldInput {
  private chunks: Buffer[] = [];
  private size = 0;
  /** The peer half-closed (FIN) or the socket is gone. */
  ended = false;

  private constructor(
    private readonly socket: Duplex,
    first: Buffer,
    private readonly limit: number,
  ) {
    if (first.length !== 0) {
      this.chunks.push(first);
      this.size = first.length;
    }
  }

  /** Start holding `socket`'s input; `rest` is what was read past the request head. */
  static start(socket: Duplex, rest: Buffer, limit: number): HeldInput {
    const held = new HeldInput(socket, rest, limit);
    (socket as HoldingSocket)[HELD] = held;
    socket.on('data', heldOnData);
    socket.on('end', heldOnEnd);
    socket.on('close', heldOnEnd);
    if (held.size >= limit) socket.pause();
    else socket.resume();
    return held;
  }

  /** Stop holding and hand the held bytes back; the caller adopts the socket in this same tick. */
  finish(): Buffer {
    const socket = this.socket;
    socket.off('data', heldOnData);
    socket.off('end', heldOnEnd);
    socket.off('close', heldOnEnd);
    (socket as HoldingSocket)[HELD] = undefined;
    const chunks = this.chunks;
    this.chunks = [];
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
  }

  /** @internal */
  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.limit) this.socket.pause();
  }
}

function heldOnData(this: HoldingSocket, chunk: Buffer): void {
  this[HELD]?.add(chunk);
}
function heldOnEnd(this: HoldingSocket): void {
  const held = this[HELD];
  if (held !== undefined) held.ended = true;
}
