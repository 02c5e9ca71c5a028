/**
 * The connection pump: one open WebSocket over a Node.js stream (a `net.Socket`, a `TLSSocket` or
 * any `Duplex`), for either role. It adopts a finished handshake ({@link HandshakeResult}), feeds
 * reads to the sans-I/O core, delivers the core's events in order through the incoming pipeline,
 * and writes what the core produced in one batch per turn (one `write`, or a corked run for large
 * payloads). It owns both directions of backpressure (a set of pause reasons; `'drain'` after the
 * high-water mark; termination of a peer that does not read), the close, stall and idle timers
 * (heartbeats run on the shared heartbeat wheel), and the send callbacks, each of which settles exactly once. Its state is the core's: it keeps
 * no copy of open/closing/closed. It never lets an error throw into the event loop, and it offers
 * no public API of its own: `WebSocket` is the facade over it.
 */
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  DEFAULT_STALLED_OUTPUT_TIMEOUT,
  ErrorCode,
  type Extension,
  Protocol,
  type ProtocolEvent,
  type ProtocolOptions,
  type PreparedFrame,
  SEND_EOF,
  State,
  WebSocketError,
} from '../../core/index.js';
import { PERMESSAGE_DEFLATE, type PerMessageDeflateExtension, PerMessageDeflateTransform } from '../../extensions/index.js';
import { allocate, asBuffer, isUtf8Buffer, sharedMaskKeys } from '../platform.js';
import type { ResolvedConnectionOptions } from './connection-options.js';
import type { ResolvedDeflateConfig } from './deflate-options.js';
import { type HeartbeatMember, joinHeartbeat, leaveHeartbeat } from './heartbeat-wheel.js';
import { drainIncoming, type IncomingSink } from './incoming-pipeline.js';
import { OutgoingPipeline, type OutgoingSink, type PendingFrame, type SendCallback } from './outgoing-pipeline.js';
import { PauseReason } from './pause-reasons.js';
import { type AdmissionRecord, InputRateLimiter, type MemoryBudget, type MemoryHolder } from '../../policy/index.js';
import { reportLimit } from '../diagnostics.js';
import { ZlibEngine } from './zlib-engine.js';

/** What a finished opening handshake hands over. */
export interface HandshakeResult {
  /** The transport, positioned right after the HTTP head. */
  readonly transport: Duplex;
  /** Bytes read past the HTTP head (the first frames). */
  readonly head: Uint8Array;
  /** The agreed subprotocol, or ''. */
  readonly protocol: string;
  /** The agreed extensions. */
  readonly extensions: readonly Extension[];
  /** The `Sec-WebSocket-Extensions` value agreed on, or ''. */
  readonly extensionsHeader: string;
}

/** How the connection ended. */
export interface ClosedInfo {
  /** Close code from the peer; 1005 if its close frame had none; 1006 if the connection ended without one. */
  readonly code: number;
  readonly reason: string;
  /** True when close frames went both ways before the transport closed. */
  readonly wasClean: boolean;
}

/** What the connection reports to (the `WebSocket` facade). */
export interface ConnectionHost {
  _onMessage(data: Uint8Array, binary: boolean): void;
  _onPing(data: Uint8Array): void;
  _onPong(data: Uint8Array): void;
  _onError(error: WebSocketError): void;
  _onDrain(): void;
  _onClosed(info: ClosedInfo): void;
  /** A published message was not delivered to this connection. */
  _onDropped(topic: string, reason: DropReason, bytes: number): void;
}

/**
 * Why a published message was not delivered to a connection: its output was over the
 * publish backpressure limit, or the application was in the middle of sending a fragmented
 * message on it (frames of two messages cannot interleave, RFC 6455 §5.4).
 */
export type DropReason = 'backpressure' | 'fragmented-send';

/** Data messages and payload bytes in each direction, and messages dropped (server-wide counters). */
export interface TrafficCounters {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  dropped: number;
}

/** A server's topics, as its connections' facades use them (see the server's `Publisher`). */
export interface TopicHub {
  /** Longest topic name accepted. */
  readonly maxTopicLength: number;
  subscribe(connection: Connection, key: string): boolean;
  unsubscribe(connection: Connection, key: string): boolean;
  publish(key: string, bytes: Uint8Array, binary: boolean, compress: boolean, skip: Connection | null): number;
}

/** Told when a connection closes (the server that accepted it); its traffic is counted there, its topics kept there. */
export interface ConnectionOwner {
  readonly traffic: TrafficCounters;
  readonly hub: TopicHub;
  /** The memory budget the owner's connections share. */
  readonly memory: MemoryBudget<Connection>;
  connectionClosed(connection: Connection): void;
  /** Count a limit the connection broke (the server's stats and the diagnostics channel). */
  limitHit(limit: string, address: string | undefined): void;
}

/** readyState values (WHATWG numbering). */
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

// Bits of Connection.flags.
const FLUSH_SCHEDULED = 1;
/** Inside pump(): sends are written by the flush that follows, not by a microtask. */
const PUMPING = 2;
const ABOVE_HIGH_WATER = 4;
const AWAITING_PONG = 8;
const INFLATING = 16;
const DELIVERING = 32;
/** Heartbeats on: a member of the heartbeat wheel until the connection ends. */
const HEARTBEAT = 128;
/** terminate() was called: CLOSING until the transport's 'close' (as in ws). */
const TERMINATED = 256;
/** Cut for not reading: callbacks Node reports as written get the cut's error. */
const CUT = 512;
/** close() waits behind sends still being prepared (a Blob being read): CLOSING from the call on. */
const CLOSE_QUEUED = 1024;

