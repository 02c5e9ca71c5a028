/**
 * One WebSocket connection over a Node.js socket, for either role: the I/O driver of the sans-I/O
 * `Protocol`. It feeds socket reads to the protocol, dispatches the decoded events, and writes
 * everything the events produced in one batch (a single write, or a corked run for large
 * payloads), never one write per message. It owns the connection's timers (closing handshake,
 * heartbeat, idle) and both directions of backpressure: `send()` reports the high-water mark and
 * `'drain'` follows; reading pauses while the peer is not reading our output or while an async
 * iterator has unconsumed messages. It offers ws's event API and an async-first one. It does not
 * parse frames or HTTP itself, and it never lets a protocol error throw into the event loop.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  CloseCode,
  ErrorCode,
  type Extension,
  isSendableCloseCode,
  Protocol,
  type ProtocolEvent,
  type ProtocolOptions,
  SEND_EOF,
  State,
  WebSocketError,
} from '../core/index.js';
import type { ResolvedConnectionOptions } from './connection-options.js';
import { DeflateCodec } from './deflate-codec.js';
import type { ResolvedDeflateConfig } from './deflate-options.js';
import { PERMESSAGE_DEFLATE, type PerMessageDeflateExtension } from '../extensions/index.js';
import { type ClientOptions, parseWebSocketUrl, resolveClientOptions, startClientHandshake } from './connect.js';
import { allocate, asBuffer, isUtf8Buffer, sharedMaskKeys } from './platform.js';

/** How the connection ended. */
export interface ClosedInfo {
  /** Close code from the peer; 1005 if its close frame had none; 1006 if the connection ended without one. */
  readonly code: number;
  readonly reason: string;
  /** True when close frames went both ways before the socket closed. */
  readonly wasClean: boolean;
}

/** Data accepted by `send`. */
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** Options of one `send` call (ws-compatible). */
export interface SendOptions {
  /** Send as binary; default: true unless `data` is a string. */
  binary?: boolean;
  /** False to send a fragment and continue the message with further `send` calls. Default true. */
  fin?: boolean;
  /** False to send this message uncompressed when permessage-deflate is in use. Default true. */
  compress?: boolean;
  /** Accepted for compatibility; clients always mask, servers never do. */
  mask?: boolean;
}

/** Listener signatures of a {@link WebSocket}. */
export interface WebSocketEvents {
  open: [];
  message: [data: Buffer | ArrayBuffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  drain: [];
  'unexpected-response': [status: number, headers: Record<string, string>];
}

type Callback = (error?: Error | null) => void;

/** A send (or a close) waiting behind a message being compressed. */
interface OutgoingJob {
  readonly bytes: Uint8Array;
  readonly binary: boolean;
  readonly fin: boolean;
  readonly compress: boolean;
  readonly callback: Callback | undefined;
  readonly close: { readonly code: number | undefined; readonly reason: string | Buffer | undefined } | null;
}
type Message = string | Buffer | ArrayBuffer;

const EMPTY = Buffer.alloc(0);
/** Output batches up to this size are copied into one buffer and written with one `write`. */
const COALESCE_LIMIT = 64 * 1024;

const NOT_OPEN = (state: number) =>
  new WebSocketError(ErrorCode.InvalidState, `WebSocket is not open: readyState ${state} (${['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][state]})`);

/** Internal construction token: server-side and client connections are built by this package only. */
export const INTERNAL = Symbol('rfc6455.internal');

/**
 * A WebSocket connection. Made by `WebSocketServer` for each accepted client, or by
 * `new WebSocket(url)` (see `connect.ts`) as a client.
 */
export class WebSocket extends EventEmitter<WebSocketEvents> {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The closing handshake has started. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;
  /** The connection is being established. */
  readonly CONNECTING = 0;
  /** The connection is open. */
  readonly OPEN = 1;
  /** The closing handshake has started. */
  readonly CLOSING = 2;
  /** The connection is closed. */
  readonly CLOSED = 3;

