/**
 * `WebSocket`: the public, ws-compatible facade over one {@link Connection}, for either role.
 * A client is made with `new WebSocket(url, protocols?, options?)`, which runs the opening
 * handshake and adopts its result; a server-side WebSocket is made by the server's accept
 * pipeline from a finished handshake ({@link adoptWebSocket}). It turns arguments into bytes
 * (validating them synchronously, so a bad `close()` reason throws at the call, never later in a
 * callback), delivers messages as ws does (`Buffer` or `ArrayBuffer`, `isBinary`), and offers the
 * async API (`for await`, `sendAsync`, `closed`), ws's argument forms (`ping(cb)`, numbers, no
 * data, `Blob`s), ws's client events (`upgrade`, `unexpected-response`, `redirect`) and ws's
 * WHATWG emulation (`onmessage`, `addEventListener`, see `ws-events.ts`, which costs nothing until
 * used). Its state is read from the connection, which reads the core's: this class keeps only what
 * exists before a connection does (the URL, `binaryType`), and nothing it does or receives can
 * throw into the event loop.
 */
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex, DuplexOptions } from 'node:stream';
import { argumentError, CloseCode, encodeClosePayload, ErrorCode, isSendableCloseCode, MAX_CONTROL_PAYLOAD, WebSocketError } from '../core/index.js';
import type { AdmissionRecord } from '../policy/index.js';
import { checkTopic, isUserKey } from '../pubsub/index.js';
import { checkProtocols, type ClientOptions, openClientHandshake, parseWebSocketUrl, resolveClientOptions } from './client/connect.js';
import { type ClosedInfo, Connection, type ConnectionOwner, type DropReason, type HandshakeResult, notOpenError, type TopicHub } from './connection/connection.js';
import type { ResolvedConnectionOptions } from './connection/connection-options.js';
import type { ResolvedDeflateConfig } from './connection/deflate-options.js';
import { type IteratedMessage, MessageQueue } from './connection/message-queue.js';
import { PauseReason } from './connection/pause-reasons.js';
import { defineReadyStates } from './ready-state.js';
import { asBuffer, toBuffer } from './platform.js';
import type { ServerOptions, VerifyClientInfo, WebSocketServer } from './server/server.js';
import type { PerMessageDeflateConfig } from './connection/deflate-options.js';
import { addEventListener, defineEventAttributes, removeEventListener, type WsCloseEvent, type WsErrorEvent, type WsEvent, type WsEventListener, type WsMessageEvent } from './ws-events.js';

export type { ClosedInfo } from './connection/connection.js';

/**
 * Data accepted by `send`, `ping` and `pong`, as in ws: text, bytes, a `Blob` (sent in order once
 * read), a number (sent as its decimal text), an array of byte values, or nothing (an empty message).
 */
export type SendData = string | number | Buffer | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | Blob | readonly number[] | readonly Uint8Array[];

/** A received binary message, per `binaryType` (ws's `RawData`; a `Blob` with `binaryType = 'blob'`). */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/** ws's `Data`: a message as text or bytes. */
export type Data = string | Buffer | ArrayBuffer | Buffer[];

/** The values of `binaryType`: ws's three, and `'blob'`. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
const BINARY_TYPES: readonly BinaryType[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

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

/** Options of a publish. */
export interface PublishOptions {
  /** Send as binary; default: true unless `data` is a string. */
  binary?: boolean;
  /** False to send it uncompressed to subscribers that negotiated permessage-deflate. Default true. */
  compress?: boolean;
}