/** Output batches up to this size are copied into one buffer and written with one `write`. */
const COALESCE_LIMIT = 64 * 1024;
/** While output waits, how often the queues are sampled for progress (ms). */
const PROGRESS_SAMPLE = 1000;

const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
/** The error a send gets when the connection is not open. */
export function notOpenError(readyState: number): WebSocketError {
  return new WebSocketError(ErrorCode.InvalidState, `WebSocket is not open: readyState ${readyState} (${READY_STATE_NAMES[readyState]})`);
}

const CONNECTION = Symbol('rfc6455.connection');
type OwnedTransport = Duplex & { [CONNECTION]?: Connection | null };

/**
 * Give a socket its (empty) connection slot as soon as it is accepted. The one property this
 * layer puts on a socket then sits inside the socket object: V8 sizes objects by the properties
 * its first instances have soon after construction, and a property added later (at the upgrade)
 * goes into a separate properties array, 40 more bytes per connection.
 */
export function reserveConnectionSlot(socket: Duplex): void {
  (socket as OwnedTransport)[CONNECTION] = null;
}
type SocketLike = Duplex & {
  setNoDelay?: (noDelay?: boolean) => unknown;
  setTimeout?: (ms: number) => unknown;
  writableLength: number;
};

/** One open WebSocket connection. */
export class Connection implements OutgoingSink, IncomingSink, MemoryHolder, HeartbeatMember {
  /** The core: the one source of truth for the connection's state. */
  readonly protocol: Protocol;
  /** The transport. */
  readonly transport: SocketLike;
  /** Told when the connection closes. */
  owner: ConnectionOwner | null = null;
  /** The topics this connection is subscribed to (server side; made on the first subscription). */
  topics: Set<string> | null = null;
  /** The facade events go to. */
  readonly host: ConnectionHost;
  private readonly options: ResolvedConnectionOptions;
  /** The ordered send pipeline; only a connection that compresses needs one (it holds the transform). */
  private readonly outgoing: OutgoingPipeline | null;
  private head: Uint8Array | null;
  private pauseReasons: number = PauseReason.NotStarted;
  private pendingCallbacks: SendCallback[] | null = null;
  /** FLUSH_SCHEDULED, PUMPING, ABOVE_HIGH_WATER, AWAITING_PONG, INFLATING, DELIVERING bits: one field, not six. */
  private flags = 0;
  /** Payload bytes handed to the core and not yet written. */
  private queuedBytes = 0;
  private closeTimer: NodeJS.Timeout | null = null;
  /** When the last read arrived (ms), kept while heartbeats or rate limits need it. */
  private lastReceived = 0;
  private closedInfo: ClosedInfo | null = null;
  /** Input rate buckets, made when the first frame arrives. */
  private rate: InputRateLimiter | null = null;
  /** Armed while input is incomplete or output is buffered (stall detection). */
  private stallTimer: NodeJS.Timeout | null = null;
  /** Output progress while output waits (made when it starts waiting), and bytes written in all. */
  private progress: OutputProgress | null = null;
  private writtenTotal = 0;
  /** The server's admission record of this connection (given back when it closes). */
  admission: AdmissionRecord | null = null;
  /** What this connection last reported to its owner's memory budget (server connections). */
  private reportedHeld = 0;

  /**
   * @param host - the facade events go to
   * @param result - the finished handshake
   * @param options - shared connection options
   * @param isServer - the role
   * @param deflate - permessage-deflate settings, when this endpoint offered or accepts it
   */
  constructor(host: ConnectionHost, result: HandshakeResult, options: ResolvedConnectionOptions, isServer: boolean, deflate: ResolvedDeflateConfig | null) {
    this.host = host;
    this.options = options;
    this.transport = result.transport as SocketLike;
    this.head = result.head.length === 0 ? null : result.head;
    const extensions = result.extensions;
    this.protocol = new Protocol(extensions.length === 0 ? sharedProtocolOptions(options, isServer) : { ...protocolOptions(options, isServer), extensions });
    const pmd = extensions.find((e): e is PerMessageDeflateExtension => e.name === PERMESSAGE_DEFLATE);
    if (pmd !== undefined && deflate !== null) {
      const transform = new PerMessageDeflateTransform(pmd, new ZlibEngine(pmd, deflate, options.rateLimit?.inflatedBytesPerSecond ?? 0), options.maxPayload);
      this.outgoing = new OutgoingPipeline(this, transform, deflate.threshold);
    } else {
      this.outgoing = null;
    }
    // Nothing is read until start(), which the handshake's owner calls in the same tick (after the
    // 'connection' or 'open' listeners ran): no read can happen in between, so the transport need
    // not be paused here (a pause and resume would cost a tick per connection).
  }

