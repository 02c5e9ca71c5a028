/**
 * `WebSocket`: the public, ws-compatible facade over one {@link Connection}, for either role.
 * A client is made with `new WebSocket(url, protocols?, options?)`, which runs the opening
 * handshake and adopts its result; a server-side WebSocket is made by the server's accept
 * pipeline from a finished handshake ({@link adoptWebSocket}). It turns arguments into bytes
 * (validating them synchronously, so a bad `close()` reason throws at the call, never later in a
 * callback), delivers messages as ws does (`Buffer` or `ArrayBuffer`, `isBinary`), and offers the
 * async API (`for await`, `sendAsync`, `closed`). Its state is read from the connection, which
 * reads the core's: this class keeps none of its own, and nothing it does or receives can throw
 * into the event loop.
 */
import { EventEmitter } from 'node:events';
import { CloseCode, encodeClosePayload, ErrorCode, MAX_CONTROL_PAYLOAD, WebSocketError } from '../core/index.js';
import { checkTopic, isUserKey } from '../pubsub/index.js';
import { type ClientOptions, openClientHandshake, parseWebSocketUrl, resolveClientOptions } from './client/connect.js';
import { type ClosedInfo, Connection, type ConnectionHost, type ConnectionOwner, type DropReason, type HandshakeResult, notOpenError, type TopicHub } from './connection/connection.js';
import type { ResolvedConnectionOptions } from './connection/connection-options.js';
import type { ResolvedDeflateConfig } from './connection/deflate-options.js';
import { type IteratedMessage, MessageQueue, type ReadControl } from './connection/message-queue.js';
import { PauseReason } from './connection/pause-reasons.js';
import { asBuffer, toBuffer } from './platform.js';