/** Listener signatures of a {@link WebSocket}. */
export interface WebSocketEvents {
  open: [];
  message: [data: RawData, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  drain: [];
  /** The server's 101 response (client), e.g. to read `Set-Cookie`. */
  upgrade: [response: IncomingMessage];
  /** A non-101 answer (client): the request and the response, whose body is readable. With a listener, no 'error' follows; 'close' (1006) does once the response ends. */
  'unexpected-response': [request: ClientRequest, response: IncomingMessage];
  /** A redirect is followed (client, `followRedirects`): the new URL and its request. */
  redirect: [url: string, request: ClientRequest];
  dropped: [info: DroppedInfo];
}

/** A published message this connection did not get (see `publishBackpressureLimit`). */
export interface DroppedInfo {
  /** The topic it was published to, or undefined for a direct message (`sendToUser`). */
  readonly topic: string | undefined;
  /** The user a direct message was for. */
  readonly user: string | undefined;
  /** `'backpressure'`: this connection's unwritten output was over the limit; `'fragmented-send'`: a fragmented message of yours was half sent. */
  readonly reason: DropReason;
  /** The message's size. */
  readonly bytes: number;
}

type Callback = (error?: Error) => void;

/** A finished server-side handshake waiting to be adopted by the WebSocket being constructed. */
interface Adoption {
  readonly result: HandshakeResult;
  readonly target: string;
  readonly options: ResolvedConnectionOptions;
  readonly deflate: ResolvedDeflateConfig | null;
}
let adopting: Adoption | null = null;

const EMPTY = Buffer.alloc(0);
const CONNECTING = 0 as const;
const OPEN = 1 as const;
const CLOSING = 2 as const;
const CLOSED = 3 as const;
/**
 * The WebSocket's listener table: the events nearly every application listens to in a fixed
 * shape, and nothing inherited (`'toString'` or `'__proto__'` are event names like any other),
 * as EventEmitter's own null-prototype table.
 */
function ListenerTable(this: Record<string, unknown>): void {
  this.message = undefined;
  this.close = undefined;
  this.error = undefined;
  this.open = undefined;
}
ListenerTable.prototype = Object.create(null) as object;
const ListenerTable_ = ListenerTable as unknown as new () => object;

/**
 * Sends waiting behind a `Blob` being read, per WebSocket (kept outside the object: an idle
 * connection holds no field for it), and how many WebSockets have one (0 skips the lookup).
 */
const blobChains = new WeakMap<WebSocket, BlobChain>();
let blobChainCount = 0;

/** A WebSocket's sends behind a Blob: the last step, and the bytes still waiting in it. */
interface BlobChain {
  tail: Promise<void>;
  waiting: number;
}

/**
 * Make `next(tail)` the chain's last step; the chain is dropped once its last step has run.
 * Steps never reject (user callbacks run outside the chain), so every step after one runs.
 */
function appendToChain(ws: WebSocket, chain: BlobChain, next: (tail: Promise<void>) => Promise<void>): void {
  const step: Promise<void> = next(chain.tail).finally(() => {
    if (chain.tail !== step) return;
    blobChains.delete(ws);
    blobChainCount--;
  });
  chain.tail = step;
}
/** `abortHandshake` once close() or terminate() aborted the handshake (CLOSING until the next tick). */
const ABORTED = (): void => {};

/**
 * A WebSocket connection. Made by `WebSocketServer` for each accepted client, or by
 * `new WebSocket(url)` as a client. (It is its connection's `ConnectionHost` and its iterator's
 * `ReadControl`, checked where it is handed over; no `implements` clause, so the internal
 * interfaces stay out of the published declarations.)
 */
export class WebSocket extends EventEmitter<WebSocketEvents> {
  /** The connection is being established (read-only, as in ws and the browser). */
  declare static readonly CONNECTING: 0;
  /** The connection is open. */
  declare static readonly OPEN: 1;
  /** The closing handshake has started. */
  declare static readonly CLOSING: 2;
  /** The connection is closed. */
  declare static readonly CLOSED: 3;
  /** ws's root property: the server class. */
  declare static Server: typeof WebSocketServer;
  /** ws's root property: the server class. */
  declare static WebSocketServer: typeof WebSocketServer;
  /** ws's root property: this class. */
  declare static WebSocket: typeof WebSocket;
  /** ws's root property: see {@link createWebSocketStream}. */
  declare static createWebSocketStream: (websocket: WebSocket, options?: DuplexOptions) => Duplex;
  /** The connection is being established (on the prototype: no memory per connection). */
  declare readonly CONNECTING: 0;
  /** The connection is open. */
  declare readonly OPEN: 1;
  /** The closing handshake has started. */
  declare readonly CLOSING: 2;
  /** The connection is closed. */
  declare readonly CLOSED: 3;

  /** WHATWG event attribute (ws's emulation; an accessor on the prototype, costing nothing until set). */
  declare onopen: ((this: WebSocket, event: WsEvent) => void) | null;
  /** WHATWG event attribute: `event.data` is a string for text, per `binaryType` for binary. */
  declare onmessage: ((this: WebSocket, event: WsMessageEvent) => void) | null;
  /** WHATWG event attribute: `event.code`, `event.reason`, `event.wasClean`. */
  declare onclose: ((this: WebSocket, event: WsCloseEvent) => void) | null;
  /** WHATWG event attribute: `event.error`, `event.message`. */
  declare onerror: ((this: WebSocket, event: WsErrorEvent) => void) | null;

  /** Whatever the server's `verify` hook attached to this connection (e.g. the authenticated user). */
  user: unknown = undefined;

  private _connection: Connection | null = null;
  /** Index into BINARY_TYPES. */
  private _binaryKind = 0;
  private _urlText: string;
  private _protocolName = '';
  private _extensionsHeader = '';
  /** What only some WebSockets use (see {@link WebSocketExtras}), made on first need. */
  private _extras: WebSocketExtras | null = null;