  /**
   * Begin reading, once the application's 'connection' / 'open' listeners are attached: the
   * bytes read past the handshake are processed first, then the transport is read. With
   * `holdFirstTurn` (clients) delivery waits for the next turn of the event loop.
   */
  start(holdFirstTurn = false): void {
    const transport = this.transport as OwnedTransport & SocketLike;
    if ((this.pauseReasons & PauseReason.NotStarted) === 0) return;
    if (holdFirstTurn) {
      // Nothing is delivered before the next turn of the event loop (as in browsers), so code
      // that awaited 'open' and only then attaches 'message' still gets the first frames.
      this.pauseReasons |= PauseReason.Handover;
      setImmediate(endHandover, this);
    }
    transport[CONNECTION] = this;
    transport.on('data', transportOnData);
    // Every transport, half-open or not: a socket that ends itself on the peer's FIN only closes
    // once its buffered output is written, which a peer that stopped reading never lets happen.
    transport.on('end', transportOnEnd);
    transport.on('close', transportOnClose);
    // Once: the handshake stage may have attached it already.
    transport.removeListener('error', ignoreTransportError);
    transport.on('error', ignoreTransportError);
    transport.on('drain', transportOnDrain);
    if (typeof transport.setNoDelay === 'function') transport.setNoDelay(true);
    const o = this.options;
    if (o.idleTimeout > 0 && typeof transport.setTimeout === 'function') {
      transport.setTimeout(o.idleTimeout);
      transport.on('timeout', transportOnTimeout);
    }
    if (o.heartbeatInterval > 0) {
      this.lastReceived = Date.now();
      this.flags |= HEARTBEAT;
      joinHeartbeat(this, o.heartbeatInterval);
    }
    // Reasons set before the start (a pause() in an 'open' or 'connection' listener) had no
    // transport to pause yet: apply them now, before any byte is delivered.
    this.pauseReasons &= ~PauseReason.NotStarted;
    const held = this.pauseReasons !== 0;
    if (held) transport.pause();
    const head = this.head;
    this.head = null;
    if (head !== null) {
      // While paused, the bytes behind the handshake wait in the stream like the rest.
      if (held && !transport.readableEnded) transport.unshift(asBuffer(head));
      else this.onData(head);
    }
    if (transport.readableEnded) this.onEnd();
    else if (transport.destroyed) this.onTransportClose();
    if (this.closedInfo === null && this.pauseReasons === 0) transport.resume();
  }

  // -- state (read from the core, never kept here) ---------------------------------------------

  /** permessage-deflate, when negotiated. */
  get transform(): PerMessageDeflateTransform | null {
    const outgoing = this.outgoing;
    return outgoing === null ? null : outgoing.transform;
  }

  /** 1 OPEN, 2 CLOSING, 3 CLOSED, as the application sees it. */
  get readyState(): number {
    if (this.closedInfo !== null) return CLOSED;
    return (this.flags & CLOSE_QUEUED) === 0 && this.openForQueued ? OPEN : CLOSING;
  }

  /**
   * Open but for a close() queued behind sends still being prepared: the sends accepted before
   * that close() may go out (they go ahead of its close frame).
   */
  get openForQueued(): boolean {
    const p = this.protocol;
    return this.closedInfo === null && (this.flags & TERMINATED) === 0 && p.canSend && !p.endReported && !(this.outgoing?.closing ?? false);
  }

  /** @internal Cut for not reading its output. */
  get wasCut(): boolean {
    return (this.flags & CUT) !== 0;
  }

  /** How the connection ended, once it has. */
  get closed(): ClosedInfo | null {
    return this.closedInfo;
  }

  /** Bytes accepted by `send` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.queuedBytes + (this.outgoing?.bytes ?? 0) + (this.transport.writableLength ?? 0);
  }

  /** @internal The `highWaterMark` option. */
  get highWaterMark(): number {
    return this.options.highWaterMark;
  }

  /** Whether `send` last reported the high-water mark and `'drain'` is still to come. */
  get needsDrain(): boolean {
    return (this.flags & ABOVE_HIGH_WATER) !== 0;
  }

  /** @internal IncomingSink: whether incoming text is checked for UTF-8. */
  get validatesUtf8(): boolean {
    return !this.options.skipUTF8Validation;
  }

  /** @internal IncomingSink: a message is being inflated. */
  get inflatingNow(): boolean {
    return (this.flags & INFLATING) !== 0;
  }
  set inflatingNow(value: boolean) {
    this.flags = value ? this.flags | INFLATING : this.flags & ~INFLATING;
  }

  /** @internal IncomingSink: events are being delivered. */
  get deliveringNow(): boolean {
    return (this.flags & DELIVERING) !== 0;
  }
  set deliveringNow(value: boolean) {
    this.flags = value ? this.flags | DELIVERING : this.flags & ~DELIVERING;
  }

  /** Whether the application paused reading. */
  get isPaused(): boolean {
    return (this.pauseReasons & PauseReason.User) !== 0;
  }

  // -- sending --------------------------------------------------------------------------------

  /**
   * Send a message or fragment. The caller checked `readyState === OPEN`.
   *
   * @returns false once the high-water mark is reached
   */
  send(bytes: Uint8Array, binary: boolean, fin: boolean, compressAllowed: boolean, callback: SendCallback | undefined): boolean {
    const owner = this.owner;
    if (owner !== null) {
      const traffic = owner.traffic;
      if (fin) traffic.messagesOut++;
      traffic.bytesOut += bytes.length;
    }
    const transform = this.transform;
    const outgoing = this.outgoing;
    if (transform !== null && outgoing !== null) {
      // A continuation of a fragmented message (sent, or still waiting) is never compressed alone.
      const continuing = outgoing.lastUnfinished ?? this.protocol.sendingFragment;
      const compress = fin && !continuing && compressAllowed && bytes.length >= outgoing.threshold && transform.canCompress;
      if (compress || outgoing.busy) {
        outgoing.push(bytes, binary, fin, compress, callback);
        return this.belowHighWater();
      }
    }
    this.writeMessage(bytes, binary, fin, 0, callback);
    return this.belowHighWater();
  }

  // -- published messages (server side) ---------------------------------------------------------

  /**
   * The key under which a published message's compression can be shared with other connections
   * (see `PerMessageDeflateTransform.sharedCompressionKey`), or null.
   */
  get sharedCompressionKey(): number | null {
    return this.transform?.sharedCompressionKey ?? null;
  }

