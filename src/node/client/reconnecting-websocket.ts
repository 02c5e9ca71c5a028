/**
 * `ReconnectingWebSocket`: a client that survives real networks. It keeps one `WebSocket` open to
 * a URL, and when that connection fails or ends in a way the retry table (`policy/retry.ts`, or
 * the user's `shouldReconnect`) says is transient, it waits as the backoff policy says
 * (`policy/backoff.ts`, honouring `Retry-After`) and connects again, until `close()` or until it
 * gives up. It offers the `WebSocket` send/event API: `'open'` on every connection (so the
 * application can resubscribe), `'message'`, `'ping'`, `'pong'`, `'error'`, and `'close'` once, at
 * the very end; plus `'reconnecting'` (attempt, delay, cause), `'give-up'` and `'drop'`. Messages
 * sent while no connection is open wait in a bounded queue (`sendQueue`) and are flushed in order
 * on the next connection; a message that is refused, evicted or left behind is always reported
 * (its send callback gets a `WS_ERR_MESSAGE_DROPPED` error and `'drop'` is emitted). The heartbeat
 * is on by default, so a half-open connection is found and replaced. It holds at most one timer
 * (the wait before the next attempt), cleared by `close()`; its state is the phase below plus the
 * current connection's own, never a copy of it. Nothing it does or receives throws into the event loop.
 */
import { defineReadyStates } from '../ready-state.js';
import { EventEmitter } from 'node:events';
import { CloseCode, encodeClosePayload, ErrorCode, WebSocketError } from '../../core/index.js';
import type { DisconnectCause } from '../../policy/index.js';
import type { ClosedInfo } from '../connection/connection.js';
import { type BinaryType, type RawData, type SendData, type SendOptions, WebSocket } from '../websocket.js';
import { gaveUpError, monotonicNow, nextDelay, type ReconnectOptions, resolveReconnect, type ResolvedReconnect, watchAttempt } from './reconnect-options.js';
import { type QueuedMessage, SendQueue } from './send-queue.js';

/** What `'reconnecting'` reports. */
export interface ReconnectingEvent {
  /** The retry's number since the last stable connection (1, 2, ...). */
  readonly attempt: number;
  /** How long the client waits before it, in ms. */
  readonly delay: number;
  /** How the previous attempt or connection ended. */
  readonly cause: DisconnectCause;
}

/** What `'give-up'` reports. */
export interface GiveUpEvent {
  /** Retries made since the last stable connection. */
  readonly attempts: number;
  /** How the last attempt or connection ended. */
  readonly cause: DisconnectCause;
  /** A `WS_ERR_RECONNECT_GAVE_UP` error describing it. */
  readonly error: WebSocketError;
}

/** Listener signatures of a {@link ReconnectingWebSocket}. */
export interface ReconnectingWebSocketEvents {
  /** A connection opened (every time). */
  open: [];
  message: [data: RawData, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  /** An error of the current connection or attempt (emitted only when someone listens). */
  error: [error: Error];
  /** A connection was lost or an attempt failed; the next attempt starts after `delay` ms. */
  reconnecting: [event: ReconnectingEvent];
  /** The client stopped retrying; `'close'` follows. */
  'give-up': [event: GiveUpEvent];
  /** A message accepted by `send` (or refused by it) will not be sent. */
  drop: [data: string | Buffer, error: WebSocketError];
  /** The client is finished (after `close()`, or after giving up); emitted once. */
  close: [code: number, reason: Buffer];
  /** The current connection's output fell below the high-water mark after `send` returned false. */
  drain: [];
}

type Callback = (error?: Error | null) => void;

/** Where the client is; the readyState is derived from this and the current connection. */
const Phase = {
  /** A `WebSocket` attempt is in progress (or open: see `current.readyState`). */
  Connected: 0,
  /** Waiting for the retry timer. */
  Waiting: 1,
  /** `close()` was called; the current connection is closing. */
  Closing: 2,
  /** Finished. */
  Closed: 3,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * A WebSocket client that reconnects with backoff and queues messages while offline.
 *
 * @example
 * const ws = new ReconnectingWebSocket('wss://example.com/feed');
 * ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'prices' })));
 * ws.on('message', (data) => console.log(String(data)));
 */