  /** How binary messages are delivered: Node.js `Buffer` (default) or `ArrayBuffer`. */
  binaryType: 'nodebuffer' | 'arraybuffer' = 'nodebuffer';
  /** Whatever the server's `verify` hook attached to this connection (e.g. the authenticated user). */
  user: unknown = undefined;
  /** @internal The server that accepted this connection, told when it closes. */
  owner: { connectionClosed(ws: WebSocket): void } | null = null;

  protected socket: Socket | null = null;
  protected options: ResolvedConnectionOptions;
  private core: Protocol | null = null;
  private state: number = WebSocket.CONNECTING;
  private readonly isServer: boolean;
  private readonly urlText: string;
  private protocolName = '';
  private extensionsHeader = '';
  private closedPromise: Promise<ClosedInfo> | null = null;
  private resolveClosed: ((info: ClosedInfo) => void) | null = null;
  private closeResult: ClosedInfo | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private pendingCallbacks: Callback[] | null = null;
  private flushScheduled = false;
  private dispatching = false;
  private queuedBytes = 0;
  private aboveHighWater = false;
  private fragmenting = false;
  private readPausedForWrites = false;
  private iterator: MessageQueue | null = null;
  /** permessage-deflate codec, when negotiated. */
  private codec: DeflateCodec | null = null;
  private compressThreshold = 0;
  /** Events decoded after a compressed message that is still being inflated (they wait, in order). */
  private inbound: ProtocolEvent[] | null = null;
  /** Sends waiting behind a message being compressed (they go out in order). */
  private outbound: OutgoingJob[] | null = null;
  private outboundBytes = 0;
  private compressing = false;

  private abortHandshake: ((error: Error) => void) | null = null;