  /**
   * Whether the application is in the middle of a fragmented message on this connection (sent,
   * or waiting in the send pipeline): a whole published message cannot go out until it ends.
   */
  get sendingFragment(): boolean {
    return this.outgoing?.lastUnfinished ?? this.protocol.sendingFragment;
  }

  /** Whether a published message of `length` bytes that may be compressed is compressed for this connection. */
  compressesPublished(length: number): boolean {
    return this.transform !== null && this.transform.canCompress && length >= this.outgoing!.threshold;
  }

  /**
   * Queue a published message, in order with everything else this connection sends: a frame
   * prepared for many connections, or a compression shared with others (`bytes` is the message,
   * sent uncompressed if that compression fails). The caller checked `readyState === OPEN`.
   */
  sendPublished(topic: string, prepared: PreparedFrame | null, shared: PendingFrame | null, bytes: Uint8Array, binary: boolean): void {
    const owner = this.owner;
    if (owner !== null) {
      owner.traffic.messagesOut++;
      owner.traffic.bytesOut += bytes.length;
    }
    const outgoing = this.outgoing;
    if (outgoing !== null && (outgoing.busy || shared !== null)) outgoing.pushPublished(topic, prepared, shared, bytes, binary);
    else this.writePrepared(prepared!, topic);
  }

  /** @internal OutgoingSink */
  writePrepared(frame: PreparedFrame, topic: string): void {
    const p = this.protocol;
    if (!p.canSend) return;
    if (p.sendingFragment) {
      this.dropPublished(topic, 'fragmented-send', frame.messageLength);
      return;
    }
    p.sendPrepared(frame);
    this.queuedBytes += frame.byteLength;
    this.scheduleFlush();
  }

  /** A published message is not delivered to this connection: counted and reported. */
  dropPublished(topic: string, reason: DropReason, bytes: number): void {
    if (this.owner !== null) this.owner.traffic.dropped++;
    this.host._onDropped(topic, reason, bytes);
  }

  /**
   * Send a ping or an unsolicited pong. The caller checked `readyState === OPEN` and the size.
   */
  sendControl(ping: boolean, bytes: Uint8Array, callback: SendCallback | undefined): void {
    const p = this.protocol;
    if (!p.canSend) return this.rejectSend(callback);
    if (ping) p.sendPing(bytes);
    else p.sendPong(bytes);
    this.queued(callback);
  }

  /** Start the closing handshake (after any message still being compressed). The caller validated `code` and `reason`. */
  close(code: number | undefined, reason: string | Uint8Array): void {
    if (this.readyState !== OPEN) return;
    this.startClose(code, reason);
  }

  /**
   * close() was called while sends before it are still being prepared (a Blob being read): the
   * connection is CLOSING from now on (publishes, heartbeats and idle closes skip it; sends made
   * now are refused), and {@link Connection.closeQueued} sends the close frame after those sends.
   */
  queueClose(): void {
    if (this.readyState === OPEN) this.flags |= CLOSE_QUEUED;
  }

  /** The close a {@link Connection.queueClose} announced: its turn has come. */
  closeQueued(code: number | undefined, reason: string | Uint8Array): void {
    if ((this.flags & CLOSE_QUEUED) === 0) return;
    this.flags &= ~CLOSE_QUEUED;
    if (this.openForQueued) this.startClose(code, reason);
  }

  private startClose(code: number | undefined, reason: string | Uint8Array): void {
    if (this.outgoing?.busy === true) this.outgoing.pushClose(code, reason);
    else this.writeClose(code, reason);
  }

  /** Destroy the transport at once (close code 1006). */
  terminate(): void {
    if (this.closedInfo !== null) return;
    this.flags |= TERMINATED;
    this.transport.destroy();
  }

  /** @internal OutgoingSink */
  writeMessage(bytes: Uint8Array, binary: boolean, fin: boolean, rsv: number, callback: SendCallback | undefined): void {
    const p = this.protocol;
    if (!p.canSend) {
      this.rejectSend(callback);
      return;
    }
    if (p.sendingFragment) p.sendContinuation(bytes, fin);
    else if (binary) p.sendBinary(bytes, fin, rsv);
    else p.sendText(bytes, fin, rsv);
    this.queuedBytes += bytes.length;
    this.queued(callback);
  }

  /** @internal OutgoingSink */
  writeClose(code: number | undefined, reason: string | Uint8Array): void {
    const p = this.protocol;
    if (p.state !== State.Open || p.closeSent !== null) return;
    // No code: a close frame without a status (the peer sees 1005), as ws and browsers send it.
    p.sendClose(code, reason);
    this.flush();
  }

  /** @internal OutgoingSink */
  rejectSend(callback: SendCallback | undefined, error?: WebSocketError): void {
    if (callback !== undefined) process.nextTick(callback, error ?? notOpenError(this.readyState));
  }

  /** @internal OutgoingSink */
  pipelineIdle(): void {
    this.scheduleFlush();
  }

  private queued(callback: SendCallback | undefined): void {
    if (callback !== undefined) (this.pendingCallbacks ??= []).push(callback);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if ((this.flags & (PUMPING | FLUSH_SCHEDULED)) === 0) {
      this.flags |= FLUSH_SCHEDULED;
      // One microtask per turn flushes every connection with output (a publish to 10,000
      // subscribers makes no closure per connection).
      if (flushQueue.push(this) === 1) queueMicrotask(flushQueued);
    }
  }

  /** @internal The end-of-turn flush, unless a read's pump already wrote everything. */
  flushIfScheduled(): void {
    if ((this.flags & FLUSH_SCHEDULED) !== 0) this.flush();
  }

