/**
 * `WebSocketServer`: the server's modes and lifecycle. Standalone (its own `node:net` / `node:tls`
 * listener), attached to an `http`/`https` server (`{ server, path }`), or `noServer` with
 * `handleUpgrade(req, socket, head, cb)` for any framework: all three feed the same accept
 * pipeline. It tracks open connections (`clients`, undefined with `clientTracking: false` as in
 * ws), enforces `maxConnections`, emits ws's events (`listening`, `connection`, `error`, `close`,
 * `headers`, `wsClientError`), hands every hook a real `http.IncomingMessage` (standalone mode
 * builds one from the parsed head), exposes ws's `options`, and closes every client with 1001 on
 * `close()`. It parses nothing and writes no WebSocket frames itself.
 */
import { EventEmitter } from 'node:events';
import { totalmem } from 'node:os';
import { IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import {
  CloseCode,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_MAX_PENDING_HANDSHAKES,
  DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP,
  DEFAULT_MAX_TOPIC_LENGTH,
  DEFAULT_MAX_TOPICS_PER_CONNECTION,
  DEFAULT_PUBLISH_BACKPRESSURE_LIMIT,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_MAX_FRAGMENTS,
  MAX_PENDING_PONGS,
  ErrorCode,
  argumentError,
  WebSocketError,
} from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import { PerMessageDeflateServer } from '../../extensions/index.js';
import { HeaderMap, type HttpHeadResult, type RequestHead } from '../../handshake/index.js';
import { Admission, type AdmissionRefusal, MemoryBudget, type OpenTicket, ticketOf, type TrustProxy, userOf } from '../../policy/index.js';
import { type Connection, type ConnectionOwner, ignoreTransportError, type TopicHub, type TrafficCounters } from '../connection/connection.js';
import { CONNECTION_OPTION_KEYS, type ConnectionOptions, resolveConnectionOptions } from '../connection/connection-options.js';
import { type PerMessageDeflateConfig, resolveDeflateConfig } from '../connection/deflate-options.js';
import { asBuffer, toBuffer } from '../platform.js';
import { type Backplane, checkTopic, userKey } from '../../pubsub/index.js';
import { type PubSubStats, Publisher } from './publisher.js';
import { countFor, reportClose, reportOpen, ServerStats, type ServerStatsSnapshot, statsOf, stopCounting } from '../diagnostics.js';
import { type PublishOptions, type SendData, toPayload, WebSocket } from '../websocket.js';
import { AcceptPipeline } from './accept-pipeline.js';
import { refuseAdmission, rejectUpgrade } from './rejection.js';
import { StandaloneListener } from './standalone-listener.js';
import type { AnyUpgradeRequest, VerifyClientInfo, VerifyResult } from './upgrade-request.js';

export type { UpgradeRequest, VerifyClientInfo, VerifyResult } from './upgrade-request.js';

/** Options of a {@link WebSocketServer}. */
export interface ServerOptions<T extends typeof WebSocket = typeof WebSocket> extends ConnectionOptions {
  /** Listen on this port (standalone mode). */
  port?: number;
  /** Listen on this host (standalone mode). Default: all interfaces. */
  host?: string;
  /** Listen backlog (standalone mode). */
  backlog?: number;
  /** TLS options (key, cert, …): standalone mode serves wss over `node:tls`. */
  tls?: TlsOptions;
  /** Attach to this HTTP(S) server's `upgrade` event. */
  server?: HttpServer | HttpsServer;
  /** Do not listen or attach: call `handleUpgrade` yourself. */
  noServer?: boolean;
  /** Only accept upgrades for this path (pathname, before `?`). */
  path?: string;
  /**
   * Which `Origin`s may connect: `'*'` (any), a list, or a predicate; others get 403. Default:
   * same-origin (the Origin's host must be the request's Host) for requests that carry an Origin;
   * requests without one (non-browser clients) are accepted. Stops cross-site WebSocket hijacking.
   */
  origins?: '*' | readonly string[] | ((origin: string | undefined) => boolean);
  /** Decide whether to accept a request; may be async. `false` answers 401. */
  verify?: (request: IncomingMessage) => VerifyResult | Promise<VerifyResult>;
  /** ws-compatible verification hook, sync `(info) => boolean` or async `(info, cb) => void`. */
  verifyClient?:
    | ((info: VerifyClientInfo) => boolean)
    | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void);
  /** Pick a subprotocol from those offered (ws signature); return false for none. Default: the first offered. */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  /** Track connections in `clients` (and close them on `close()`); with false, `clients` is undefined, as in ws. Default true. */
  clientTracking?: boolean;
  /** The class accepted connections are made with: `WebSocket` or a subclass of it (ws's option). Default `WebSocket`. */
  WebSocket?: T;
  /** Most open connections; further upgrades get 503. Default 100,000. */
  maxConnections?: number;
  /** Most open connections from one client address; further upgrades get 429 with Retry-After. Default 1,000. */
  maxConnectionsPerIp?: number;
  /** Most open connections of one user (the `id` of the `user` that `verify` returned); 429 beyond. Default 100. */
  maxConnectionsPerUser?: number;
  /** Most opening handshakes in progress (TLS, request head, verify), counted from the TCP accept; 503 beyond. Default 2,048. */
  maxPendingHandshakes?: number;
  /** Most opening handshakes in progress from one address; 429 beyond. Default 64. */
  maxPendingHandshakesPerIp?: number;
  /**
   * Take the client address for per-address limits from `X-Forwarded-For` / `Forwarded` set by
   * trusted reverse proxies: `true` (one proxy), a number of proxies, or a predicate on a hop's
   * address. Default false: the socket's address (a client could forge the headers).
   */
  trustProxy?: TrustProxy;
  /**
   * Bytes all connections together may hold in incomplete incoming messages and untaken output;
   * over it, the largest holders are closed with 1013 (try again later) until the rest fits.
   * Default: a quarter of the machine's memory.
   */
  maxBufferedBytes?: number;
  /** Drop a connection whose opening (TLS handshake and request head) is not complete within this many ms. Default 10,000. */
  handshakeTimeout?: number;
  /** Standalone mode: largest request head, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Negotiate permessage-deflate (RFC 7692): `true` or settings. Default false: compression costs memory per connection (see README). */
  perMessageDeflate?: boolean | PerMessageDeflateConfig;
  /**
   * The bus that makes `publish` and `sendToUser` reach subscribers on other server processes
   * (`createRedisBackplane` from `rfc6455/redis`, or an `InProcessHub`'s backplane). Default: none,
   * so topics span this server only.
   */
  backplane?: Backplane;
  /** Bytes a connection may have waiting to be written before a published message is dropped for it ('dropped' event). Default 1 MiB. */
  publishBackpressureLimit?: number;
  /** Close a connection over `publishBackpressureLimit` (code 1013, try again later) instead of dropping the message for it. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Topics one connection may subscribe to. Default 256. */
  maxTopicsPerConnection?: number;
  /** Longest topic name, in characters. Default 256. */
  maxTopicLength?: number;
}

