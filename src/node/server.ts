/**
 * The WebSocket server, three ways: standalone (it listens with `node:net`, or `node:tls` for
 * wss, and parses the upgrade request itself with a limited, linear-time parser under a handshake
 * timeout), attached to an existing `http`/`https` server (`{ server, path }`), or `noServer` with
 * `handleUpgrade(req, socket, head, cb)` for any framework. Every request goes through the same
 * sans-I/O validation, then the origin allow-list, the application's `verify` hook (async; may
 * reject with a status and headers or attach user data), subprotocol selection, and the
 * connection limit, before `101` is written and a `WebSocket` takes the socket over. It emits
 * ws's events (`listening`, `connection`, `error`, `close`) and never lets a bad request crash it.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { CloseCode, ErrorCode, WebSocketError } from '../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../core/options.js';
import {
  acceptResponse,
  type ExtensionNegotiator,
  formatExtensions,
  type HandshakeRejection,
  negotiateExtensions,
  HeaderMap,
  HttpHeadParser,
  type HttpHeadResult,
  type RequestHead,
  rejectionResponse,
  type ValidUpgradeRequest,
  validateUpgradeRequest,
} from '../handshake/index.js';
import { CONNECTION_OPTION_KEYS, type ConnectionOptions, resolveConnectionOptions, type ResolvedConnectionOptions } from './connection-options.js';
import { asBuffer, sha1 } from './platform.js';
import { type PerMessageDeflateConfig, resolveDeflateConfig, type ResolvedDeflateConfig } from './deflate-options.js';
import { PerMessageDeflateServer } from '../extensions/index.js';
import { INTERNAL, WebSocket } from './websocket.js';

/** What `verify` and `handleProtocols` see of an upgrade request (shaped like Node's `IncomingMessage`). */
export interface UpgradeRequest {
  readonly method: string;
  /** Request target, e.g. `/chat?room=1`. */
  readonly url: string;
  readonly httpVersion: string;
  /** Lower-case header names to values (repeated headers joined by ", "); null prototype. */
  readonly headers: Readonly<Record<string, string>>;
  /** `[name, value, name, value, …]` as received. */
  readonly rawHeaders: readonly string[];
  /** The underlying socket (remote address and port live here). */
  readonly socket: Socket;
}

/** Outcome of a `verify` hook. */
export type VerifyResult =
  | boolean
  | { readonly accept: true; readonly user?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly accept: false; readonly status?: number; readonly message?: string; readonly headers?: Readonly<Record<string, string>> };

/** ws-compatible `verifyClient` information. */
export interface VerifyClientInfo {
  readonly origin: string | undefined;
  readonly secure: boolean;
  readonly req: UpgradeRequest | IncomingMessage;
}

/** Options of a {@link WebSocketServer}. */
export interface ServerOptions extends ConnectionOptions {
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
  /** Allowed `Origin` values or a predicate; others get 403. Default: any. */
  origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** Decide whether to accept a request; may be async. `false` answers 401. */
  verify?: (request: UpgradeRequest | IncomingMessage) => VerifyResult | Promise<VerifyResult>;
  /** ws-compatible verification hook, sync `(info) => boolean` or async `(info, cb) => void`. */
  verifyClient?:
    | ((info: VerifyClientInfo) => boolean)
    | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void);
  /** Pick a subprotocol from those offered (ws signature); return false for none. Default: the first offered. */
  handleProtocols?: (protocols: Set<string>, request: UpgradeRequest | IncomingMessage) => string | false;
  /** Track connections in `clients`. Default true. */
  clientTracking?: boolean;
  /** Most open connections; further upgrades get 503. Default 100,000. */
  maxConnections?: number;
  /** Standalone mode: drop a connection whose request head is not complete within this many ms. Default 10,000. */
  handshakeTimeout?: number;
  /** Standalone mode: largest request head, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Negotiate permessage-deflate (RFC 7692): `true` or settings. Default false: compression costs memory per connection (see README). */
  perMessageDeflate?: boolean | PerMessageDeflateConfig;
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
  'handshakeTimeout',
  'maxHeaderSize',
  'perMessageDeflate',
]);