  private belowHighWater(): boolean {
    if (this.bufferedAmount < this.options.highWaterMark) return true;
    this.flags |= ABOVE_HIGH_WATER;
    return false;
  }

  /** Write everything the core has queued, in one batch. */
  private flush(): void {
    this.flags &= ~FLUSH_SCHEDULED;
    const p = this.protocol;
    const transport = this.transport;
    // An owed close frame waits while messages accepted before it are still being compressed,
    // while delivery is held by an inflating message whose reply must go first (§5.5.1), or while
    // received messages wait for their turn (allowSynchronousEvents: false): replies to them go first.
    const output = p.dataToSend((this.outgoing?.busy ?? false) || (this.flags & INFLATING) !== 0 || (this.pauseReasons & PauseReason.Yielding) !== 0);
    const callbacks = this.pendingCallbacks;
    this.pendingCallbacks = null;
    this.queuedBytes = 0;
    let count = output.length;
    const end = count !== 0 && output[count - 1] === SEND_EOF;
    if (end) count--;
    // After a cut, Node reports a cancelled write as a success (null on a destroyed socket) and a
    // buffered one as ERR_STREAM_DESTROYED: the cut's error is the truth for both.
    const done = callbacks === null ? undefined : (error?: Error | null) => settleAll(callbacks, cutErrorOf(this) ?? error ?? undefined);
    if (transport.destroyed || !transport.writable) {
      if (done !== undefined) process.nextTick(done, notOpenError(this.readyState));
    } else if (count === 0) {
      if (done !== undefined) process.nextTick(done);
    } else if (count === 1) {
      transport.write(output[0] as Uint8Array, done);
      this.writtenTotal += (output[0] as Uint8Array).length;
    } else {
      let total = 0;
      for (let i = 0; i < count; i++) total += (output[i] as Uint8Array).length;
      this.writtenTotal += total;
      if (total <= COALESCE_LIMIT) {
        const batch = Buffer.allocUnsafe(total);
        let offset = 0;
        for (let i = 0; i < count; i++) {
          const chunk = output[i] as Uint8Array;
          batch.set(chunk, offset);
          offset += chunk.length;
        }
        transport.write(batch, done);
      } else {
        const corkable = typeof transport.cork === 'function';
        if (corkable) transport.cork();
        for (let i = 0; i < count - 1; i++) transport.write(output[i] as Uint8Array);
        transport.write(output[count - 1] as Uint8Array, done);
        if (corkable) transport.uncork();
      }
    }
    if (end && !transport.destroyed) transport.end();
    if (p.closeExpected()) this.armCloseTimer();
    // One read of the transport's buffered bytes serves the three checks that follow a write.
    const buffered = transport.writableLength ?? 0;
    if (!this.checkWriteBackpressure(buffered)) return;
    this.armStallTimer(buffered);
    if (this.owner !== null) this.reportHeld(buffered);
  }

  /** Pause reading above the high-water mark (a peer that does not read is cut by the stall check). */
  private checkWriteBackpressure(buffered: number): boolean {
    if (buffered >= this.options.highWaterMark) {
      this.flags |= ABOVE_HIGH_WATER;
      // The peer is not reading what we write: stop reading what it sends, so a slow reader (of
      // an echo, say) cannot make our output grow.
      this.pauseFor(PauseReason.PeerNotReading);
    } else if ((this.flags & ABOVE_HIGH_WATER) !== 0) {
      // send() reported the mark, but the kernel took it all at once: the transport will emit no
      // 'drain', so ours comes from here (next tick, after the send that got false returned).
      process.nextTick(drainTick, this);
    }
    return true;
  }

  /** @internal send() reported the high-water mark for data not yet handed to this connection (a Blob being read). */
  markAboveHighWater(): void {
    this.flags |= ABOVE_HIGH_WATER;
  }

  // -- reading --------------------------------------------------------------------------------

  /** Stop reading for `reason`; reading resumes when no reason is left. */
  pauseFor(reason: PauseReason): void {
    if (this.pauseReasons === 0 && this.closedInfo === null) this.transport.pause();
    this.pauseReasons |= reason;
  }

  /** Drop `reason`; reading resumes if it was the last one. */
  resumeFor(reason: PauseReason): void {
    if ((this.pauseReasons & reason) === 0) return;
    this.pauseReasons &= ~reason;
    if (this.pauseReasons === 0 && this.closedInfo === null) this.transport.resume();
  }

  /** @internal */
  onData(chunk: Uint8Array): void {
    // One clock read per socket read serves the heartbeat and the rate limits of every frame in it.
    if ((this.flags & HEARTBEAT) !== 0 || this.options.rateLimit !== null || this.options.stalledInputTimeout !== 0) {
      this.lastReceived = Date.now();
      this.flags &= ~AWAITING_PONG;
    }
    this.protocol.receiveData(chunk);
    this.pump();
  }

  /** @internal The peer half-closed (FIN). */
  onEnd(): void {
    if (this.protocol.state === State.Closed) return;
    this.protocol.receiveEof();
    this.pump();
  }

  /** @internal The transport is gone. */
  onTransportClose(): void {
    if (this.protocol.state !== State.Closed) this.protocol.receiveEof();
    this.pump();
  }

  /** Bytes this connection holds now: an incomplete incoming message and output the kernel has not taken. */
  heldBytes(buffered = this.transport.writableLength ?? 0): number {
    return this.closedInfo !== null ? 0 : this.protocol.bufferedMessageBytes + buffered;
  }