  /**
   * Connect to a WebSocket server.
   *
   * @param address - `ws://` or `wss://` URL
   * @param protocols - subprotocols to offer, most preferred first
   * @param options - client options (ws option names where the concept is the same)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad URL, subprotocol, header or option
   */
  constructor(address: string | URL, protocols?: string | readonly string[] | ClientOptions, options?: ClientOptions);
  /** @internal A server-side connection, made by `WebSocketServer`. */
  constructor(address: typeof INTERNAL, target: string, options: ResolvedConnectionOptions);
  constructor(
    address: string | URL | typeof INTERNAL,
    protocols?: string | readonly string[] | ClientOptions,
    options?: ClientOptions | ResolvedConnectionOptions,
  ) {
    super();
    if (address === INTERNAL) {
      this.isServer = true;
      this.urlText = protocols as string;
      this.options = options as ResolvedConnectionOptions;
      return;
    }
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as ClientOptions;
      protocols = undefined;
    }
    const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...(protocols as readonly string[])];
    const url = parseWebSocketUrl(address);
    const resolved = resolveClientOptions((options ?? {}) as ClientOptions);
    this.isServer = false;
    this.urlText = url.href;
    this.options = resolved.connection;
    this.abortHandshake = startClientHandshake(this, url, offered, resolved);
  }

  /** Resolves with the close code, reason and cleanliness once the connection is closed. Never rejects. */
  get closed(): Promise<ClosedInfo> {
    if (this.closedPromise === null) {
      // Made on first use: a connection nobody awaits costs no promise.
      this.closedPromise =
        this.closeResult !== null
          ? Promise.resolve(this.closeResult)
          : new Promise((resolve) => {
              this.resolveClosed = resolve;
            });
    }
    return this.closedPromise;
  }

  /** The connection state: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return this.state;
  }

  /** The URL (client) or request target (server) of this connection. */
  get url(): string {
    return this.urlText;
  }

  /** The subprotocol the handshake selected, or ''. */
  get protocol(): string {
    return this.protocolName;
  }

  /** The `Sec-WebSocket-Extensions` the handshake agreed on, or ''. */
  get extensions(): string {
    return this.extensionsHeader;
  }

  /** Bytes queued to be written (not yet handed to the kernel). */
  get bufferedAmount(): number {
    return this.queuedBytes + this.outboundBytes + (this.socket?.writableLength ?? 0);
  }

  /** The peer's IP address. */
  get remoteAddress(): string | undefined {
    return this.socket?.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.socket?.remotePort;
  }

  /**
   * Send a message, or a fragment of one with `{ fin: false }`.
   *
   * @returns false once `bufferedAmount` reached the high-water mark (wait for `'drain'`)
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING
   */
  send(data: SendData, options?: SendOptions | Callback, callback?: Callback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (this.state === WebSocket.CONNECTING) throw NOT_OPEN(this.state);
    const bytes = toBuffer(data);
    const protocol = this.core;
    if (this.state !== WebSocket.OPEN || protocol === null || protocol.closeSent !== null) {
      if (callback) process.nextTick(callback, NOT_OPEN(this.state));
      return false;
    }
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin ?? true;
    const codec = this.codec;
    const queue = this.outbound;
    // A continuation of a fragmented message (sent now or still queued) is never compressed alone.
    const continuing = queue !== null && queue.length !== 0 ? !queue[queue.length - 1]!.fin : this.fragmenting;
    const compress = codec !== null && fin && !continuing && options?.compress !== false && bytes.length >= this.compressThreshold && codec.canCompress;
    if (compress || this.outbound !== null) {
      // Compression is asynchronous: this message, and every send after it, waits its turn.
      (this.outbound ??= []).push({ bytes, binary, fin, compress, callback, close: null });
      this.outboundBytes += bytes.length;
      if (!this.compressing) this.runOutbound();
      return this.checkHighWater();
    }
    this.sendNow(protocol, bytes, binary, fin);
    return this.queued(callback);
  }

  private sendNow(protocol: Protocol, bytes: Uint8Array, binary: boolean, fin: boolean, rsv = 0): void {
    if (this.fragmenting) protocol.sendContinuation(bytes, fin);
    else if (binary) protocol.sendBinary(bytes, fin, rsv);
    else protocol.sendText(bytes, fin, rsv);
    this.fragmenting = !fin;
    this.queuedBytes += bytes.length;
  }

  /** Run queued sends in order until one needs compressing; it continues when that is done. */
  private runOutbound(): void {
    const queue = this.outbound;
    while (queue !== null && queue.length !== 0) {
      const job = queue[0]!;
      const protocol = this.core;
      if (job.close !== null) {
        queue.shift();
        this.outbound = queue.length === 0 ? null : queue;
        this.closeNow(job.close.code, job.close.reason);
        continue;
      }
      if (protocol === null || this.state !== WebSocket.OPEN || protocol.closeSent !== null) {
        queue.shift();
        this.outboundBytes -= job.bytes.length;
        if (job.callback) process.nextTick(job.callback, NOT_OPEN(this.state));
        continue;
      }
      if (!job.compress) {
        queue.shift();
        this.outboundBytes -= job.bytes.length;
        this.sendNow(protocol, job.bytes, job.binary, job.fin);
        this.queued(job.callback);
        continue;
      }
      this.compressing = true;
      this.codec!.compress(asBuffer(job.bytes), (error, compressed) => {
        this.compressing = false;
        queue.shift();
        this.outboundBytes -= job.bytes.length;
        const core = this.core;
        if (error || compressed === undefined || core === null || this.state !== WebSocket.OPEN || core.closeSent !== null) {
          if (job.callback) process.nextTick(job.callback, error ?? NOT_OPEN(this.state));
        } else {
          // "the Per-Message Compressed bit" is set on the first frame only (RFC 7692 §6).
          this.sendNow(core, compressed, job.binary, true, 0x40);
          this.queued(job.callback);
        }
        this.runOutbound();
      });
      return;
    }
    this.outbound = null;
  }

  private checkHighWater(): boolean {
    const below = this.bufferedAmount < this.options.highWaterMark;
    if (!below) this.aboveHighWater = true;
    return below;
  }

  /**
   * Send a message and resolve once it has been handed to the socket; waits for `'drain'` first
   * when the high-water mark is reached.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` when the connection is not open
   */
  async sendAsync(data: SendData, options?: SendOptions): Promise<void> {
    if (this.aboveHighWater) await new Promise<void>((resolve) => this.once('drain', resolve));
    await new Promise<void>((resolve, reject) => {
      this.send(data, options ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Send a ping (ws signature: `ping(data?, mask?, callback?)`).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  ping(data?: SendData, _mask?: boolean, callback?: Callback): void {
    this.control(true, data, callback);
  }

  /**
   * Send an unsolicited pong (ws signature: `pong(data?, mask?, callback?)`).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  pong(data?: SendData, _mask?: boolean, callback?: Callback): void {
    this.control(false, data, callback);
  }

  /**
   * Start the closing handshake. Resolves, like {@link WebSocket.closed}, when the connection is closed.
   *
   * @param code - 1000 (default), 1001–1003, 1007–1014 or 3000–4999
   * @param reason - at most 123 bytes of UTF-8
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent or a reason too long
   */
  close(code?: number, reason?: string | Buffer): Promise<ClosedInfo> {
    if (code !== undefined && !isSendableCloseCode(code)) {
      throw new WebSocketError(ErrorCode.InvalidArgument, `close code ${code} may not be sent`);
    }
    if (this.state === WebSocket.CONNECTING) {
      this.abortConnecting(new WebSocketError(ErrorCode.ConnectionFailed, 'WebSocket was closed before the connection was established'));
      return this.closed;
    }
    if (this.outbound !== null) {
      // Messages still being compressed go out first.
      if (this.state === WebSocket.OPEN) this.outbound.push({ bytes: EMPTY, binary: false, fin: true, compress: false, callback: undefined, close: { code, reason } });
      return this.closed;
    }
    this.closeNow(code, reason);
    return this.closed;
  }

  private closeNow(code: number | undefined, reason: string | Buffer | undefined): void {
    const protocol = this.core;
    if (this.state === WebSocket.OPEN && protocol !== null && protocol.state === State.Open) {
      protocol.sendClose(code ?? CloseCode.Normal, reason ?? '');
      this.state = WebSocket.CLOSING;
      this.flush();
      this.armCloseTimer();
    }
  }

  /** Destroy the socket at once, without a closing handshake (close code 1006). */
  terminate(): void {
    if (this.state === WebSocket.CLOSED) return;
    if (this.state === WebSocket.CONNECTING) {
      this.abortConnecting(new WebSocketError(ErrorCode.ConnectionFailed, 'WebSocket was closed before the connection was established'));
      return;
    }
    this.socket?.destroy();
  }

  /** Stop reading from the socket (incoming messages wait in the kernel). */
  pause(): void {
    this.socket?.pause();
  }

  /** Resume reading after {@link WebSocket.pause}. */
  resume(): void {
    if (!this.readPausedForWrites && !(this.iterator?.full ?? false) && this.inbound === null) this.socket?.resume();
  }

  /**
   * Iterate over incoming messages: text as `string`, binary as `Buffer` (or `ArrayBuffer`). The
   * socket stops reading while `maxQueuedMessages` wait unconsumed. Ends when the connection closes.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    if (this.iterator === null) this.iterator = new MessageQueue(this, this.options.maxQueuedMessages);
    return this.iterator;
  }

  // -- internal wiring (used by the server and the client connector) ---------------------------

  /** @internal Take over `socket` after a successful handshake; `head` holds bytes read past the HTTP head. */
  attach(
    socket: Socket,
    head: Uint8Array,
    protocolName: string,
    extensions: readonly Extension[],
    extensionsHeader: string,
    deflate: ResolvedDeflateConfig | null = null,
  ): void {
    this.abortHandshake = null;
    this.socket = socket;
    this.protocolName = protocolName;
    this.extensionsHeader = extensionsHeader;
    const o = this.options;
    this.core = new Protocol(extensions.length === 0 ? sharedProtocolOptions(o, this.isServer) : { ...protocolOptions(o, this.isServer), extensions });
    const pmd = extensions.find((e): e is PerMessageDeflateExtension => e.name === PERMESSAGE_DEFLATE);
    if (pmd !== undefined && deflate !== null) {
      this.codec = new DeflateCodec(pmd, { level: deflate.level, memLevel: deflate.memLevel, maxPayload: o.maxPayload, limiter: deflate.limiter });
      this.compressThreshold = deflate.threshold;
    }
    this.state = WebSocket.OPEN;
    socket.setNoDelay(true);
    // Module-level handlers find their WebSocket through the socket: no closures per connection.
    (socket as OwnedSocket)[OWNER] = this;
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('error', noop);
    socket.on('drain', socketOnDrain);
    if (o.idleTimeout > 0) {
      socket.setTimeout(o.idleTimeout);
      socket.on('timeout', socketOnTimeout);
    }
    if (o.heartbeatInterval > 0) this.scheduleHeartbeat();
    this.emit('open');
    if (head.length !== 0) this.onData(asBuffer(head));
    if (socket.readableEnded) this.onEnd();
  }

  /** @internal The client handshake failed or was aborted: report and close with 1006. */
  failConnecting(error: Error): void {
    if (this.state !== WebSocket.CONNECTING) return;
    this.abortHandshake = null;
    this.state = WebSocket.CLOSED;
    if (this.listenerCount('error') !== 0) this.emit('error', error);
    this.finishClose({ code: CloseCode.AbnormalClosure, reason: '', wasClean: false });
  }

  /** @internal The server answered the handshake with a status other than 101. */
  emitUnexpectedResponse(status: number, headers: Record<string, string>): void {
    this.emit('unexpected-response', status, headers);
  }

  private abortConnecting(error: Error): void {
    if (this.abortHandshake !== null) this.abortHandshake(error);
    else this.failConnecting(error);
  }

  // -- reading -----------------------------------------------------------------------------

  /** @internal */
  onData(chunk: Buffer): void {
    const protocol = this.core;
    if (protocol === null) return;
    this.awaitingPong = false;
    protocol.receiveData(chunk);
    this.dispatch(protocol);
    this.flush();
  }

  /** @internal */
  onEnd(): void {
    const protocol = this.core;
    if (protocol === null || protocol.state === State.Closed) return;
    protocol.receiveEof();
    this.dispatch(protocol);
    this.flush();
  }

  /** @internal */
  onSocketClose(): void {
    const protocol = this.core;
    if (protocol !== null && protocol.state !== State.Closed) {
      protocol.receiveEof();
      protocol.dataToSend();
      this.dispatch(protocol);
    }
  }

  private dispatch(protocol: Protocol): void {
    const events = protocol.eventsReceived();
    if (events.length === 0) return;
    if (this.inbound !== null) {
      // A compressed message is being inflated: later events wait behind it, in order.
      for (const event of events) this.inbound.push(event);
      return;
    }
    this.dispatchEvents(events);
  }

  private dispatchEvents(events: readonly ProtocolEvent[]): void {
    this.dispatching = true;
    try {
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        if (event.type === 'message' && event.compressed) {
          this.inbound = events.slice(i + 1);
          this.inflate(event.data, event.binary);
          return;
        }
        this.handle(event);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Inflate a compressed message; reading stops and output waits until it is delivered. */
  private inflate(data: Uint8Array, binary: boolean): void {
    const codec = this.codec;
    if (codec === null) {
      // RSV1 without a codec cannot happen: the core only accepts it when deflate was negotiated.
      this.failConnection(new WebSocketError(ErrorCode.InternalError, 'compressed message without a codec'));
      this.resumeInbound();
      return;
    }
    this.socket?.pause();
    codec.decompress(asBuffer(data), (error, inflated) => {
      if (error || inflated === undefined) {
        this.failConnection(error instanceof WebSocketError ? error : new WebSocketError(ErrorCode.InvalidCompressedData, 'invalid compressed data'));
      } else if (!binary && !isUtf8Buffer(inflated)) {
        this.failConnection(new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in text message'));
      } else if (this.state === WebSocket.OPEN || this.state === WebSocket.CLOSING) {
        this.handle({ type: 'message', binary, data: inflated, compressed: false });
      }
      this.resumeInbound();
    });
  }

  private resumeInbound(): void {
    const pending = this.inbound ?? [];
    this.inbound = null;
    this.dispatchEvents(pending);
    if (this.inbound === null) {
      this.resume();
      this.flush();
    }
  }

  /** Fail the connection for an error found outside the core (inflation, UTF-8 after inflation). */
  private failConnection(error: WebSocketError): void {
    const protocol = this.core;
    if (protocol === null || protocol.state === State.Closed) return;
    // Nothing decoded after the bad message may be delivered, but the end of the connection may.
    if (this.inbound !== null) this.inbound = this.inbound.filter((e) => e.type === 'closed');
    if (this.state === WebSocket.OPEN) this.state = WebSocket.CLOSING;
    if (this.listenerCount('error') !== 0) this.emit('error', error);
    protocol.fail(error.closeCode ?? CloseCode.InternalError, error.closeCode === CloseCode.InternalError ? '' : error.message);
  }

  private handle(event: ProtocolEvent): void {
    switch (event.type) {
      case 'message': {
        const data = event.binary && this.binaryType === 'arraybuffer' ? toArrayBuffer(event.data) : asBuffer(event.data);
        if (this.iterator !== null) this.iterator.push(event.binary ? data : asBuffer(event.data).toString('utf8'));
        this.emit('message', data, event.binary);
        break;
      }
      case 'ping':
        this.emit('ping', asBuffer(event.data));
        break;
      case 'pong':
        this.emit('pong', asBuffer(event.data));
        break;
      case 'close':
        // The peer started closing (or answered our close): nothing more may be sent after the
        // replies to messages that came before it, which were dispatched first.
        if (this.state === WebSocket.OPEN) this.state = WebSocket.CLOSING;
        break;
      case 'error':
        if (this.state === WebSocket.OPEN) this.state = WebSocket.CLOSING;
        if (this.listenerCount('error') !== 0) this.emit('error', event.error);
        break;
      case 'closed':
        this.finishClose(event);
        break;
    }
  }

  // -- writing -----------------------------------------------------------------------------

  private control(ping: boolean, data: SendData | undefined, callback: Callback | undefined): void {
    if (this.state === WebSocket.CONNECTING) throw NOT_OPEN(this.state);
    const bytes = data === undefined ? EMPTY : toBuffer(data);
    const protocol = this.core;
    if (this.state !== WebSocket.OPEN || protocol === null || protocol.closeSent !== null) {
      if (callback) process.nextTick(callback, NOT_OPEN(this.state));
      return;
    }
    if (ping) protocol.sendPing(bytes);
    else protocol.sendPong(bytes);
    this.queued(callback);
  }

  private queued(callback: Callback | undefined): boolean {
    if (callback !== undefined) (this.pendingCallbacks ??= []).push(callback);
    if (!this.dispatching && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    const below = this.bufferedAmount < this.options.highWaterMark;
    if (!below) this.aboveHighWater = true;
    return below;
  }

  /** Write everything the protocol has queued, in one batch. */
  private flush(): void {
    this.flushScheduled = false;
    const protocol = this.core;
    const socket = this.socket;
    if (protocol === null || socket === null) return;
    // While a message is being inflated, its reply must go out before anything the events behind
    // it produced (a close reply, say): wait.
    if (this.inbound !== null) return;
    const callbacks = this.pendingCallbacks;
    this.pendingCallbacks = null;
    const output = protocol.dataToSend();
    this.queuedBytes = 0;
    let count = output.length;
    const end = count !== 0 && output[count - 1] === SEND_EOF;
    if (end) count--;
    const done = callbacks === null ? undefined : (error?: Error | null) => callAll(callbacks, error ?? null);
    if (socket.destroyed || !socket.writable) {
      if (done) process.nextTick(done, NOT_OPEN(this.state));
    } else if (count === 0) {
      if (done) process.nextTick(done, null);
    } else if (count === 1) {
      socket.write(output[0] as Uint8Array, done);
    } else {
      let total = 0;
      for (let i = 0; i < count; i++) total += (output[i] as Uint8Array).length;
      if (total <= COALESCE_LIMIT) {
        const batch = Buffer.allocUnsafe(total);
        let offset = 0;
        for (let i = 0; i < count; i++) {
          const chunk = output[i] as Uint8Array;
          batch.set(chunk, offset);
          offset += chunk.length;
        }
        socket.write(batch, done);
      } else {
        socket.cork();
        for (let i = 0; i < count - 1; i++) socket.write(output[i] as Uint8Array);
        socket.write(output[count - 1] as Uint8Array, done);
        socket.uncork();
      }
    }
    if (end && !socket.destroyed) socket.end();
    if (protocol.closeExpected()) this.armCloseTimer();
    this.checkWriteBackpressure(socket);
  }

  private checkWriteBackpressure(socket: Socket): void {
    const buffered = socket.writableLength;
    if (buffered > this.options.maxBufferedAmount) {
      if (this.listenerCount('error') !== 0) {
        this.emit('error', new WebSocketError(ErrorCode.BufferLimit, 'peer is not reading: buffered output over maxBufferedAmount'));
      }
      socket.destroy();
      return;
    }
    if (buffered >= this.options.highWaterMark) {
      this.aboveHighWater = true;
      if (!this.readPausedForWrites) {
        // The peer is not reading what we write: stop reading what it sends, so a slow reader
        // (of an echo, say) cannot make our output buffer grow.
        this.readPausedForWrites = true;
        socket.pause();
      }
    }
  }

  /** @internal */
  onDrain(): void {
    if (this.readPausedForWrites) {
      this.readPausedForWrites = false;
      this.resume();
    }
    if (this.aboveHighWater && this.bufferedAmount < this.options.highWaterMark) {
      this.aboveHighWater = false;
      this.emit('drain');
    }
  }

  // -- timers --------------------------------------------------------------------------------

  private armCloseTimer(): void {
    if (this.closeTimer !== null || this.state === WebSocket.CLOSED) return;
    this.closeTimer = setTimeout(() => this.socket?.destroy(), this.options.closeTimeout);
    this.closeTimer.unref();
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = setTimeout(() => this.heartbeat(), this.options.heartbeatInterval);
    this.heartbeatTimer.unref();
  }

  private heartbeat(): void {
    if (this.state !== WebSocket.OPEN) return;
    if (this.awaitingPong) {
      // Nothing arrived for a whole interval after our ping: a zombie or half-open connection.
      this.socket?.destroy();
      return;
    }
    this.awaitingPong = true;
    this.ping();
    this.scheduleHeartbeat();
  }

  /** @internal */
  onIdle(): void {
    if (this.state === WebSocket.OPEN) this.close(CloseCode.GoingAway, 'idle timeout');
    else this.socket?.destroy();
  }

  // -- closing -------------------------------------------------------------------------------

  private finishClose(info: ClosedInfo): void {
    this.state = WebSocket.CLOSED;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.closeTimer = null;
    this.heartbeatTimer = null;
    const socket = this.socket;
    if (socket !== null && !socket.destroyed) {
      if (socket.writableLength === 0 || !socket.writable) socket.destroy();
      else socket.once('finish', () => socket.destroy());
    }
    if (this.pendingCallbacks !== null) {
      const callbacks = this.pendingCallbacks;
      this.pendingCallbacks = null;
      process.nextTick(callAll, callbacks, NOT_OPEN(WebSocket.CLOSED));
    }
    this.iterator?.end();
    this.codec?.close();
    if (this.outbound !== null) {
      for (const job of this.outbound) if (job.callback) process.nextTick(job.callback, NOT_OPEN(WebSocket.CLOSED));
      this.outbound = null;
      this.outboundBytes = 0;
    }
    this.closeResult = { code: info.code, reason: info.reason, wasClean: info.wasClean };
    this.resolveClosed?.(this.closeResult);
    this.owner?.connectionClosed(this);
    this.emit('close', info.code, Buffer.from(info.reason));
  }
}

/** Protocol options for a set of connection options, built once and shared by every connection that uses them. */
function protocolOptions(o: ResolvedConnectionOptions, isServer: boolean): ProtocolOptions {
  return {
    role: isServer ? 'server' : 'client',
    maxMessageSize: o.maxPayload,
    maxFrameSize: o.maxFrameSize,
    maxFragments: o.maxFragments,
    autoPong: o.autoPong,
    fragmentSize: o.fragmentSize,
    allocate,
    isUtf8: isUtf8Buffer,
    ...(isServer ? {} : { maskKeyPool: sharedMaskKeys }),
  };
}
const sharedOptions = new WeakMap<ResolvedConnectionOptions, { server?: ProtocolOptions; client?: ProtocolOptions }>();
function sharedProtocolOptions(o: ResolvedConnectionOptions, isServer: boolean): ProtocolOptions {
  let entry = sharedOptions.get(o);
  if (entry === undefined) sharedOptions.set(o, (entry = {}));
  return isServer ? (entry.server ??= Object.freeze(protocolOptions(o, true))) : (entry.client ??= Object.freeze(protocolOptions(o, false)));
}

const OWNER = Symbol('rfc6455.websocket');
type OwnedSocket = Socket & { [OWNER]: WebSocket };

function socketOnData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[OWNER].onData(chunk);
}
function socketOnEnd(this: Socket): void {
  (this as OwnedSocket)[OWNER].onEnd();
}
function socketOnClose(this: Socket): void {
  (this as OwnedSocket)[OWNER].onSocketClose();
}
function socketOnDrain(this: Socket): void {
  (this as OwnedSocket)[OWNER].onDrain();
}
function socketOnTimeout(this: Socket): void {
  (this as OwnedSocket)[OWNER].onIdle();
}
function noop(): void {}

function callAll(callbacks: readonly Callback[], error: Error | null): void {
  for (const callback of callbacks) callback(error);
}

function toBuffer(data: SendData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new WebSocketError(ErrorCode.InvalidArgument, 'data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Messages waiting for an async iterator, with inbound backpressure. */
class MessageQueue implements AsyncIterableIterator<Message> {
  private readonly items: Message[] = [];
  private waiting: ((result: IteratorResult<Message>) => void) | null = null;
  private ended = false;
  private paused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly limit: number,
  ) {}

  get full(): boolean {
    return this.paused;
  }

  push(message: Message): void {
    if (this.ended) return;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: message, done: false });
      return;
    }
    this.items.push(message);
    if (!this.paused && this.items.length >= this.limit) {
      this.paused = true;
      this.ws.pause();
    }
  }

  end(): void {
    this.ended = true;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<Message>> {
    const message = this.items.shift();
    if (message !== undefined) {
      if (this.paused && this.items.length <= this.limit >> 1) {
        this.paused = false;
        this.ws.resume();
      }
      return Promise.resolve({ value: message, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<Message>> {
    this.ended = true;
    this.items.length = 0;
    if (this.paused) {
      this.paused = false;
      this.ws.resume();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }
}