export class ReconnectingWebSocket extends EventEmitter<ReconnectingWebSocketEvents> {
  /** The connection is being established (or re-established). */
  static readonly CONNECTING = 0;
  /** A connection is open. */
  static readonly OPEN = 1;
  /** `close()` was called and the closing handshake runs. */
  static readonly CLOSING = 2;
  /** Finished: closed by the application or given up. */
  static readonly CLOSED = 3;
  /** The connection is being established (on the prototype). */
  declare readonly CONNECTING: 0;
  /** A connection is open. */
  declare readonly OPEN: 1;
  /** `close()` was called. */
  declare readonly CLOSING: 2;
  /** Finished. */
  declare readonly CLOSED: 3;

  private readonly settings: ResolvedReconnect;
  private readonly queue: SendQueue;
  private phase: Phase = Phase.Connected;
  /** The current attempt or connection; null while waiting or when finished. */
  private currentSocket: WebSocket | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private finalInfo: ClosedInfo | null = null;
  private resolveClosed: ((info: ClosedInfo) => void) | null = null;
  private closedPromise: Promise<ClosedInfo> | null = null;
  private connections = 0;
  private binaryTypeValue: BinaryType = 'nodebuffer';

  /**
   * Start connecting to `address` (the first attempt begins at once).
   *
   * @param address - `ws://` or `wss://` URL
   * @param protocols - subprotocols offered on every connection
   * @param options - client options plus `backoff`, `shouldReconnect` and `sendQueue`; `heartbeatInterval` defaults to 30,000 ms
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad URL, subprotocol or option
   */
  constructor(address: string | URL, protocols?: string | readonly string[] | ReconnectOptions, options?: ReconnectOptions) {
    super();
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as ReconnectOptions;
      protocols = undefined;
    }
    this.settings = resolveReconnect(address, protocols as string | readonly string[] | undefined, options ?? {});
    this.queue = new SendQueue(this.settings.sendQueue);
    this.connect();
  }

  /** How binary messages are delivered: `Buffer` (default) or `ArrayBuffer`; applies to the current and every later connection. */
  get binaryType(): BinaryType {
    return this.binaryTypeValue;
  }

  set binaryType(value: BinaryType) {
    if (!['nodebuffer', 'arraybuffer', 'fragments', 'blob'].includes(value)) return;
    this.binaryTypeValue = value;
    if (this.currentSocket !== null) this.currentSocket.binaryType = value;
  }

  /** 0 CONNECTING (also while waiting to reconnect), 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    switch (this.phase) {
      case Phase.Closed:
        return CLOSED;
      case Phase.Closing:
        return CLOSING;
      case Phase.Waiting:
        return CONNECTING;
      default:
        return this.currentSocket?.readyState === OPEN ? OPEN : CONNECTING;
    }
  }

  /** The URL connected to. */
  get url(): string {
    return this.settings.url;
  }

  /** The subprotocol of the current connection, or ''. */
  get protocol(): string {
    return this.currentSocket?.protocol ?? '';
  }

  /** The extensions of the current connection, or ''. */
  get extensions(): string {
    return this.currentSocket?.extensions ?? '';
  }

  /** Bytes waiting: queued while offline plus buffered by the current connection. */
  get bufferedAmount(): number {
    return this.queue.bytes + (this.currentSocket?.bufferedAmount ?? 0);
  }

  /** Messages waiting in the offline queue. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  /** The current connection (open or being opened), or null while waiting or finished. */
  get current(): WebSocket | null {
    return this.currentSocket;
  }

  /** Connections opened so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Resolves once the client is finished (after `close()` or giving up). Never rejects. */
  get closed(): Promise<ClosedInfo> {
    if (this.closedPromise === null) {
      this.closedPromise =
        this.finalInfo !== null
          ? Promise.resolve(this.finalInfo)
          : new Promise((resolve) => {
              this.resolveClosed = resolve;
            });
    }
    return this.closedPromise;
  }

  /**
   * Send a message: at once when a connection is open, otherwise into the offline queue, flushed
   * in order on the next connection. `callback` is called exactly once: when the message was
   * handed to a connection's socket, or with a `WS_ERR_MESSAGE_DROPPED` error when it will not be
   * sent (queue full, evicted, connection lost before it was written, client closed).
   *
   * @returns false when the message was refused, or when the connection's buffer is over its high-water mark
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for data of another type or `fin: false` (fragments cannot survive a reconnect)
   */
  send(data: SendData, options?: SendOptions | Callback, callback?: Callback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (options?.fin === false) throw new WebSocketError(ErrorCode.InvalidArgument, 'ReconnectingWebSocket does not send fragments (fin: false)');
    const binary = options?.binary ?? typeof data !== 'string';
    const compress = options?.compress !== false;
    const ws = this.currentSocket;
    if (this.phase === Phase.Connected && ws !== null && ws.readyState === OPEN && this.queue.length === 0) {
      return ws.send(data, { binary, compress }, this.reporting(typeof data === 'string' ? data : toBuffer(data), callback));
    }
    const payload = typeof data === 'string' ? data : Buffer.from(toBuffer(data));
    const message: QueuedMessage = { data: payload, binary, compress, size: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length, callback };
    if (this.phase === Phase.Closing || this.phase === Phase.Closed) {
      this.drop(message, 'the client is closed');
      return false;
    }
    const { accepted, dropped } = this.queue.push(message);
    for (const lost of dropped) this.drop(lost, lost === message ? 'the offline send queue is full' : 'evicted from the full offline send queue');
    return accepted;
  }

  /** A send callback that reports a message the connection could not write. */
  private reporting(data: string | Buffer, callback: Callback | undefined): Callback {
    return (error) => {
      if (error) this.report(data, callback, new WebSocketError(ErrorCode.MessageDropped, `message dropped: ${error.message}`));
      else callback?.(null);
    };
  }

  private drop(message: QueuedMessage, why: string): void {
    this.report(message.data, message.callback, new WebSocketError(ErrorCode.MessageDropped, `message dropped: ${why}`));
  }

  private report(data: string | Buffer, callback: Callback | undefined, error: WebSocketError): void {
    // Reported on the next tick: a callback must not run inside the send() that accepted it.
    process.nextTick(() => {
      this.emit('drop', data, error);
      callback?.(error);
    });
  }

  /**
   * Send a message (as {@link send}) and resolve once it was handed to a connection's socket;
   * rejects with a `WS_ERR_MESSAGE_DROPPED` error when it will not be sent. Never hangs: a queued
   * message settles when it is flushed, or dropped at `close()` or when the client gives up.
   */
  sendAsync(data: SendData, options?: SendOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.send(data, options ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Ping the current connection (ws signature). Not queued: while no connection is open,
   * `callback` gets a `WS_ERR_INVALID_STATE` error.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  ping(data?: SendData, _mask?: boolean, callback?: Callback): void {
    this.control(true, data, callback);
  }

  /**
   * Send an unsolicited pong on the current connection (ws signature); not queued, like {@link ping}.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  pong(data?: SendData, _mask?: boolean, callback?: Callback): void {
    this.control(false, data, callback);
  }

  private control(ping: boolean, data: SendData | undefined, callback: Callback | undefined): void {
    const ws = this.currentSocket;
    if (ws !== null && ws.readyState === OPEN && this.phase === Phase.Connected) {
      if (ping) ws.ping(data, undefined, callback);
      else ws.pong(data, undefined, callback);
    } else if (callback !== undefined) {
      process.nextTick(callback, new WebSocketError(ErrorCode.InvalidState, 'no open connection'));
    }
  }

  /**
   * Stop reconnecting and close: the current connection with a closing handshake (messages it
   * already accepted go first); queued messages are dropped and reported. Resolves like {@link closed}.
   * Without a code, 1000 is sent.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent or a reason too long
   */
  close(code?: number, reason?: string | Buffer): Promise<ClosedInfo> {
    encodeClosePayload(code ?? CloseCode.Normal, reason ?? '');
    // This client's close() has always meant 1000 when no code is given.
    this.stop((ws) => void ws.close(code ?? CloseCode.Normal, reason));
    return this.closed;
  }

  /** Stop reconnecting and destroy the current connection at once (1006). */
  terminate(): void {
    this.stop((ws) => ws.terminate());
  }

  private stop(end: (ws: WebSocket) => void): void {
    if (this.phase === Phase.Closing || this.phase === Phase.Closed) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const message of this.queue.drain()) this.drop(message, 'the client was closed before it was sent');
    const ws = this.currentSocket;
    if (ws === null) {
      this.finish({ code: CloseCode.AbnormalClosure, reason: '', wasClean: false });
      return;
    }
    this.phase = Phase.Closing;
    end(ws);
  }

  private finish(info: ClosedInfo): void {
    this.phase = Phase.Closed;
    this.currentSocket = null;
    // On the next tick, after the drop reports already scheduled: 'close' is the last event.
    process.nextTick(() => {
      this.finalInfo = info;
      this.resolveClosed?.(info);
      this.resolveClosed = null;
      this.emit('close', info.code, Buffer.from(info.reason));
    });
  }

  // -- the loop ------------------------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    this.phase = Phase.Connected;
    let ws: WebSocket;
    try {
      // Options and URL were validated in the constructor; only `proxy: 'env'` reads something new (the environment).
      ws = new WebSocket(this.settings.url, this.settings.protocols, this.settings.client);
    } catch (error) {
      // Reported on the next tick, so that listeners attached after the constructor hear it.
      this.currentSocket = null;
      process.nextTick(() => {
        if (this.phase === Phase.Connected) this.giveUp({ kind: 'error', error: error as Error }, CloseCode.AbnormalClosure, '');
      });
      return;
    }
    ws.binaryType = this.binaryTypeValue;
    this.currentSocket = ws;
    watchAttempt(ws, {
      opened: (opened) => this.onOpen(opened),
      ended: (ended, cause, wasOpen, code, reason) => this.onEnded(ended, cause, wasOpen, code, reason),
    });
    ws.on('message', (data, isBinary) => this.emit('message', data, isBinary));
    ws.on('ping', (data) => this.emit('ping', data));
    ws.on('pong', (data) => this.emit('pong', data));
    ws.on('drain', () => this.emit('drain'));
    ws.on('error', (error) => {
      if (this.listenerCount('error') !== 0) this.emit('error', error);
    });
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.currentSocket) return;
    this.connections++;
    this.settings.backoff.opened(monotonicNow());
    if (this.phase === Phase.Closing) return;
    // Queued messages first, then 'open': messages go out in the order send() was called.
    for (let message = this.queue.shift(); message !== undefined; message = this.queue.shift()) {
      ws.send(message.data, { binary: message.binary, compress: message.compress }, this.reporting(message.data, message.callback));
    }
    this.emit('open');
  }

  private onEnded(ws: WebSocket, cause: DisconnectCause, wasOpen: boolean, code: number, reason: string): void {
    if (ws !== this.currentSocket) return;
    this.currentSocket = null;
    if (wasOpen) this.settings.backoff.closed(monotonicNow());
    if (this.phase === Phase.Closing) {
      this.finish({ code, reason, wasClean: code !== CloseCode.AbnormalClosure });
      return;
    }
    const delay = nextDelay(this.settings, cause);
    if (delay === null) {
      this.giveUp(cause, code, reason);
      return;
    }
    this.phase = Phase.Waiting;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.emit('reconnecting', { attempt: this.settings.backoff.retries, delay, cause });
  }

  private giveUp(cause: DisconnectCause, code: number, reason: string): void {
    const attempts = this.settings.backoff.retries;
    const error = gaveUpError(cause, attempts);
    for (const message of this.queue.drain()) this.drop(message, 'the client gave up reconnecting');
    this.phase = Phase.Closed;
    this.currentSocket = null;
    // 'close' and `closed` follow even when a 'give-up' listener throws.
    try {
      this.emit('give-up', { attempts, cause, error });
    } finally {
      this.finish({ code, reason, wasClean: cause.kind === 'closed' && code !== CloseCode.AbnormalClosure });
    }
  }
}

defineReadyStates(ReconnectingWebSocket);

function toBuffer(data: SendData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new WebSocketError(ErrorCode.InvalidArgument, 'data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}