  private reportHeld(buffered?: number): void {
    const held = this.heldBytes(buffered);
    if (held === this.reportedHeld) return;
    this.reportedHeld = held;
    const cut = this.owner!.memory.update(this, held);
    for (const connection of cut) process.nextTick(evictTick, connection);
  }

  /** @internal The server's memory budget is spent and this connection holds the most: cut it (1013). */
  onEvict(): void {
    if (this.closedInfo !== null) return;
    this.limitHit('maxBufferedBytes');
    this.protocol.failMessage(new WebSocketError(ErrorCode.ServerBusy, 'server memory budget exceeded'));
    // Output the peer has not taken would hold the memory until it does: drop it now.
    if ((this.transport.writableLength ?? 0) > 0) this.transport.destroy();
    else this.pump();
  }

  /** @internal */
  onDrain(): void {
    if (this.owner !== null) this.reportHeld();
    this.resumeFor(PauseReason.PeerNotReading);
    if ((this.flags & ABOVE_HIGH_WATER) !== 0 && this.bufferedAmount < this.options.highWaterMark) {
      this.flags &= ~ABOVE_HIGH_WATER;
      this.host._onDrain();
    }
  }

  /** @internal Idle timeout. */
  onIdle(): void {
    if (this.readyState === OPEN) this.close(CloseCode.GoingAway, 'idle timeout');
    else this.transport.destroy();
  }

  /** @internal A tick of the heartbeat wheel: ping after an interval of silence, drop a peer silent for an interval after the ping. */
  onHeartbeat(now: number): void {
    if (this.closedInfo !== null || this.readyState !== OPEN) return;
    if (this.pauseReasons !== 0) {
      // Reading is paused: a pong could not be read, so silence proves nothing. The count
      // starts again (a peer that stops reading our output is the stall check's to cut).
      this.lastReceived = now;
      this.flags &= ~AWAITING_PONG;
      return;
    }
    if (now - this.lastReceived < this.options.heartbeatInterval) return; // something arrived: proof of life
    if ((this.flags & AWAITING_PONG) !== 0) {
      // Nothing at all for an interval after our ping: a zombie or half-open connection.
      this.transport.destroy();
      return;
    }
    this.flags |= AWAITING_PONG;
    this.sendControl(true, EMPTY, undefined);
    this.lastReceived = now; // the wait for an answer starts now
  }

  /** Deliver what the core decoded, then write what that produced. */
  private pump(): void {
    this.flags |= PUMPING;
    try {
      // Events wait while one turn's event is out (allowSynchronousEvents: false); output does not.
      if ((this.pauseReasons & PauseReason.Yielding) === 0) drainIncoming(this);
    } finally {
      this.flags &= ~PUMPING;
    }
    if (this.closedInfo === null || this.pendingCallbacks !== null) this.flush();
  }

  /** @internal IncomingSink */
  inflating(active: boolean): void {
    if (active) {
      this.pauseFor(PauseReason.Inflating);
      return;
    }
    this.resumeFor(PauseReason.Inflating);
    // Events delivered after the inflated message may have produced output (or a held close).
    this.flush();
  }

  /** @internal IncomingSink */
  deliver(event: ProtocolEvent): boolean {
    switch (event.type) {
      case 'message': {
        if (this.options.rateLimit !== null && !this.withinRate(event.data.length)) break;
        const owner = this.owner;
        if (owner !== null) {
          owner.traffic.messagesIn++;
          owner.traffic.bytesIn += event.data.length;
        }
        this.host._onMessage(event.data, event.binary);
        return this.options.allowSynchronousEvents || this.yieldTurn();
      }
      case 'ping':
        if (this.options.rateLimit !== null && !this.withinRate(-1)) break;
        this.host._onPing(event.data);
        return this.options.allowSynchronousEvents || this.yieldTurn();
      case 'pong':
        if (this.options.rateLimit !== null && !this.withinRate(-1)) break;
        this.host._onPong(event.data);
        return this.options.allowSynchronousEvents || this.yieldTurn();
      case 'close':
        break;
      case 'error':
        this.host._onError(event.error);
        break;
      case 'closed':
        this.finish(event);
        break;
    }
    return true;
  }

  /**
   * `allowSynchronousEvents: false`: the events after the one just emitted wait for the next turn
   * of the event loop (setImmediate, as ws), reading paused meanwhile. Returns false (stop the line).
   */
  private yieldTurn(): false {
    if ((this.pauseReasons & PauseReason.Yielding) === 0) {
      this.pauseFor(PauseReason.Yielding);
      setImmediate(endYield, this);
    }
    return false;
  }

  /** @internal The turn after an event with `allowSynchronousEvents: false`: deliver on. */
  onYieldEnd(): void {
    this.resumeFor(PauseReason.Yielding);
    if (this.closedInfo === null) this.pump();
  }

  /**
   * Account one received data message of `size` bytes (or a control frame for -1). Over a limit:
   * the connection is failed with 1008 (policy violation), or a data message is dropped when
   * `rateLimit.overflow` is 'drop'. Returns whether the event may be delivered.
   */
  private withinRate(size: number): boolean {
    // The time of the read that brought the frame (see onData).
    const now = this.lastReceived;
    const rate = (this.rate ??= new InputRateLimiter(this.options.rateLimit!, now));
    const broken = size < 0 ? rate.controlFrame(now) : rate.message(size, now);
    if (broken === null) return true;
    this.limitHit(`rateLimit.${broken.replace(' ', '-')}`);
    if (size >= 0 && this.options.rateLimitOverflow === 'drop') {
      if (this.owner !== null) this.owner.traffic.dropped++;
      return false;
    }
    this.protocol.failMessage(new WebSocketError(ErrorCode.PolicyViolation, `rate limit exceeded: ${broken}`));
    return false;
  }