const SERVER_KEYS = new Set<string>([
  ...CONNECTION_OPTION_KEYS,
  'port',
  'host',
  'backlog',
  'tls',
  'server',
  'noServer',
  'path',
  'origins',
  'verify',
  'verifyClient',
  'handleProtocols',
  'clientTracking',
  'maxConnections',
  'maxConnectionsPerIp',
  'maxConnectionsPerUser',
  'maxPendingHandshakes',
  'maxPendingHandshakesPerIp',
  'trustProxy',
  'maxBufferedBytes',
  'handshakeTimeout',
  'maxHeaderSize',
  'perMessageDeflate',
  'backplane',
  'publishBackpressureLimit',
  'closeOnBackpressureLimit',
  'maxTopicsPerConnection',
  'maxTopicLength',
  'WebSocket',
]);

/** Listener signatures of a {@link WebSocketServer}. */
export interface WebSocketServerEvents<W extends WebSocket = WebSocket> {
  listening: [];
  connection: [socket: W, request: IncomingMessage];
  error: [error: Error];
  close: [];
  headers: [headers: string[], request: IncomingMessage];
  /** ws's event: an invalid upgrade request (the error's `status` is the answer that would be sent). A listener owns the socket: nothing is written. */
  wsClientError: [error: Error, socket: Duplex, request: IncomingMessage];
  /** The backplane became unreachable: publishes no longer cross processes until 'backplane-up'. */
  'backplane-down': [cause: Error | undefined];
  /** The backplane is reachable: first connected, or back after an outage (every live topic re-subscribed). */
  'backplane-up': [];
}