export type { ClosedInfo } from './connection/connection.js';

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
  message: [data: Buffer | ArrayBuffer, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  drain: [];
  'unexpected-response': [status: number, headers: Record<string, string>];
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

type Callback = (error?: Error | null) => void;

/** A finished server-side handshake waiting to be adopted by the WebSocket being constructed. */
interface Adoption {
  readonly result: HandshakeResult;
  readonly target: string;
  readonly options: ResolvedConnectionOptions;
  readonly deflate: ResolvedDeflateConfig | null;
}
let adopting: Adoption | null = null;

const EMPTY = Buffer.alloc(0);
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * A WebSocket connection. Made by `WebSocketServer` for each accepted client, or by
 * `new WebSocket(url)` as a client.
 */
export class WebSocket extends EventEmitter<WebSocketEvents> implements ConnectionHost, ReadControl {
  /** The connection is being established. */
  static readonly CONNECTING = 0;
  /** The connection is open. */
  static readonly OPEN = 1;
  /** The closing handshake has started. */
  static readonly CLOSING = 2;
  /** The connection is closed. */
  static readonly CLOSED = 3;
  /** The connection is being established (on the prototype: no memory per connection). */
  declare readonly CONNECTING: 0;
  /** The connection is open. */
  declare readonly OPEN: 1;
  /** The closing handshake has started. */
  declare readonly CLOSING: 2;
  /** The connection is closed. */
  declare readonly CLOSED: 3;

  /** How binary messages are delivered: Node.js `Buffer` (default) or `ArrayBuffer`. */
  binaryType: 'nodebuffer' | 'arraybuffer' = 'nodebuffer';
  /** Whatever the server's `verify` hook attached to this connection (e.g. the authenticated user). */
  user: unknown = undefined;

  private connection: Connection | null = null;
  private readonly urlText: string;
  private protocolName = '';
  private extensionsHeader = '';
  /** How a connection that never opened ended (a client whose handshake failed). */
  private failedInfo: ClosedInfo | null = null;
  private closedPromise: Promise<ClosedInfo> | null = null;
  private resolveClosed: ((info: ClosedInfo) => void) | null = null;
  private abortHandshake: ((error: WebSocketError) => void) | null = null;
  private iterator: MessageQueue | null = null;
  private readonly maxQueuedMessages: number;

  /**
   * Connect to a WebSocket server.
   *
   * @param address - `ws://` or `wss://` URL
   * @param protocols - subprotocols to offer, most preferred first
   * @param options - client options (ws option names where the concept is the same)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad URL, subprotocol, header or option
   */
  constructor(address: string | URL, protocols?: string | readonly string[] | ClientOptions, options?: ClientOptions) {
    super();
    const adoption = adopting;
    adopting = null;
    if (adoption !== null) {
      // Server side: the accept pipeline hands over a finished handshake.
      this.urlText = adoption.target;
      this.maxQueuedMessages = adoption.options.maxQueuedMessages;
      this.adopt(adoption.result, adoption.options, true, adoption.deflate);
      return;
    }
    if (protocols !== undefined && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols as ClientOptions;
      protocols = undefined;
    }
    const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...(protocols as readonly string[])];
    const url = parseWebSocketUrl(address);
    const resolved = resolveClientOptions((options ?? {}) as ClientOptions);
    this.urlText = url.href;
    this.maxQueuedMessages = resolved.connection.maxQueuedMessages;
    this.abortHandshake = openClientHandshake(url, offered, resolved, (outcome) => {
      this.abortHandshake = null;
      if (outcome.ok) {
        this.adopt(outcome.result, resolved.connection, false, resolved.deflate);
        this.emit('open');
        // Delivery starts on the next turn (as in browsers): code that awaits 'open' and only
        // then attaches its 'message' listener still gets the frames right behind the 101.
        this.connection!.start(true);
        return;
      }
      if (outcome.response !== undefined) this.emit('unexpected-response', outcome.response.status, outcome.response.headers);
      this.failedInfo = { code: CloseCode.AbnormalClosure, reason: '', wasClean: false };
      if (this.listenerCount('error') !== 0) this.emit('error', outcome.error);
      this.onClosed(this.failedInfo);
    });
  }

  private adopt(result: HandshakeResult, options: ResolvedConnectionOptions, isServer: boolean, deflate: ResolvedDeflateConfig | null): void {
    this.protocolName = result.protocol;
    this.extensionsHeader = result.extensionsHeader;
    this.connection = new Connection(this, result, options, isServer, deflate);
  }

  /** Resolves with the close code, reason and cleanliness once the connection is closed. Never rejects. */
  get closed(): Promise<ClosedInfo> {
    if (this.closedPromise === null) {
      // Made on first use: a connection nobody awaits costs no promise.
      const info = this.connection?.closed ?? this.failedInfo;
      this.closedPromise =
        info !== null
          ? Promise.resolve(info)
          : new Promise((resolve) => {
              this.resolveClosed = resolve;
            });
    }
    return this.closedPromise;
  }

  /** The connection state: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    const connection = this.connection;
    if (connection !== null) return connection.readyState;
    return this.failedInfo !== null ? CLOSED : CONNECTING;
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

  /** Bytes accepted by `send` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.connection?.bufferedAmount ?? 0;
  }

  /** Whether the application paused reading with {@link WebSocket.pause}. */
  get isPaused(): boolean {
    return this.connection?.isPaused ?? false;
  }

  /** The peer's IP address. */
  get remoteAddress(): string | undefined {
    return (this.connection?.transport as { remoteAddress?: string } | undefined)?.remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return (this.connection?.transport as { remotePort?: number } | undefined)?.remotePort;
  }

  /**
   * Send a message, or a fragment of one with `{ fin: false }`. When the connection is not open
   * the message is not sent and `callback` gets the error; nothing throws.
   *
   * @returns false once `bufferedAmount` reached the high-water mark (wait for `'drain'`), or when not sent
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` while CONNECTING; `WS_ERR_INVALID_ARGUMENT` for data of another type
   */
  send(data: SendData, options?: SendOptions | Callback, callback?: Callback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    this.assertNotConnecting();
    const bytes = toBuffer(data);
    const connection = this.openOrReject(callback);
    if (connection === null) return false;
    return connection.send(bytes, options?.binary ?? typeof data !== 'string', options?.fin ?? true, options?.compress !== false, callback);
  }

  /**
   * Send a message and resolve once it has been handed to the socket; waits for `'drain'` first
   * when the high-water mark is reached. Rejects, never hangs, when the connection closes first.
   */
  async sendAsync(data: SendData, options?: SendOptions): Promise<void> {
    if (this.connection?.needsDrain === true) await this.drained();
    await new Promise<void>((resolve, reject) => {
      this.send(data, options ?? {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Resolves at the next 'drain'; rejects if the connection closes first. */
  private drained(): Promise<void> {
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

  private control(ping: boolean, data: SendData | undefined, callback: Callback | undefined): void {
    this.assertNotConnecting();
    const bytes = data === undefined ? EMPTY : toBuffer(data);
    // "All control frames MUST have a payload length of 125 bytes or less" (RFC 6455 §5.5).
    if (bytes.length > MAX_CONTROL_PAYLOAD) throw new WebSocketError(ErrorCode.InvalidArgument, 'control frame payload longer than 125 bytes');
    this.openOrReject(callback)?.sendControl(ping, bytes, callback);
  }

  /** Sending while the handshake runs is misuse (as in ws): it throws. */
  private assertNotConnecting(): void {
    if (this.connection === null && this.failedInfo === null) throw notOpenError(CONNECTING);
  }

  /** The connection when it is open; otherwise null, and `callback` gets the error on the next tick. */
  private openOrReject(callback: Callback | undefined): Connection | null {
    const connection = this.connection;
    if (connection !== null && connection.readyState === OPEN) return connection;
    if (callback !== undefined) process.nextTick(callback, notOpenError(this.readyState));
    return null;
  }

  /**
   * Start the closing handshake; messages already accepted by `send` go out first. Resolves,
   * like {@link WebSocket.closed}, when the connection is closed.
   *
   * @param code - 1000 (default), 1001–1003, 1007–1014 or 3000–4999
   * @param reason - at most 123 bytes of UTF-8
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent or a reason too long
   */
  close(code?: number, reason?: string | Buffer): Promise<ClosedInfo> {
    // Every argument is checked here, at the call, whatever the state.
    encodeClosePayload(code ?? CloseCode.Normal, reason ?? '');
    if (this.connection === null) {
      this.abortConnecting();
      return this.closed;
    }
    this.connection.close(code, reason ?? '');
    return this.closed;
  }

  /** Destroy the socket at once, without a closing handshake (close code 1006). */
  terminate(): void {
    if (this.connection === null) this.abortConnecting();
    else this.connection.terminate();
  }

  private abortConnecting(): void {
    this.abortHandshake?.(new WebSocketError(ErrorCode.ConnectionFailed, 'WebSocket was closed before the connection was established'));
  }

  /** Stop reading from the socket (incoming messages wait in the kernel). */
  pause(): void {
    this.connection?.pauseFor(PauseReason.User);
  }

  /** Resume reading after {@link WebSocket.pause}. */
  resume(): void {
    this.connection?.resumeFor(PauseReason.User);
  }

  /**
   * Iterate over incoming messages: text as `string`, binary as `Buffer` (or `ArrayBuffer`). The
   * socket stops reading while `maxQueuedMessages` wait unconsumed. Ends when the connection closes.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<IteratedMessage> {
    if (this.iterator === null) {
      this.iterator = new MessageQueue(this, this.maxQueuedMessages);
      if (this.readyState === CLOSED) this.iterator.end();
    }
    return this.iterator;
  }

  /** @internal ReadControl of the async iterator. */
  pauseFor(reason: PauseReason): void {
    this.connection?.pauseFor(reason);
  }

  /** @internal ReadControl of the async iterator. */
  resumeFor(reason: PauseReason): void {
    this.connection?.resumeFor(reason);
  }

  // -- ConnectionHost: what the connection reports ----------------------------------------------

  /** @internal */
  onMessage(data: Uint8Array, binary: boolean): void {
    // One conversion serves the iterator and the listeners (an ArrayBuffer is a copy).
    const value = binary && this.binaryType === 'arraybuffer' ? toArrayBuffer(data) : asBuffer(data);
    this.iterator?.push(binary ? value : (value as Buffer).toString('utf8'));
    this.emit('message', value, binary);
  }

  /** @internal */
  onPing(data: Uint8Array): void {
    this.emit('ping', asBuffer(data));
  }

  /** @internal */
  onPong(data: Uint8Array): void {
    this.emit('pong', asBuffer(data));
  }

  /** @internal */
  onError(error: WebSocketError): void {
    // ws emits 'error' for protocol failures; without a listener it is not thrown (the close event reports the end).
    if (this.listenerCount('error') !== 0) this.emit('error', error);
  }

  /** @internal */
  onDrain(): void {
    this.emit('drain');
  }

  /** @internal */
  onDropped(key: string, reason: DropReason, bytes: number): void {
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
    const [connection, hub] = this.topicHub();
    return hub.subscribe(connection, checkTopic(topic, hub.maxTopicLength));
  }

  /**
   * Unsubscribe from `topic`.
   *
   * @returns true if it was subscribed
   */
  unsubscribe(topic: string): boolean {
    const [connection, hub] = this.topicHub();
    return hub.unsubscribe(connection, checkTopic(topic, hub.maxTopicLength));
  }

  /** Whether this connection is subscribed to `topic`. */
  isSubscribed(topic: string): boolean {
    return this.connection?.topics?.has(topic) === true && !isUserKey(topic);
  }

  /** The topics this connection is subscribed to. */
  get topics(): readonly string[] {
    const topics = this.connection?.topics;
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
    const [connection, hub] = this.topicHub();
    const key = checkTopic(topic, hub.maxTopicLength);
    return hub.publish(key, toBuffer(data), options?.binary ?? typeof data !== 'string', options?.compress !== false, connection);
  }

  private topicHub(): [Connection, TopicHub] {
    const connection = this.connection;
    const hub = connection?.owner?.hub;
    if (connection === null || hub === undefined) throw new WebSocketError(ErrorCode.InvalidState, 'topics are available on server-side connections only');
    return [connection, hub];
  }

  /** @internal */
  onClosed(info: ClosedInfo): void {
    this.iterator?.end();
    this.resolveClosed?.(info);
    this.resolveClosed = null;
    this.emit('close', info.code, Buffer.from(info.reason));
  }
}

for (const [name, value] of [
  ['CONNECTING', 0],
  ['OPEN', 1],
  ['CLOSING', 2],
  ['CLOSED', 3],
] as const) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
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
): { ws: WebSocket; connection: Connection } {
  adopting = { result, target, options, deflate };
  let ws: WebSocket;
  try {
    ws = new WebSocket(target);
  } finally {
    adopting = null;
  }
  const connection = (ws as unknown as { connection: Connection }).connection;
  connection.owner = owner;
  return { ws, connection };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