  /**
   * Arm the stall check when input is incomplete or output is waiting (one timer for both).
   *
   * A peer is judged not reading when the kernel takes none of our output for a whole window:
   * `stalledOutputTimeout`, or, past `maxBufferedAmount`, that window even when the option is 0.
   * The kernel takes a slow reader's data in bursts (Linux wakes the writer when half its send
   * buffer is free: seconds apart at 100 KB/s), so the queues are sampled every second and any
   * drop counts; the size of the output alone never cuts.
   */
  private armStallTimer(buffered = this.transport.writableLength ?? 0): void {
    if (this.stallTimer !== null || this.closedInfo !== null) return;
    const o = this.options;
    const input = o.stalledInputTimeout !== 0 && this.protocol.inputPending;
    const window = this.outputWindow(buffered);
    if (window === 0) this.progress = null;
    if (!input && window === 0) return;
    let delay = Number.POSITIVE_INFINITY;
    if (input) delay = Math.max(1, this.lastReceived + o.stalledInputTimeout - Date.now());
    if (window !== 0) {
      this.progress ??= new OutputProgress(this.transport, this.writtenTotal, buffered, Date.now());
      delay = Math.min(delay, window, PROGRESS_SAMPLE);
    }
    this.stallTimer = setTimeout(stallTick, delay, this);
    this.stallTimer.unref();
  }

  /** How long waiting output may go untaken before the peer is cut (0: not checked). */
  private outputWindow(buffered: number): number {
    if (buffered === 0) return 0;
    const o = this.options;
    if (o.stalledOutputTimeout !== 0) return o.stalledOutputTimeout;
    return buffered > o.maxBufferedAmount ? DEFAULT_STALLED_OUTPUT_TIMEOUT : 0;
  }

  /** @internal The stall timer fired. */
  onStallCheck(): void {
    this.stallTimer = null;
    if (this.closedInfo !== null) return;
    const o = this.options;
    const now = Date.now();
    if (o.stalledInputTimeout !== 0 && this.protocol.inputPending && now - this.lastReceived >= o.stalledInputTimeout) {
      this.limitHit('stalledInputTimeout');
      this.protocol.failMessage(new WebSocketError(ErrorCode.PolicyViolation, 'incomplete message timed out'));
      this.pump();
      return;
    }
    const buffered = this.transport.writableLength ?? 0;
    const window = this.outputWindow(buffered);
    const progress = this.progress;
    if (window !== 0 && progress !== null) {
      progress.sample(this.transport, this.writtenTotal, buffered, now);
      if (now - progress.lastTaken >= window) {
        const over = buffered > o.maxBufferedAmount;
        this.limitHit(over ? 'maxBufferedAmount' : 'stalledOutputTimeout');
        this.cutNotReading(
          new WebSocketError(
            ErrorCode.BufferLimit,
            over ? 'peer is not reading: output over maxBufferedAmount taken by nobody' : 'peer stopped reading: no output taken for stalledOutputTimeout',
          ),
        );
        return;
      }
    }
    this.armStallTimer();
  }

  /**
   * Terminate a connection whose peer does not read. Every callback of what the peer did not
   * take gets `error`: those still in the core here, those in the transport when Node reports
   * them (a callback reports what happened).
   */
  private cutNotReading(error: WebSocketError): void {
    this.flags |= CUT;
    cutErrors.set(this, error);
    this.host._onError(error);
    const callbacks = this.pendingCallbacks;
    this.pendingCallbacks = null;
    this.transport.destroy();
    if (callbacks !== null) process.nextTick(settleAll, callbacks, error);
  }

  /** How many messages the async iterator of this connection's WebSocket may hold unread. */
  get maxQueuedMessages(): number {
    return this.options.maxQueuedMessages;
  }

  /** Count a limit this connection broke (the server's stats, the diagnostics channel). */
  private limitHit(limit: string): void {
    const address = (this.transport as { remoteAddress?: string }).remoteAddress;
    if (this.owner !== null) this.owner.limitHit(limit, address);
    else reportLimit(limit, address);
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== null || this.closedInfo !== null) return;
    this.closeTimer = setTimeout(closeTimeoutTick, this.options.closeTimeout, this);
    this.closeTimer.unref();
  }

  /** @internal The closing handshake took too long. */
  onCloseTimeout(): void {
    this.closeTimer = null;
    this.transport.destroy();
  }

  private finish(event: ClosedInfo): void {
    const info: ClosedInfo = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    this.closedInfo = info;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if ((this.flags & HEARTBEAT) !== 0) {
      this.flags &= ~HEARTBEAT;
      leaveHeartbeat(this, this.options.heartbeatInterval);
    }
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.closeTimer = null;
    this.stallTimer = null;
    this.owner?.memory.remove(this);
    const transport = this.transport;
    if (!transport.destroyed) {
      if ((transport.writableLength ?? 0) === 0 || !transport.writable) transport.destroy();
      else {
        transport.once('finish', destroyTransport);
        // Bounded: a peer that reads nothing more must not keep the socket and its buffer (the
        // stall timer is gone with the connection).
        setTimeout(destroyUnlessDestroyed, this.options.closeTimeout, transport).unref();
      }
    }
    // An error (with its stack trace) is made only when a callback is waiting for it.
    if (this.pendingCallbacks !== null) {
      const callbacks = this.pendingCallbacks;
      this.pendingCallbacks = null;
      process.nextTick(settleAll, callbacks, notOpenError(CLOSED));
    }
    if (this.outgoing?.busy === true) this.outgoing.abort(notOpenError(CLOSED));
    this.transform?.close();
    this.owner?.connectionClosed(this);
    this.host._onClosed(info);
  }
}