  /**
   * Connect to a WebSocket server.
   *
   * @param address - `ws://`, `wss://` or `ws+unix:` URL
   * @param protocols - subprotocols to offer, most preferred first (or the options)
   * @param options - client options (ws's, and this library's)
   * @throws {SyntaxError} `WS_ERR_INVALID_ARGUMENT` for a bad URL or subprotocol ({TypeError} / {RangeError} for a bad option)
   */
  constructor(address: string | URL | null, protocols?: string | readonly string[] | ClientOptions, options?: ClientOptions) {
    super();
    // The listener table in a fixed shape for the events nearly every application listens to
    // (as Node's own streams do): EventEmitter's default is a dictionary-mode object of ~160
    // bytes as soon as one listener is added, on every connection.
    (this as unknown as { _events: object })._events = new ListenerTable_();
    const adoption = adopting;
    adopting = null;
    if (adoption !== null) {
      // Server side: the accept pipeline hands over a finished handshake.
      this._urlText = adoption.target;
      this._adopt(adoption.result, adoption.options, true, adoption.deflate);
      return;
    }
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as ClientOptions;
      protocols = undefined;
    }
    const offered = checkProtocols(protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols]);
    const url = parseWebSocketUrl(address as string | URL);
    const resolved = resolveClientOptions((options ?? {}) as ClientOptions);
    this._urlText = url.href;
    const extras = (this._extras = new WebSocketExtras(resolved.connection.maxQueuedMessages));
    extras.abortHandshake = openClientHandshake(url, offered, resolved, this._handshakeHost(), (outcome) => {
      extras.abortHandshake = null;
      if (outcome.ok) {
        this._adopt(outcome.result, resolved.connection, false, resolved.deflate);
        try {
          this.emit('open');
        } finally {
          // Delivery starts on the next turn (as in browsers): code that awaits 'open' and only
          // then attaches its 'message' listener still gets the frames right behind the 101.
          // A throwing 'open' listener does not leave the connection unread.
          this._connection!.start(true);
        }
        return;
      }
      const failed: ClosedInfo = { code: CloseCode.AbnormalClosure, reason: '', wasClean: false };
      extras.failedInfo = failed;
      if (!outcome.handled && this.listenerCount('error') !== 0) this.emit('error', outcome.error);
      this._onClosed(failed);
    });
  }

  /** What the client handshake reports to (made once per client; a server-side WebSocket never makes it). */
  private _handshakeHost() {
    return {
      websocket: this,
      upgrade: (response: IncomingMessage): boolean => {
        this.emit('upgrade', response);
        // A listener may have closed or terminated the WebSocket.
        const extras = this._extras!;
        return extras.abortHandshake !== null && extras.abortHandshake !== ABORTED && extras.failedInfo === null;
      },
      unexpected: (request: ClientRequest, response: IncomingMessage): boolean => this.emit('unexpected-response', request, response),
      redirect: (url: string, request: ClientRequest): void => {
        this._urlText = url;
        this.emit('redirect', url, request);
      },
      handlesRedirects: (): boolean => this.listenerCount('redirect') !== 0,
    };
  }

  private _adopt(result: HandshakeResult, options: ResolvedConnectionOptions, isServer: boolean, deflate: ResolvedDeflateConfig | null): void {
    this._protocolName = result.protocol;
    this._extensionsHeader = result.extensionsHeader;
    this._connection = new Connection(this, result, options, isServer, deflate);
  }

  /** The extras, made now if this is their first use (a server-side WebSocket: its connection gives the iterator's limit). */
  private _more(): WebSocketExtras {
    return (this._extras ??= new WebSocketExtras(this._connection!.maxQueuedMessages));
  }

  /** The events that have listeners (the fixed-shape listener table holds empty slots too). */
  override eventNames() {
    return super.eventNames().filter((name) => this.listenerCount(name) !== 0);
  }

  /** Resolves with the close code, reason and cleanliness once the connection is closed. Never rejects. */
  get closed(): Promise<ClosedInfo> {
    return this._whenClosed();
  }

  /** @internal The closed promise (what `closed` returns; an application may assign over `closed`). */
  _whenClosed(): Promise<ClosedInfo> {
    const extras = this._more();
    if (extras.closedPromise === null) {
      // Made on first use: a connection nobody awaits costs no promise.
      const info = this._closeInfo;
      extras.closedPromise =
        info !== null
          ? Promise.resolve(info)
          : new Promise((resolve) => {
              extras.resolveClosed = resolve;
            });
    }
    return extras.closedPromise;
  }

  /**
   * How binary messages are delivered: `'nodebuffer'` (default, a `Buffer`), `'arraybuffer'`,
   * `'fragments'` (an array of `Buffer`s) or `'blob'`. Other values are ignored, as in ws and browsers.
   */
  get binaryType(): BinaryType {
    return BINARY_TYPES[this._binaryKind]!;
  }
  set binaryType(type: BinaryType) {
    const kind = BINARY_TYPES.indexOf(type);
    if (kind !== -1) this._binaryKind = kind;
  }

  /** @internal How the connection ended, once it has (for the WHATWG emulation's `wasClean`). */
  get _closeInfo(): ClosedInfo | null {
    return this._connection?.closed ?? this._extras?.failedInfo ?? null;
  }

  /** The connection state: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): 0 | 1 | 2 | 3 {
    const connection = this._connection;
    // close() while a Blob is read: CLOSING from the call on, as in ws and browsers, though the
    // close frame waits for the sends accepted before it (the connection knows: Connection.queueClose).
    if (connection !== null) return connection.readyState as 0 | 1 | 2 | 3;
    // A WebSocket without a connection is a client in its handshake: it has its extras.
    const extras = this._extras!;
    return extras.failedInfo !== null ? CLOSED : extras.abortHandshake === ABORTED ? CLOSING : CONNECTING;
  }

  /** The URL (client) or request target (server) of this connection. */
  get url(): string {
    return this._urlText;
  }

  /** The subprotocol the handshake selected, or ''. */
  get protocol(): string {
    return this._protocolName;
  }

  /** The `Sec-WebSocket-Extensions` the handshake agreed on, or ''. */
  get extensions(): string {
    // ws gives the names, comma-separated ("permessage-deflate"); the negotiated parameters are
    // in the response's Sec-WebSocket-Extensions header ('upgrade' event).
    const header = this._extensionsHeader;
    if (header === '') return '';
    let names = '';
    for (const part of header.split(',')) {
      const end = part.indexOf(';');
      names += (names === '' ? '' : ',') + (end === -1 ? part : part.slice(0, end)).trim();
    }
    return names;
  }

  /** @internal The negotiated Sec-WebSocket-Extensions value (what the WHATWG `extensions` is). */
  get _extensionsValue(): string {
    return this._extensionsHeader;
  }

  /** Bytes accepted by `send` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    const buffered = this._connection?.bufferedAmount ?? 0;
    return blobChainCount === 0 ? buffered : buffered + (blobChains.get(this)?.waiting ?? 0);
  }

  /** Whether the application paused reading with {@link WebSocket.pause}. */
  get isPaused(): boolean {
    return this._connection?.isPaused ?? false;
  }

  /** The peer's IP address. */
  get remoteAddress(): string | undefined {
    return (this._connection?.transport as { remoteAddress?: string } | undefined)?.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return (this._connection?.transport as { remotePort?: number } | undefined)?.remotePort;
  }

  /**
   * Send a message, or a fragment of one with `{ fin: false }`. When the connection is not open
   * the message is not sent and `callback` gets the error; nothing throws. As in ws, a number is
   * sent as text, no data (or a falsy value) as an empty message, and a `Blob` once it is read
   * (messages sent after it wait for it, so the order holds).
   *
   * @returns false once `bufferedAmount` reached the high-water mark (wait for `'drain'`), or when not sent
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; {TypeError} `WS_ERR_INVALID_ARGUMENT` for data of another type
   */
  send(data?: SendData | null, options?: SendOptions | Callback, callback?: Callback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    this._assertNotConnecting();
    if (typeof data === 'number') data = String(data);
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin ?? true;
    const compress = options?.compress !== false;
    if (isBlob(data) || (blobChainCount !== 0 && blobChains.has(this))) {
      if (!this._sendLater(data ?? null, binary, fin, compress, callback)) return false;
      const connection = this._connection;
      if (connection === null || this.bufferedAmount < connection.highWaterMark) return true;
      // 'drain' follows once the data behind the Blob has been written.
      connection.markAboveHighWater();
      return false;
    }
    const bytes = toPayload(data);
    const connection = this._openOrReject(callback);
    if (connection === null) return false;
    return connection.send(bytes, binary, fin, compress, callback);
  }

  /**
   * Send after the Blobs before it are read: in order, each callback settled once. Returns false
   * when refused at once (after close(), even one still waiting behind a Blob).
   */
  private _sendLater(data: SendData | null, binary: boolean, fin: boolean, compress: boolean, callback: Callback | undefined): boolean {
    // A bad argument throws here, at the call, as for any send.
    const bytes = isBlob(data) ? null : toPayload(data);
    if (this._connection !== null && this._openOrReject(callback) === null) return false;
    const read = bytes === null ? (data as Blob).arrayBuffer().then((buffer) => Buffer.from(buffer)) : Promise.resolve(bytes);
    // Bytes waiting to be read or behind a read count in bufferedAmount, as they would in a browser.
    const size = bytes === null ? (data as Blob).size : bytes.length;
    let chain = blobChains.get(this);
    if (chain === undefined) {
      chain = { tail: Promise.resolve(), waiting: 0 };
      blobChains.set(this, chain);
      blobChainCount++;
    }
    const entry = chain;
    entry.waiting += size;
    appendToChain(this, entry, (tail) =>
      tail
        .then(() => read)
        .then(
          (bytes) => {
            entry.waiting -= size;
            // Accepted before any close(): it goes out ahead of the close frame waiting behind it.
            const connection = this._openOrReject(callback, true);
            if (connection !== null) connection.send(bytes, binary, fin, compress, callback);
          },
          (error: unknown) => {
            entry.waiting -= size;
            // On the next tick, outside the chain: a callback that throws must not stop the steps after it.
            if (callback !== undefined) process.nextTick(callback, error instanceof Error ? error : new Error(String(error)));
          },
        ),
    );
    return true;
  }

  /**
   * Send a message and resolve once it has been handed to the socket; waits for `'drain'` first
   * when the high-water mark is reached. Rejects, never hangs, when the connection closes first.
   */
  async sendAsync(data: SendData, options?: SendOptions): Promise<void> {
    if (this._connection?.needsDrain === true) await this._drained();
    await new Promise<void>((resolve, reject) => {
      this.send(data, options ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Resolves at the next 'drain'; rejects if the connection closes first. */
  private _drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.off('drain', onDrain);
        reject(notOpenError(CLOSED));
      };
      this.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  /**
   * Send a ping, with ws's signatures: `ping()`, `ping(callback)`, `ping(data, callback)`,
   * `ping(data, mask, callback)` (`mask` is accepted; clients always mask, servers never do).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; {RangeError} `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  ping(data?: SendData | Callback | null, mask?: boolean | Callback, callback?: Callback): void {
    this._control(true, data, mask, callback);
  }

  /**
   * Send an unsolicited pong (the same signatures as {@link WebSocket.ping}).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; {RangeError} `WS_ERR_INVALID_ARGUMENT` for more than 125 bytes
   */
  pong(data?: SendData | Callback | null, mask?: boolean | Callback, callback?: Callback): void {
    this._control(false, data, mask, callback);
  }

  private _control(ping: boolean, data: SendData | Callback | null | undefined, mask: boolean | Callback | undefined, callback: Callback | undefined): void {
    if (typeof data === 'function') {
      callback = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      callback = mask;
    }
    this._assertNotConnecting();
    if (typeof data === 'number') data = String(data);
    if (isBlob(data)) throw argumentError('TypeError', 'a ping or pong payload cannot be a Blob');
    const bytes = toPayload(data);
    // "All control frames MUST have a payload length of 125 bytes or less" (RFC 6455 §5.5).
    if (bytes.length > MAX_CONTROL_PAYLOAD) throw argumentError('RangeError', 'the data size must not be greater than 125 bytes');
    this._openOrReject(callback)?.sendControl(ping, bytes, callback);
  }

  /** Sending while the handshake runs is misuse (as in ws): it throws. */
  private _assertNotConnecting(): void {
    // Once close() or terminate() aborted the handshake the state is CLOSING: the callback gets the error, as with ws.
    if (this._connection === null && this.readyState === CONNECTING) throw notOpenError(CONNECTING);
  }

  /**
   * The connection when it is open; otherwise null, and `callback` gets the error on the next
   * tick. A close() waiting behind a Blob counts as closed, except for the sends ahead of it (`queuedBeforeClose`).
   */
  private _openOrReject(callback: Callback | undefined, queuedBeforeClose = false): Connection | null {
    const connection = this._connection;
    if (connection !== null && (queuedBeforeClose ? connection.openForQueued : connection.readyState === OPEN)) return connection;
    if (callback !== undefined) process.nextTick(callback, notOpenError(this.readyState));
    return null;
  }

  /**
   * Start the closing handshake; messages already accepted by `send` go out first. Without a code
   * the close frame carries no status (the peer sees 1005), as with ws and browsers; a reason
   * without a code is sent with 1000 (the WHATWG rule). Resolves, like {@link WebSocket.closed},
   * when the connection is closed.
   *
   * @param code - 1000, 1001–1003, 1007–1014 or 3000–4999; omit for none
   * @param reason - at most 123 bytes of UTF-8
   * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent ({RangeError} for a reason over 123 bytes)
   */
  close(code?: number, reason?: string | Buffer): Promise<ClosedInfo> {
    // "1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint" (RFC 6455 §7.4.1).
    if (code !== undefined && (typeof code !== 'number' || !isSendableCloseCode(code))) throw argumentError('TypeError', `close code ${String(code)} may not be sent`);
    const text = closeReason(reason);
    const status = code === undefined && text.length !== 0 ? CloseCode.Normal : code;
    // Every argument is checked here, at the call, whatever the state.
    encodeClosePayload(status, text);
    if (this._connection === null) {
      this._abortConnecting();
      return this._whenClosed();
    }
    const connection = this._connection;
    const chain = blobChainCount === 0 ? undefined : blobChains.get(this);
    if (chain === undefined) {
      connection.close(status, text);
      return this._whenClosed();
    }
    // A Blob sent before is still being read: the close frame goes after it, as every message
    // accepted before close() does.
    connection.queueClose();
    const closeNow = (): void => connection.closeQueued(status, text);
    appendToChain(this, chain, (tail) => tail.then(closeNow, closeNow));
    return this._whenClosed();
  }

  /** Destroy the socket at once, without a closing handshake (close code 1006). */
  terminate(): void {
    if (this._connection === null) this._abortConnecting();
    else this._connection.terminate();
  }

  /** Close or terminate while CONNECTING: CLOSING at once, then (next tick, as in ws) 'error' and 'close'. */
  private _abortConnecting(): void {
    const extras = this._extras!;
    const abort = extras.abortHandshake;
    if (abort === null || abort === ABORTED) return;
    extras.abortHandshake = ABORTED;
    abort(new WebSocketError(ErrorCode.ConnectionFailed, 'WebSocket was closed before the connection was established'));
  }

  /** Stop reading from the socket (incoming messages wait in the kernel). */
  pause(): void {
    this._connection?.pauseFor(PauseReason.User);
  }

  /** Resume reading after {@link WebSocket.pause}. */
  resume(): void {
    this._connection?.resumeFor(PauseReason.User);
  }

  /**
   * Iterate over incoming messages: text as `string`, binary as `Buffer` (or `ArrayBuffer`). The
   * socket stops reading while `maxQueuedMessages` wait unconsumed. Ends when the connection closes.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<IteratedMessage> {
    const extras = this._more();
    if (extras.iterator === null) {
      extras.iterator = new MessageQueue(this, extras.maxQueuedMessages);
      if (this.readyState === CLOSED) extras.iterator.end();
    }
    return extras.iterator;
  }

  /** @internal ReadControl of the async iterator. */
  _pauseFor(reason: PauseReason): void {
    this._connection?.pauseFor(reason);
  }

  /** @internal ReadControl of the async iterator. */
  _resumeFor(reason: PauseReason): void {
    this._connection?.resumeFor(reason);
  }

  // -- ConnectionHost: what the connection reports ----------------------------------------------

  /** @internal */
  _onMessage(data: Uint8Array, binary: boolean): void {
    // One conversion serves the iterator and the listeners (an ArrayBuffer is a copy).
    const kind = binary ? this._binaryKind : 0;
    const buffer = asBuffer(data);
    if (kind === 0) {
      this._extras?.iterator?.push(binary ? buffer : buffer.toString('utf8'));
      this.emit('message', buffer, binary);
      return;
    }
    const value = kind === 1 ? toArrayBuffer(data) : kind === 2 ? [buffer] : new Blob([buffer]);
    this._extras?.iterator?.push(kind === 1 ? (value as ArrayBuffer) : buffer);
    this.emit('message', value as RawData, binary);
  }

  /** @internal */
  _onPing(data: Uint8Array): void {
    this.emit('ping', asBuffer(data));
  }

  /** @internal */
  _onPong(data: Uint8Array): void {
    this.emit('pong', asBuffer(data));
  }

  /** @internal */
  _onError(error: WebSocketError): void {
    // ws emits 'error' for protocol failures; without a listener it is not thrown (the close event reports the end).
    if (this.listenerCount('error') !== 0) this.emit('error', error);
  }

  /** @internal */
  _onDrain(): void {
    this.emit('drain');
  }

  /** @internal */
  _onDropped(key: string, reason: DropReason, bytes: number): void {
    if (this.listenerCount('dropped') === 0) return;
    const user = isUserKey(key) ? key.slice(1) : undefined;
    this.emit('dropped', { topic: user === undefined ? key : undefined, user, reason, bytes });
  }

  // -- topics (server side) ----------------------------------------------------------------------

  /**
   * Subscribe to `topic`: messages published to it (`wss.publish`, `ws.publish`, on any process
   * sharing the server's backplane) are delivered to this connection. A closed connection leaves
   * all its topics (and cannot subscribe).
   *
   * @returns true if newly subscribed
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` on a client-side connection; `WS_ERR_INVALID_ARGUMENT` for a bad topic name; `WS_ERR_TOO_MANY_TOPICS` past `maxTopicsPerConnection`
   */
  subscribe(topic: string): boolean {
    const [connection, hub] = this._topicHub();
    return hub.subscribe(connection, checkTopic(topic, hub.maxTopicLength));
  }

  /**
   * Unsubscribe from `topic`.
   *
   * @returns true if it was subscribed
   */
  unsubscribe(topic: string): boolean {
    const [connection, hub] = this._topicHub();
    return hub.unsubscribe(connection, checkTopic(topic, hub.maxTopicLength));
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this._connection?.topics?.has(topic) === true && !isUserKey(topic);
  }

  /** The topics this connection is subscribed to. */
  get topics(): readonly string[] {
    const topics = this._connection?.topics;
    if (topics === null || topics === undefined) return [];
    const out: string[] = [];
    for (const key of topics) if (!isUserKey(key)) out.push(key);
    return out;
  }

  /**
   * Publish to every subscriber of `topic` except this connection (on every process sharing the
   * backplane).
   *
   * @returns the number of local connections it was written to
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` on a client-side connection; `WS_ERR_INVALID_ARGUMENT` for a bad topic or data
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    const [connection, hub] = this._topicHub();
    const key = checkTopic(topic, hub.maxTopicLength);
    return hub.publish(key, toPayload(data), options?.binary ?? typeof data !== 'string', options?.compress !== false, connection);
  }

  private _topicHub(): [Connection, TopicHub] {
    const connection = this._connection;
    const hub = connection?.owner?.hub;
    if (connection === null || hub === undefined) throw new WebSocketError(ErrorCode.InvalidState, 'topics are available on server-side connections only');
    return [connection, hub];
  }

  /** @internal */
  _onClosed(info: ClosedInfo): void {
    const extras = this._extras;
    if (extras !== null) {
      extras.iterator?.end();
      extras.resolveClosed?.(info);
      extras.resolveClosed = null;
    }
    this.emit('close', info.code, Buffer.from(info.reason));
  }
}

/**
 * The state only some WebSockets use: a client's handshake and how it failed, the `closed`
 * promise, the message iterator. In one object made on first need, so that a server-side
 * connection nobody awaits or iterates (nearly all of them) holds one null field instead of six.
 */
class WebSocketExtras {
  /** How a connection that never opened ended (a client whose handshake failed). */
  failedInfo: ClosedInfo | null = null;
  closedPromise: Promise<ClosedInfo> | null = null;
  resolveClosed: ((info: ClosedInfo) => void) | null = null;
  /** Aborts a client's handshake while it runs (ABORTED once used, null once it is over). */
  abortHandshake: ((error: WebSocketError) => void) | null = null;
  iterator: MessageQueue | null = null;
  /** @param maxQueuedMessages - the iterator's limit */
  constructor(readonly maxQueuedMessages: number) {}
}

// Read-only and enumerable on the class and the prototype, as in ws and the browser.
defineReadyStates(WebSocket);
// The browser's (and ws's) attributes are enumerable accessors of the prototype.
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url']) {
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
  Object.defineProperty(WebSocket.prototype, name, { ...descriptor, enumerable: true });
}
defineEventAttributes(WebSocket.prototype);
// Getters of this library that ws does not have: code written for ws may assign its own property
// of the same name (`ws.topics = new Set()`, say). The assignment makes it the instance's own
// value, as it would be on a ws WebSocket; the library never reads these through `this`.
for (const name of ['closed', 'remoteAddress', 'remotePort', 'topics']) {
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
  Object.defineProperty(WebSocket.prototype, name, {
    ...descriptor,
    set(this: WebSocket, value: unknown) {
      Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

/** ws's WHATWG emulation: `type` is 'open', 'message', 'close' or 'error' (others are ignored, as in ws). */
export interface WebSocket {
  addEventListener(type: 'open', listener: WsEventListener<WsEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'message', listener: WsEventListener<WsMessageEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'close', listener: WsEventListener<WsCloseEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'error', listener: WsEventListener<WsErrorEvent>, options?: { once?: boolean }): void;
  addEventListener(type: string, listener: WsEventListener<never>, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: WsEventListener<never>): void;
}
WebSocket.prototype.addEventListener = function (this: WebSocket, type: string, listener: unknown, options?: { once?: boolean }): void {
  addEventListener(this, type, listener, options);
};
WebSocket.prototype.removeEventListener = function (this: WebSocket, type: string, listener: unknown): void {
  removeEventListener(this, type, listener);
};

/** Names the namespace below points at (its own members would shadow the originals). */
type WsEventAlias = WsEvent;
type WsMessageEventAlias = WsMessageEvent;
type WsCloseEventAlias = WsCloseEvent;
type WsErrorEventAlias = WsErrorEvent;
type WsPerMessageDeflateAlias = PerMessageDeflateConfig;
type WsVerifyClientInfoAlias = VerifyClientInfo;
type WsDataAlias = Data;
type WsRawDataAlias = RawData;
type WsClientOptionsAlias = ClientOptions;
type WsServerOptionsAlias = ServerOptions;
type WsServerAlias = WebSocketServer;
type WsWebSocketAlias = WebSocket;

/** ws's type namespace on the class: `WebSocket.Data`, `WebSocket.RawData`, `WebSocket.ClientOptions`, ... */
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace WebSocket {
  /** ws's `WebSocket.Data`. */
  type Data = WsDataAlias;
  /** ws's `WebSocket.RawData`. */
  type RawData = WsRawDataAlias;
  /** ws's `WebSocket.ClientOptions`. */
  type ClientOptions = WsClientOptionsAlias;
  /** ws's `WebSocket.ServerOptions`. */
  type ServerOptions = WsServerOptionsAlias;
  /** ws's `WebSocket.Server` in type positions. */
  type Server = WsServerAlias;
  /** ws's `WebSocket.WebSocketServer` in type positions. */
  type WebSocketServer = WsServerAlias;
  /** ws's `WebSocket.WebSocket` in type positions. */
  type WebSocket = WsWebSocketAlias;
  /** ws's `WebSocket.Event` (the emulation's event objects). */
  type Event = WsEventAlias;
  /** ws's `WebSocket.MessageEvent`. */
  type MessageEvent = WsMessageEventAlias;
  /** ws's `WebSocket.CloseEvent`. */
  type CloseEvent = WsCloseEventAlias;
  /** ws's `WebSocket.ErrorEvent`. */
  type ErrorEvent = WsErrorEventAlias;
  /** ws's `WebSocket.EventListenerOptions`. */
  interface EventListenerOptions {
    once?: boolean | undefined;
  }
  /** ws's `WebSocket.PerMessageDeflateOptions`. */
  type PerMessageDeflateOptions = WsPerMessageDeflateAlias;
  /** ws's `WebSocket.VerifyClientCallbackSync`. */
  type VerifyClientCallbackSync = (info: WsVerifyClientInfoAlias) => boolean;
  /** ws's `WebSocket.VerifyClientCallbackAsync`. */
  type VerifyClientCallbackAsync = (info: WsVerifyClientInfoAlias, callback: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void;
  /** ws's `WebSocket.FinishRequestCallback`. */
  type FinishRequestCallback = (request: ClientRequest, websocket: WsWebSocketAlias) => void;
  /** ws's `WebSocket.AddressInfo`. */
  interface AddressInfo {
    address: string;
    family: string;
    port: number;
  }
  /** ws's `WebSocket.CertMeta`. */
  type CertMeta = string | string[] | Buffer | Buffer[];
}

/** ws's named types (as `import { VerifyClientCallbackSync } from 'ws'`). */
export type Event = WebSocket.Event;
export type MessageEvent = WebSocket.MessageEvent;
export type CloseEvent = WebSocket.CloseEvent;
export type ErrorEvent = WebSocket.ErrorEvent;
export type EventListenerOptions = WebSocket.EventListenerOptions;
export type PerMessageDeflateOptions = WebSocket.PerMessageDeflateOptions;
export type VerifyClientCallbackSync = WebSocket.VerifyClientCallbackSync;
export type VerifyClientCallbackAsync = WebSocket.VerifyClientCallbackAsync;
export type FinishRequestCallback = WebSocket.FinishRequestCallback;
export type AddressInfo = WebSocket.AddressInfo;
export type CertMeta = WebSocket.CertMeta;

/** A close reason as ws takes it: a string or bytes; a value without a length (a number) is no reason. */
function closeReason(reason: unknown): string | Buffer {
  if (reason === undefined || reason === null) return '';
  if (typeof reason === 'string' || Buffer.isBuffer(reason)) return reason;
  if (reason instanceof Uint8Array) return Buffer.from(reason.buffer, reason.byteOffset, reason.byteLength);
  if (!(reason as { length?: unknown }).length) return '';
  throw argumentError('TypeError', 'the close reason must be a string or a Uint8Array');
}

function isBlob(data: unknown): data is Blob {
  return typeof Blob === 'function' && data instanceof Blob;
}

/**
 * The bytes of a (non-Blob) payload, as ws converts them: falsy values are an empty payload.
 *
 * @internal also used by the server's `publish`
 * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` for data of another type
 */
export function toPayload(data: SendData | null | undefined): Buffer {
  if (data === undefined || data === null || data === '' || (data as unknown) === false) return EMPTY;
  if (typeof data === 'number') return Buffer.from(String(data));
  if (Array.isArray(data)) {
    // A received message with binaryType 'fragments' is sent as the message it was.
    return data.length !== 0 && data.every((piece) => piece instanceof Uint8Array) ? Buffer.concat(data as Uint8Array[]) : Buffer.from(data as number[]);
  }
  if (data instanceof SharedArrayBuffer) return Buffer.from(data);
  return toBuffer(data as Exclude<SendData, number | Blob | readonly number[] | readonly Uint8Array[] | SharedArrayBuffer>);
}

/**
 * Make the server-side `WebSocket` for a finished handshake. Reading starts with
 * {@link startWebSocket}, after the application's 'connection' listeners ran.
 *
 * @internal used by the server's accept pipeline
 */
export function adoptWebSocket(
  result: HandshakeResult,
  target: string,
  options: ResolvedConnectionOptions,
  deflate: ResolvedDeflateConfig | null,
  owner: ConnectionOwner,
  admission: AdmissionRecord,
  Class: typeof WebSocket = WebSocket,
): { ws: WebSocket; connection: Connection } {
  adopting = { result, target, options, deflate };
  let ws: WebSocket;
  try {
    // ws's call shape, so subclasses written for ws (`WebSocket` server option) construct alike.
    ws = new Class(null, undefined, undefined);
  } finally {
    adopting = null;
  }
  const connection = (ws as unknown as { _connection: Connection })._connection;
  connection.owner = owner;
  connection.admission = admission;
  return { ws, connection };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