const HANDLED = Symbol('rfc6455.upgrade-handled');

/**
 * A WebSocket server. (It is the accept pipeline's `AcceptHost`, checked where it is handed over;
 * no `implements` clause, so the internal interfaces stay out of the published declarations.)
 */
export class WebSocketServer<T extends typeof WebSocket = typeof WebSocket> extends EventEmitter<WebSocketServerEvents<InstanceType<T>>> {
  /** Open connections; undefined with `clientTracking: false` (as in ws). */
  readonly clients: Set<InstanceType<T>>;
  /** The options, with ws's defaults filled in (ws's `wss.options`). */
  readonly options: Readonly<ServerOptions<T>>;
  private readonly path: string | undefined;
  /** @internal Connection budgets (sans-I/O). */
  readonly admission: Admission;
  private readonly counters = new ServerStats();
  /** @internal The traffic counters every admitted connection adds to. */
  get traffic(): TrafficCounters {
    return this.counters.traffic;
  }
  /** @internal ConnectionOwner: the memory budget its connections share. */
  readonly memory: MemoryBudget<Connection>;
  /** @internal Topics, publishing and the backplane. */
  readonly publisher: Publisher;
  private readonly pipeline: AcceptPipeline;
  private readonly listener: StandaloneListener | null = null;
  private readonly secure: boolean;
  private readonly httpServer: HttpServer | HttpsServer | null = null;
  private readonly onHttpUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | null = null;
  /** @internal AcceptHost: shutting down. */
  closing = false;
  private closedPromise: Promise<void> | null = null;
  /** close() has finished ('close' was emitted). */
  private closeFinished = false;