const EMPTY = new Uint8Array(0);

/** Protocol options for a set of connection options. */
function protocolOptions(o: ResolvedConnectionOptions, isServer: boolean): ProtocolOptions {
  return {
    role: isServer ? 'server' : 'client',
    maxPayload: o.maxPayload,
    maxFrameSize: o.maxFrameSize,
    maxFragments: o.maxFragments,
    autoPong: o.autoPong,
    fragmentSize: o.fragmentSize,
    allocate,
    isUtf8: isUtf8Buffer,
    ...(o.skipUTF8Validation ? { validateUtf8: false } : {}),
    ...(isServer ? {} : { maskKeyPool: sharedMaskKeys }),
  };
}
const sharedOptions = new WeakMap<ResolvedConnectionOptions, { server?: ProtocolOptions; client?: ProtocolOptions }>();
/** The protocol options every connection with the same options shares (built once). */
function sharedProtocolOptions(o: ResolvedConnectionOptions, isServer: boolean): ProtocolOptions {
  let entry = sharedOptions.get(o);
  if (entry === undefined) sharedOptions.set(o, (entry = {}));
  return isServer ? (entry.server ??= Object.freeze(protocolOptions(o, true))) : (entry.client ??= Object.freeze(protocolOptions(o, false)));
}

function settleAll(callbacks: readonly SendCallback[], error: Error | undefined): void {
  // Success is `null`, as Node's write callbacks (and so ws's send callbacks) report it.
  if (error === undefined) for (const callback of callbacks) (callback as unknown as (error: null) => void)(null);
  else for (const callback of callbacks) callback(error);
}

// Module-level handlers find their connection through the transport: no closures per connection.
function transportOnData(this: OwnedTransport, chunk: Buffer): void {
  this[CONNECTION]?.onData(chunk);
}
function transportOnEnd(this: OwnedTransport): void {
  this[CONNECTION]?.onEnd();
}
function transportOnClose(this: OwnedTransport): void {
  this[CONNECTION]?.onTransportClose();
}
function transportOnDrain(this: OwnedTransport): void {
  this[CONNECTION]?.onDrain();
}
function transportOnTimeout(this: OwnedTransport): void {
  this[CONNECTION]?.onIdle();
}
/**
 * The transport's 'error' listener, from the handshake on: an error must never crash the process,
 * and the 'close' that follows ends the connection (1006). The handshake stages attach this same
 * function, so an open connection holds one listener, not two.
 */
export function ignoreTransportError(): void {}
function destroyTransport(this: Duplex): void {
  this.destroy();
}
function destroyUnlessDestroyed(transport: Duplex): void {
  if (!transport.destroyed) transport.destroy();
}
function drainTick(connection: Connection): void {
  if (connection.closed === null) connection.onDrain();
}
function evictTick(connection: Connection): void {
  connection.onEvict();
}
/**
 * Whether waiting output moves: samples of what the transport and, under TLS, the socket below
 * it still queue (libuv's write queues move while one large write is in flight; Node's
 * writableLength moves per finished write). Made when output starts waiting.
 */
class OutputProgress {
  /** When the kernel was last seen taking something. */
  lastTaken: number;
  private finished = Number.NEGATIVE_INFINITY;
  private queued = Number.POSITIVE_INFINITY;
  private queuedBelow = Number.POSITIVE_INFINITY;
  constructor(transport: SocketLike, written: number, buffered: number, now: number) {
    this.lastTaken = now;
    this.sample(transport, written, buffered, now);
  }
  /** Record a sample: any finished write or any queue lower than at the last sample is progress. */
  sample(transport: SocketLike, written: number, buffered: number, now: number): void {
    const finished = written - buffered;
    const queued = queueOf(transport);
    const queuedBelow = queueOf((transport as { _parent?: SocketLike | null })._parent);
    if (finished > this.finished || queued < this.queued || queuedBelow < this.queuedBelow) this.lastTaken = now;
    this.finished = finished;
    this.queued = queued;
    this.queuedBelow = queuedBelow;
  }
}

/** What libuv still queues for a socket's handle (0 for another stream). */
function queueOf(transport: SocketLike | null | undefined): number {
  const queued = (transport as { _handle?: { writeQueueSize?: unknown } | null } | null | undefined)?._handle?.writeQueueSize;
  return typeof queued === 'number' ? queued : 0;
}

/** Why a connection was cut (only connections that were: an idle one holds no field for it). */
const cutErrors = new WeakMap<Connection, WebSocketError>();
function cutErrorOf(connection: Connection): WebSocketError | undefined {
  return connection.wasCut ? cutErrors.get(connection) : undefined;
}

/** Connections with output waiting for the end of this turn. */
let flushQueue: Connection[] = [];

function flushQueued(): void {
  const queue = flushQueue;
  flushQueue = [];
  let failure: unknown = null;
  for (const connection of queue) {
    // An 'error' listener may throw from a flush: the other connections are flushed all the same.
    try {
      connection.flushIfScheduled();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== null) throw failure;
}

function endHandover(connection: Connection): void {
  connection.resumeFor(PauseReason.Handover);
}

function endYield(connection: Connection): void {
  connection.onYieldEnd();
}

function stallTick(connection: Connection): void {
  connection.onStallCheck();
}
function closeTimeoutTick(connection: Connection): void {
  connection.onCloseTimeout();
}