/** Listener signatures of a {@link WebSocketServer}. */
export interface WebSocketServerEvents {
  listening: [];
  connection: [socket: WebSocket, request: UpgradeRequest | IncomingMessage];
  error: [error: Error];
  close: [];
  headers: [headers: string[], request: UpgradeRequest | IncomingMessage];
}

/** A WebSocket server. */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  /** Open connections, when `clientTracking` is on. */
  readonly clients: Set<WebSocket>;
  private readonly connectionOptions: ResolvedConnectionOptions;
  private readonly settings: ServerOptions;
  private readonly deflate: ResolvedDeflateConfig | null;
  private readonly deflateNegotiators: readonly ExtensionNegotiator[];
  private readonly maxConnections: number;
  private readonly handshakeTimeout: number;
  private readonly maxHeaderSize: number;
  private readonly netServer: NetServer | null = null;
  private readonly httpServer: HttpServer | HttpsServer | null = null;
  private readonly onHttpUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) | null = null;
  private readonly pendingSockets = new Set<Socket>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private open = 0;
  private closing = false;
  private closedPromise: Promise<void> | null = null;

  /**
   * @param options - mode (port, server or noServer), hooks and limits
   * @param callback - called once listening (standalone mode)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for unknown keys, bad values or not exactly one mode
   */
  constructor(options: ServerOptions, callback?: () => void) {
    super();
    rejectUnknownKeys(options, SERVER_KEYS, 'WebSocketServer');
    const modes = Number(options.port !== undefined) + Number(options.server !== undefined) + Number(options.noServer === true);
    if (modes !== 1) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'exactly one of "port", "server" or "noServer" must be given');
    }
    this.deflate = resolveDeflateConfig(options.perMessageDeflate, false);
    this.deflateNegotiators = this.deflate === null ? [] : [new PerMessageDeflateServer(this.deflate.negotiation)];
    this.settings = options;
    this.connectionOptions = resolveConnectionOptions(options);
    this.maxConnections = integerOption(options.maxConnections, 'maxConnections', 100_000, 0);
    this.handshakeTimeout = integerOption(options.handshakeTimeout, 'handshakeTimeout', 10_000, 1, 2 ** 31 - 1);
    this.maxHeaderSize = integerOption(options.maxHeaderSize, 'maxHeaderSize', 16 * 1024, 256);
    this.clients = new Set();
    const tracking = booleanOption(options.clientTracking, 'clientTracking', true);
    if (!tracking) (this as { clients: Set<WebSocket> }).clients = new NoopSet();

    if (options.port !== undefined) {
      const onSocket = (socket: Socket) => this.acceptRawSocket(socket);
      const server = options.tls !== undefined ? createTlsServer(options.tls, onSocket) : createNetServer(onSocket);
      this.netServer = server;
      server.on('error', (error) => this.emit('error', error));
      server.on('listening', () => this.emit('listening'));
      if (callback) server.once('listening', callback);
      server.listen({ port: options.port, ...(options.host === undefined ? {} : { host: options.host }), ...(options.backlog === undefined ? {} : { backlog: options.backlog }) });
    } else if (options.server !== undefined) {
      const server = options.server;
      this.httpServer = server;
      this.onHttpUpgrade = (req, socket, head) => {
        if (!this.shouldHandle(req)) {
          // Another upgrade listener may own this path; answer only when nobody else can.
          if (server.listenerCount('upgrade') === 1) abort(socket, 400, 'invalid path');
          return;
        }
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      server.on('upgrade', this.onHttpUpgrade);
      server.on('listening', this.onListening);
      server.on('error', this.onError);
    }
  }

  private readonly onListening = () => this.emit('listening');
  private readonly onError = (error: Error) => this.emit('error', error);

  /** The listening address (standalone or attached mode). */
  address(): AddressInfo | string | null {
    const server = this.netServer ?? this.httpServer;
    if (server === null) throw new WebSocketError(ErrorCode.InvalidState, 'the server is in noServer mode');
    return server.address();
  }

  /** Whether this server accepts upgrades for the request's path. */
  shouldHandle(request: { url?: string | undefined }): boolean {
    if (this.settings.path === undefined) return true;
    const url = request.url ?? '/';
    const question = url.indexOf('?');
    return (question === -1 ? url : url.slice(0, question)) === this.settings.path;
  }

  /**
   * Complete the handshake on a socket an HTTP server handed over with its `upgrade` event.
   * Rejections are answered on the socket and the socket is closed; `callback` runs only on success.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, callback: (ws: WebSocket, req: IncomingMessage) => void): void {
    socket.on('error', noop);
    const parsed: RequestHead = {
      kind: 'request',
      method: req.method ?? '',
      target: req.url ?? '/',
      version: req.httpVersion,
      headers: HeaderMap.fromRaw(req.rawHeaders),
    };
    void this.completeUpgrade(parsed, req, socket as Socket, head, (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true, (ws) => callback(ws, req));
  }

  /**
   * Stop accepting connections, close every client with 1001 and wait (bounded by `closeTimeout`)
   * for them; then emit `close`. In attached mode the HTTP server is left running.
   */
  close(callback?: (error?: Error) => void): Promise<void> {
    if (this.closedPromise === null) {
      this.closing = true;
      if (this.httpServer !== null) {
        this.httpServer.off('upgrade', this.onHttpUpgrade!);
        this.httpServer.off('listening', this.onListening);
        this.httpServer.off('error', this.onError);
      }
      for (const socket of this.pendingSockets) socket.destroy();
      if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
      this.sweepTimer = null;
      const closings = [...this.clients].map((ws) => {
        if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.GoingAway, 'server shutting down');
        return ws.closed;
      });
      const listening = this.netServer;
      this.closedPromise = Promise.all([
        Promise.all(closings),
        listening === null ? Promise.resolve() : new Promise<void>((resolve) => listening.close(() => resolve())),
      ]).then(() => {
        this.emit('close');
      });
    }
    if (callback) this.closedPromise.then(() => callback(), callback);
    return this.closedPromise;
  }

  // -- standalone mode -------------------------------------------------------------------------

  private acceptRawSocket(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const pending = new PendingHandshake(this, socket, Date.now() + this.handshakeTimeout, this.maxHeaderSize);
    (socket as PendingSocket)[PENDING] = pending;
    this.pendingSockets.add(socket);
    socket.on('error', noop);
    socket.on('data', pendingOnData);
    socket.on('close', pendingOnClose);
    this.sweepTimer ??= setInterval(() => this.sweepHandshakes(), Math.max(10, Math.min(1000, this.handshakeTimeout >> 2))).unref();
  }

  /** Drop connections whose request head did not arrive in time (slowloris); one timer for all. */
  private sweepHandshakes(): void {
    const now = Date.now();
    for (const socket of this.pendingSockets) {
      const pending = (socket as PendingSocket)[PENDING];
      if (pending === undefined || pending.deadline <= now) {
        this.endHandshake(socket);
        abort(socket, 408, 'handshake timed out');
      }
    }
    if (this.pendingSockets.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** @internal Stop treating `socket` as a pending handshake. */
  endHandshake(socket: Socket): void {
    socket.off('data', pendingOnData);
    socket.off('close', pendingOnClose);
    // Let the parser and its state go: the socket lives on as a WebSocket.
    (socket as PendingSocket)[PENDING] = undefined;
    this.pendingSockets.delete(socket);
  }

  /** @internal A standalone connection's request head is complete. */
  onRequestHead(socket: Socket, result: HttpHeadResult<RequestHead>): void {
    if (!result.done) return;
    this.endHandshake(socket);
    if ('error' in result) {
      abort(socket, result.error.status, result.error.message);
      return;
    }
    const head = result.head;
    if (!head.headers.has('upgrade') && head.method === 'GET') {
      abort(socket, 426, 'this service accepts WebSocket connections only', [['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']]);
      return;
    }
    if (!this.shouldHandle({ url: head.target })) {
      abort(socket, 400, 'invalid path');
      return;
    }
    const request = new StandaloneRequest(head, socket);
    this.completeUpgrade(head, request, socket, asBuffer(result.rest), this.settings.tls !== undefined, (ws) => this.emit('connection', ws, request));
  }

  /** @internal A connection this server accepted has closed. */
  connectionClosed(ws: WebSocket): void {
    this.open--;
    this.clients.delete(ws);
  }

  // -- common path ------------------------------------------------------------------------------

  private completeUpgrade(
    head: RequestHead,
    request: UpgradeRequest | IncomingMessage,
    socket: Socket,
    rest: Buffer,
    secure: boolean,
    done: (ws: WebSocket) => void,
  ): void {
    try {
      const valid = validateUpgradeRequest(head, this.settings.origins === undefined ? {} : { origins: this.settings.origins });
      if (!valid.ok) return reject(socket, valid);
      if (this.closing) return abort(socket, 503, 'server shutting down');
      if (this.open >= this.maxConnections) return abort(socket, 503, 'too many connections');
      const verdict = this.runVerify(request, valid.origin, secure);
      // A synchronous verdict (or none) completes the upgrade in this tick, with no promise.
      if (verdict instanceof Promise) {
        verdict.then(
          (result) => this.finishUpgrade(result, valid, request, socket, rest, done),
          (error: unknown) => this.failUpgrade(socket, error),
        );
      } else {
        this.finishUpgrade(verdict, valid, request, socket, rest, done);
      }
    } catch (error) {
      this.failUpgrade(socket, error);
    }
  }

  private finishUpgrade(
    verdict: VerifyResult,
    valid: ValidUpgradeRequest,
    request: UpgradeRequest | IncomingMessage,
    socket: Socket,
    rest: Buffer,
    done: (ws: WebSocket) => void,
  ): void {
    try {
      if (socket.destroyed) return;
      const extraHeaders: [string, string][] = [];
      let user: unknown;
      if (verdict !== true) {
        if (verdict === false) return abort(socket, 401, 'unauthorized');
        if (!verdict.accept) {
          return abort(socket, verdict.status ?? 401, verdict.message ?? 'unauthorized', Object.entries(verdict.headers ?? {}));
        }
        user = verdict.user;
        extraHeaders.push(...Object.entries(verdict.headers ?? {}));
      }

      let protocol: string | undefined;
      if (valid.protocols.length !== 0) {
        const chosen = this.settings.handleProtocols ? this.settings.handleProtocols(new Set(valid.protocols), request) : valid.protocols[0];
        if (typeof chosen === 'string') {
          // The server "MUST ... select one of the values" the client offered (§4.2.2).
          if (!valid.protocols.includes(chosen)) throw new WebSocketError(ErrorCode.InvalidArgument, `handleProtocols chose "${chosen}", which was not offered`);
          protocol = chosen;
        }
      }
      if (this.closing) return abort(socket, 503, 'server shutting down');
      if (this.open >= this.maxConnections) return abort(socket, 503, 'too many connections');

      const negotiated = negotiateExtensions(valid.extensionOffers, this.deflateNegotiators);
      if (!negotiated.ok) return reject(socket, negotiated);
      const response = acceptResponse(valid.key, sha1, protocol, negotiated.responses, extraHeaders);
      if (this.listenerCount('headers') !== 0) {
        const lines = response.slice(0, -4).split('\r\n');
        this.emit('headers', lines, request);
        socket.write(lines.join('\r\n') + '\r\n\r\n');
      } else {
        socket.write(response);
      }
      const ws = new WebSocket(INTERNAL, valid.head.target, this.connectionOptions);
      ws.user = user;
      ws.owner = this;
      this.open++;
      this.clients.add(ws);
      socket.removeListener('error', noop);
      ws.attach(socket, rest, protocol ?? '', negotiated.extensions, formatExtensions(negotiated.responses), this.deflate);
      done(ws);
    } catch (error) {
      this.failUpgrade(socket, error);
    }
  }

  private failUpgrade(socket: Duplex, error: unknown): void {
    abort(socket, 500, 'internal error');
    this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  private runVerify(request: UpgradeRequest | IncomingMessage, origin: string | undefined, secure: boolean): Promise<VerifyResult> | VerifyResult {
    const { verify, verifyClient } = this.settings;
    if (verify !== undefined) return verify(request);
    if (verifyClient === undefined) return true;
    const info: VerifyClientInfo = { origin, secure, req: request };
    if (verifyClient.length < 2) return (verifyClient as (info: VerifyClientInfo) => boolean)(info);
    return new Promise((resolve) => {
      (verifyClient as (info: VerifyClientInfo, cb: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void)(
        info,
        (ok, code, message, headers) =>
          resolve(ok ? true : { accept: false, ...(code === undefined ? {} : { status: code }), ...(message === undefined ? {} : { message }), ...(headers === undefined ? {} : { headers }) }),
      );
    });
  }
}

/** The request as `verify` and `connection` listeners see it in standalone mode; headers are built on first use. */
class StandaloneRequest implements UpgradeRequest {
  private headerObject: Record<string, string> | null = null;
  private raw: string[] | null = null;

  constructor(
    private readonly head: RequestHead,
    readonly socket: Socket,
  ) {}

  get method(): string {
    return this.head.method;
  }
  get url(): string {
    return this.head.target;
  }
  get httpVersion(): string {
    return this.head.version;
  }
  get headers(): Readonly<Record<string, string>> {
    return (this.headerObject ??= this.head.headers.toObject());
  }
  get rawHeaders(): readonly string[] {
    if (this.raw === null) {
      this.raw = [];
      for (const [name, value] of this.head.headers.entries()) this.raw.push(name, value);
    }
    return this.raw;
  }
}

function reject(socket: Duplex, rejection: HandshakeRejection): void {
  abort(socket, rejection.status, rejection.message, rejection.headers);
}

/** Answer a refused upgrade and close the socket. */
function abort(socket: Duplex, status: number, message: string, headers: readonly (readonly [string, string])[] = []): void {
  if (socket.destroyed) return;
  let response: string;
  try {
    response = rejectionResponse(status, message, headers);
  } catch {
    response = rejectionResponse(500, 'internal error');
  }
  socket.end(response);
  // Do not wait forever for a peer that does not read the answer.
  const timer = setTimeout(() => socket.destroy(), 1000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function noop(): void {}

const PENDING = Symbol('rfc6455.pending-handshake');
type PendingSocket = Socket & { [PENDING]: PendingHandshake | undefined };

/** A standalone connection whose request head is still arriving. */
class PendingHandshake {
  readonly parser: HttpHeadParser<RequestHead>;
  constructor(
    readonly server: WebSocketServer,
    readonly socket: Socket,
    readonly deadline: number,
    maxHeadSize: number,
  ) {
    this.parser = new HttpHeadParser<RequestHead>('request', { maxHeadSize });
  }
}

function pendingOnData(this: Socket, chunk: Buffer): void {
  const pending = (this as PendingSocket)[PENDING];
  if (pending !== undefined) pending.server.onRequestHead(this, pending.parser.push(chunk));
}

function pendingOnClose(this: Socket): void {
  (this as PendingSocket)[PENDING]?.server.endHandshake(this);
}

/** A `Set` that stays empty, for `clientTracking: false`. */
class NoopSet<T> extends Set<T> {
  override add(): this {
    return this;
  }
}