  /**
   * @param options - mode (port, server or noServer), hooks and limits
   * @param callback - called once listening (standalone mode)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for unknown keys, bad values or not exactly one mode
   */
  constructor(options: ServerOptions<T>, callback?: () => void) {
    super();
    if (typeof options !== 'object' || options === null) throw argumentError('TypeError', 'WebSocketServer options must be an object');
    rejectUnknownKeys(options, SERVER_KEYS, 'WebSocketServer');
    const Class = options.WebSocket ?? WebSocket;
    if (Class !== WebSocket && !(typeof Class === 'function' && Class.prototype instanceof WebSocket)) {
      throw argumentError('TypeError', 'option "WebSocket" must be WebSocket or a subclass of it');
    }
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) {
      throw argumentError('TypeError', 'exactly one of "port", "server" or "noServer" must be given');
    }
    const deflate = resolveDeflateConfig(options.perMessageDeflate, false);
    this.pipeline = new AcceptPipeline(this, {
      hooks: { origins: options.origins, verify: options.verify, verifyClient: options.verifyClient, handleProtocols: options.handleProtocols },
      trustProxy: options.trustProxy ?? false,
      connection: resolveConnectionOptions(options),
      deflate,
      negotiators: deflate === null ? [] : [new PerMessageDeflateServer(deflate.negotiation)],
      WebSocketClass: Class,
    });
    this.path = options.path;
    const trust = options.trustProxy;
    if (trust !== undefined && typeof trust !== 'boolean' && typeof trust !== 'function' && !(Number.isInteger(trust) && trust >= 0)) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'option "trustProxy" must be a boolean, a hop count or a function');
    }
    this.memory = new MemoryBudget(integerOption(options.maxBufferedBytes, 'maxBufferedBytes', Math.floor(totalmem() / 4), 1));
    this.admission = new Admission({
      maxConnections: integerOption(options.maxConnections, 'maxConnections', DEFAULT_MAX_CONNECTIONS, 0),
      maxConnectionsPerIp: integerOption(options.maxConnectionsPerIp, 'maxConnectionsPerIp', DEFAULT_MAX_CONNECTIONS_PER_IP, 1),
      maxConnectionsPerUser: integerOption(options.maxConnectionsPerUser, 'maxConnectionsPerUser', DEFAULT_MAX_CONNECTIONS_PER_USER, 1),
      maxPendingHandshakes: integerOption(options.maxPendingHandshakes, 'maxPendingHandshakes', DEFAULT_MAX_PENDING_HANDSHAKES, 1),
      maxPendingHandshakesPerIp: integerOption(options.maxPendingHandshakesPerIp, 'maxPendingHandshakesPerIp', DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP, 1),
    });
    const handshakeTimeout = integerOption(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT, 1, 2 ** 31 - 1);
    const maxHeaderSize = integerOption(options.maxHeaderSize, 'maxHeaderSize', DEFAULT_MAX_HEADER_SIZE, 256);
    const tracking = booleanOption(options.clientTracking, 'clientTracking', true);
    this.clients = (tracking ? new Set() : undefined) as Set<InstanceType<T>>;
    // ws's option object: every key ws fills in, with this library's values where its defaults differ.
    this.options = Object.freeze({
      allowSynchronousEvents: true,
      autoPong: true,
      maxBufferedChunks: 256 * 1024,
      maxFragments: DEFAULT_MAX_FRAGMENTS,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      maxPendingAutoPongs: MAX_PENDING_PONGS,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      closeTimeout: DEFAULT_CLOSE_TIMEOUT,
      verifyClient: null,
      noServer: false,
      backlog: null,
      server: null,
      host: null,
      path: null,
      port: null,
      ...options,
      WebSocket: Class,
    }) as unknown as Readonly<ServerOptions<T>>;
    const backplane = options.backplane;
    if (backplane !== undefined && (typeof backplane !== 'object' || backplane === null || typeof backplane.publish !== 'function' || typeof backplane.attach !== 'function')) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'option "backplane" must be a Backplane (see createRedisBackplane)');
    }
    this.publisher = new Publisher(
      {
        maxTopicLength: integerOption(options.maxTopicLength, 'maxTopicLength', DEFAULT_MAX_TOPIC_LENGTH, 1, 65_536),
        maxTopicsPerConnection: integerOption(options.maxTopicsPerConnection, 'maxTopicsPerConnection', DEFAULT_MAX_TOPICS_PER_CONNECTION, 0),
        publishBackpressureLimit: integerOption(options.publishBackpressureLimit, 'publishBackpressureLimit', DEFAULT_PUBLISH_BACKPRESSURE_LIMIT, 0),
        closeOnBackpressureLimit: booleanOption(options.closeOnBackpressureLimit, 'closeOnBackpressureLimit', false),
        deflate,
      },
      backplane ?? null,
      {
        backplaneStatus: (up, cause) => (up ? this.emit('backplane-up') : this.emit('backplane-down', cause)),
        listenerError: (error) => this.reportError(error),
      },
    );
    this.secure = options.tls !== undefined;

    if (options.port !== undefined) {
      this.listener = new StandaloneListener(
        {
          requestHead: (socket, result) => this.onRequestHead(socket, result),
          beginPending: (socket) => this.beginPending(socket),
          movePending: (from, to) => movePending(from, to),
          listening: () => this.emit('listening'),
          error: (error) => this.emit('error', error),
        },
        { port: options.port, host: options.host, backlog: options.backlog, tls: options.tls, handshakeTimeout, maxHeaderSize },
      );
      if (callback) this.once('listening', callback);
    } else if (options.server !== undefined) {
      const server = options.server;
      this.httpServer = server;
      const attached = attachedServers(server);
      this.onHttpUpgrade = (req, socket, head) => {
        if (!this.shouldHandle(req)) {
          // Another upgrade listener may own this path. When every listener is one of these
          // servers and none takes the path, the last one answers (once): 400.
          const listeners = server.listeners('upgrade');
          if (listeners[listeners.length - 1] !== this.onHttpUpgrade || listeners.length !== attached.size) return;
          for (const other of attached) if (other.shouldHandle(req)) return;
          rejectUpgrade(socket, 400, 'invalid path');
          return;
        }
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      attached.add(this);
      server.on('upgrade', this.onHttpUpgrade);
      server.on('listening', this.onListening);
      server.on('error', this.onError);
    }
  }

  private readonly onListening = () => this.emit('listening');
  private readonly onError = (error: Error) => this.emit('error', error);

  /** The listening address (standalone or attached mode). */
  address(): AddressInfo | string | null {
    const server = this.listener ?? this.httpServer;
    if (server === null) throw new WebSocketError(ErrorCode.InvalidState, 'the server is in noServer mode');
    return server.address();
  }

  /** Whether this server accepts upgrades for the request's path. */
  shouldHandle(request: { url?: string | undefined }): boolean {
    if (this.path === undefined) return true;
    const url = request.url ?? '/';
    const question = url.indexOf('?');
    return (question === -1 ? url : url.slice(0, question)) === this.path;
  }

  /**
   * Complete the handshake on a socket (any `Duplex`) an HTTP server handed over with its
   * `upgrade` event. Rejections are answered on the socket and the socket is closed; `callback`
   * runs only on success, and the connection starts reading when it returns.
   *
   * @throws {Error} when called twice for the same socket (as ws does)
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: InstanceType<T>, req: IncomingMessage) => void): void {
    const marked = socket as Duplex & { [HANDLED]?: true };
    if (marked[HANDLED] === true) {
      throw new WebSocketError(ErrorCode.InvalidState, 'handleUpgrade() was called more than once with the same socket');
    }
    marked[HANDLED] = true;
    socket.on('error', ignoreTransportError);
    if (!this.beginPending(socket)) return;
    const parsed: RequestHead = {
      kind: 'request',
      method: req.method ?? '',
      target: req.url ?? '/',
      version: req.httpVersion,
      headers: HeaderMap.fromRaw(req.rawHeaders),
    };
    const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
    this.pipeline.accept(parsed, req, socket, head, secure, (ws) => callback(ws as InstanceType<T>, req));
  }

  /**
   * Stop accepting connections, close every client with 1001 and wait (bounded by `closeTimeout`)
   * for them; then emit `close`. In attached mode the HTTP server is left running.
   */
  close(callback?: (error?: Error) => void): Promise<void> {
    if (this.closedPromise !== null) {
      if (this.closeFinished) {
        // As ws: close() on a closed server reports that it is not running, and 'close' again.
        if (callback) this.once('close', () => callback(new Error('The server is not running')));
        process.nextTick(() => this.emit('close'));
      } else if (callback) {
        // Still closing: called when it has closed, as the first caller is.
        this.closedPromise.then(() => callback(), callback);
      }
      return this.closedPromise;
    }
    this.closing = true;
    if (this.httpServer !== null) {
      this.httpServer.off('upgrade', this.onHttpUpgrade!);
      this.httpServer.off('listening', this.onListening);
      this.httpServer.off('error', this.onError);
      attachedServers(this.httpServer).delete(this);
    }
    const closings = [...(this.clients ?? [])].map((ws) => {
      if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.GoingAway, 'server shutting down');
      return ws._whenClosed();
    });
    this.closedPromise = Promise.all([
      Promise.all(closings),
      this.listener === null ? Promise.resolve() : this.listener.close(),
      this.publisher.close().catch((error: Error) => this.reportError(error)),
    ]).then(() => {
      this.closeFinished = true;
      this.emit('close');
    });
    if (callback) this.closedPromise.then(() => callback(), callback);
    return this.closedPromise;
  }

  // -- topics ------------------------------------------------------------------------------------

  /**
   * Publish to every subscriber of `topic`, here and on every process sharing the backplane.
   * The message is framed once and the same bytes are written to each subscriber; a subscriber
   * whose output is over `publishBackpressureLimit` does not get it (its 'dropped' event fires,
   * or it is closed with 1013 under `closeOnBackpressureLimit`).
   *
   * @returns the number of local connections it was written to
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad topic or data
   */
  publish(topic: string, data: SendData, options?: PublishOptions): number {
    const key = checkTopic(topic, this.publisher.maxTopicLength);
    return this.publisher.publish(key, toPayload(data), options?.binary ?? typeof data !== 'string', options?.compress !== false, null);
  }

  /**
   * Send to every connection of the user `id` (the `id` of the `user` that `verify` returned),
   * here and on every process sharing the backplane.
   *
   * @returns the number of local connections it was written to
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for an id that is not a string or number, or bad data
   */
  sendToUser(id: string | number, data: SendData, options?: PublishOptions): number {
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id).length === 0) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'a user id must be a non-empty string or a number');
    }
    return this.publisher.publish(userKey(String(id)), toPayload(data), options?.binary ?? typeof data !== 'string', options?.compress !== false, null);
  }

  /** Local subscribers of `topic`. */
  subscriberCount(topic: string): number {
    return this.publisher.subscriberCount(checkTopic(topic, this.publisher.maxTopicLength));
  }

  /** Local topics with at least one subscriber. */
  get topics(): string[] {
    return this.publisher.topics();
  }

  // -- AcceptHost ---------------------------------------------------------------------------------

  /** @internal AcceptHost */
  checkAdmission(address: string, user: string | undefined): true | AdmissionRefusal {
    const verdict = this.admission.check(address, user);
    if (verdict !== true) this.counters.limitHit(verdict.limit, address);
    return verdict;
  }

  /** @internal AcceptHost */
  admit(address: string, user: string | undefined): OpenTicket | AdmissionRefusal {
    const ticket = this.admission.admit(address, user);
    if (!ticket.ok) this.counters.limitHit(ticket.limit, address);
    return ticket;
  }

  /**
   * Counters since the server started: open connections, pending handshakes, accepted
   * connections, refusals by HTTP status, closes by close code, limit hits by name, traffic and
   * drops, the busiest addresses and the top limit hitters. It walks the open connections and the
   * addresses once: cheap for monitoring every few seconds, not for every message.
   */
  stats(): ServerStatsSnapshot & { readonly pubsub: PubSubStats } {
    let closing = 0;
    for (const ws of this.clients ?? []) if (ws.readyState === ws.CLOSING) closing++;
    return { ...this.counters.snapshot(this.admission, closing), pubsub: this.publisher.stats() };
  }

  /** @internal AcceptHost */
  unadmit(ticket: OpenTicket): void {
    this.admission.release(ticket);
  }

  /** @internal AcceptHost: the owner of admitted connections is the server itself (no object per connection). */
  get owner(): ConnectionOwner {
    return this;
  }

  /** @internal ConnectionOwner: the topic hub. */
  get hub(): TopicHub {
    return this.publisher;
  }

  /**
   * @internal Take a handshake slot for a new socket, before any parsing work; refuse it (429 or
   * 503) when the pending budget is spent. The slot is given back at adoption or when the socket closes.
   */
  beginPending(socket: Duplex): boolean {
    const address = (socket as { remoteAddress?: string }).remoteAddress ?? '';
    countFor(socket, this.counters);
    const granted = this.admission.beginHandshake(address);
    if (granted !== true) {
      this.counters.limitHit(granted.limit, address);
      refuseAdmission(socket, granted);
      return false;
    }
    slots.set(socket, new PendingSlot(this.admission, address));
    socket.once('close', releaseSlotOnClose);
    return true;
  }

  /** @internal AcceptHost */
  endPending(socket: Duplex): void {
    stopCounting(socket);
    const slot = slots.get(socket);
    if (slot === undefined) return;
    slot.release();
    // An open connection keeps neither the slot nor its listener.
    slots.delete(socket);
    socket.off('close', releaseSlotOnClose);
  }

  /** @internal */
  responseHeaders(lines: string[], request: AnyUpgradeRequest): string[] | null {
    if (this.listenerCount('headers') === 0) return null;
    this.emit('headers', lines, request);
    return lines;
  }

  /** @internal */
  adopted(ws: WebSocket, connection: Connection): void {
    this.counters.accepted++;
    this.clients?.add(ws as InstanceType<T>);
    // A verified user's connection holds the user's own topic, for sendToUser.
    const user = connection.admission === null ? undefined : userOf(connection.admission);
    if (user !== undefined) this.publisher.subscribe(connection, userKey(user));
    reportOpen(ws.remoteAddress, ws.protocol, ws._extensionsValue);
  }

  /** @internal ConnectionOwner: an admitted connection closed. */
  connectionClosed(connection: Connection): void {
    const record = connection.admission;
    connection.admission = null;
    const ticket = record === null ? null : ticketOf(record);
    if (ticket !== null) this.admission.release(ticket);
    this.publisher.leaveAll(connection);
    const info = connection.closed;
    if (info !== null) {
      this.counters.closed(info.code);
      reportClose(ticket?.address, info.code, info.reason, info.wasClean);
    }
    this.clients?.delete(connection.host as InstanceType<T>);
  }

  /** @internal ConnectionOwner: a limit an open connection broke, counted in the stats. */
  limitHit(limit: string, address: string | undefined): void {
    this.counters.limitHit(limit, address);
  }

  /** @internal AcceptHost: ws's 'wsClientError'. */
  clientError(error: Error, socket: Duplex, request: AnyUpgradeRequest): boolean {
    if (this.listenerCount('wsClientError') === 0) return false;
    this.endPending(socket);
    this.emit('wsClientError', error, socket, request as IncomingMessage);
    return true;
  }

  /** @internal A hook threw: reported as 'error' when someone listens, as a process warning otherwise (never thrown). */
  reportError(error: Error): void {
    if (this.listenerCount('error') !== 0) this.emit('error', error);
    else process.emitWarning(error.message, { type: 'WebSocketServerWarning', code: error instanceof WebSocketError ? error.code : 'WS_ERR_HOOK' });
  }

  // -- standalone mode ---------------------------------------------------------------------------

  private onRequestHead(socket: Socket, result: Exclude<HttpHeadResult<RequestHead>, { done: false }>): void {
    if ('error' in result) return rejectUpgrade(socket, result.error.status, result.error.message);
    const head = result.head;
    if (!head.headers.has('upgrade') && head.method === 'GET') {
      return rejectUpgrade(socket, 426, 'this service accepts WebSocket connections only', [
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Version', '13'],
      ]);
    }
    if (!this.shouldHandle({ url: head.target })) return rejectUpgrade(socket, 400, 'invalid path');
    const request = incomingMessage(head, socket);
    this.pipeline.accept(head, request, socket, asBuffer(result.rest), this.secure, (ws) => this.emit('connection', ws as InstanceType<T>, request));
  }
}


/** The WebSocketServers attached to each HTTP server (to answer a path none of them takes). */
const attachedByServer = new WeakMap<object, Set<WebSocketServer>>();
function attachedServers(server: object): Set<WebSocketServer> {
  let set = attachedByServer.get(server);
  if (set === undefined) attachedByServer.set(server, (set = new Set()));
  return set;
}

/** The handshake slot of each socket in its handshake (beside the socket, not a property on it: see `countFor`). */
const slots = new WeakMap<Duplex, PendingSlot>();

/** A pending-handshake slot, given back exactly once. */
class PendingSlot {
  private held = true;
  constructor(
    private readonly admission: Admission,
    private readonly address: string,
  ) {}
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.admission.endHandshake(this.address);
  }
}

function releaseSlotOnClose(this: Duplex): void {
  slots.get(this)?.release();
}

/**
 * TLS mode: the slot taken for the TCP socket, and the stats its refusals count for, move to the
 * TLS socket that wraps it (which the rest of the handshake sees).
 */
function movePending(from: Duplex, to: Duplex): void {
  const stats = statsOf(from);
  if (stats !== undefined) {
    stopCounting(from);
    countFor(to, stats);
  }
  const slot = slots.get(from);
  if (slot === undefined) return;
  slots.delete(from);
  from.off('close', releaseSlotOnClose);
  slots.set(to, slot);
  to.once('close', releaseSlotOnClose);
}

/**
 * Standalone mode: the parsed request head as a real `http.IncomingMessage` on the socket, so
 * hooks and 'connection' listeners get what they get in attached mode (`req.socket`,
 * `req.headers`, `req.on`, ...). Its body is empty: an upgrade request has none.
 */
function incomingMessage(head: RequestHead, socket: Socket): IncomingMessage {
  const request = new IncomingMessage(socket);
  const raw = head.headers.raw();
  request.method = head.method;
  request.url = head.target;
  request.httpVersion = head.version;
  const [major, minor] = head.version.split('.');
  request.httpVersionMajor = Number(major);
  request.httpVersionMinor = Number(minor);
  // Node's own header intake: `req.headers` and `req.headersDistinct` are then computed on first
  // read, with Node's rules for repeated headers (what the same request gets in attached mode).
  const intake = (request as unknown as { _addHeaderLines?: (headers: string[], count: number) => void })._addHeaderLines;
  if (typeof intake === 'function') {
    intake.call(request, raw, raw.length);
  } else {
    request.rawHeaders = raw;
    request.headers = { ...head.headers.toObject() };
  }
  request.complete = true;
  request.push(null);
  return request;
}
