/**
 * The standalone listener: a `node:net` server (or `node:tls` for wss) that reads each new
 * connection's upgrade request with the limited, linear-time sans-I/O head parser and hands the
 * finished head, with the bytes read past it, to the server in the same tick as the read, so the
 * accept pipeline takes the socket over before another byte can arrive (nothing is lost). One sweep timer enforces the
 * handshake deadline for every pending socket (slowloris), counted from the TCP accept, so in
 * TLS mode it covers the TLS handshake too; TLS failures are destroyed. It knows nothing of
 * WebSockets beyond the request head.
 */
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { HttpHeadParser, type HttpHeadResult, type RequestHead } from '../../handshake/index.js';
import { ignoreTransportError, reserveConnectionSlot } from '../connection/connection.js';
import { rejectUpgrade } from './rejection.js';

/** What the listener hands over. */
export interface ListenerHost {
  /** A socket's request head arrived (complete, or rejected by the parser); take the socket over in this tick. */
  requestHead(socket: Socket, result: Exclude<HttpHeadResult<RequestHead>, { done: false }>): void;
  /** A TCP connection was accepted: take its handshake slot before any work, or refuse it (false). */
  beginPending(socket: Socket): boolean;
  /** TLS mode: the TCP socket's slot moves to the TLS socket. */
  movePending(from: Socket, to: Socket): void;
  listening(): void;
  error(error: Error): void;
}

/** Listener settings. */
export interface ListenerOptions {
  readonly port: number;
  readonly host: string | undefined;
  readonly backlog: number | undefined;
  readonly tls: TlsOptions | undefined;
  readonly handshakeTimeout: number;
  readonly maxHeaderSize: number;
}

/** Each socket whose request head is still arriving (beside the socket, not a property on it: see `countFor`). */
const pendingOf = new WeakMap<Socket, PendingHandshake>();

/** A connection whose request head is still arriving. */
class PendingHandshake {
  parser: HttpHeadParser<RequestHead> | null = null;
  constructor(
    readonly listener: StandaloneListener,
    readonly deadline: number,
  ) {}
}

/** The standalone mode's TCP/TLS listener. */
export class StandaloneListener {
  private readonly server: NetServer;
  private readonly pending = new Set<Socket>();
  /** TLS mode: TCP connections whose TLS handshake has not finished, by remote address and port. */
  private readonly tlsPending = new Map<string, Socket>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  /**
   * @param host - where heads and events go
   * @param options - address, TLS and handshake limits
   */
  constructor(
    private readonly host: ListenerHost,
    private readonly options: ListenerOptions,
  ) {
    if (options.tls !== undefined) {
      // Node's own TLS handshake timeout is a backstop; the sweep below enforces the real deadline.
      const server = createTlsServer({ handshakeTimeout: options.handshakeTimeout, ...options.tls }, (socket) => this.onSocket(socket));
      server.on('connection', (raw: Socket) => this.onRawTlsSocket(raw));
      server.on('tlsClientError', (_error, socket) => socket.destroy());
      this.server = server;
    } else {
      this.server = createNetServer((socket) => this.onSocket(socket));
    }
    this.server.on('error', (error) => host.error(error));
    this.server.on('listening', () => host.listening());
    this.server.listen({
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.backlog === undefined ? {} : { backlog: options.backlog }),
    });
  }

  /** The listening address. */
  address(): AddressInfo | string | null {
    return this.server.address();
  }

  /** Sockets whose request head has not arrived yet (TLS handshakes included). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Stop listening and drop every pending handshake; resolves when the listener is closed. */
  close(): Promise<void> {
    this.stopped = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private deadlineFrom(now: number): number {
    return now + this.options.handshakeTimeout;
  }

  /** TLS mode: the TCP connection exists, the TLS handshake has not started; the clock starts now. */
  private onRawTlsSocket(raw: Socket): void {
    if (this.stopped) {
      raw.destroy();
      return;
    }
    if (!this.host.beginPending(raw)) return;
    const key = `${raw.remoteAddress}|${raw.remotePort}`;
    this.tlsPending.set(key, raw);
    this.track(raw, new PendingHandshake(this, this.deadlineFrom(Date.now())));
    raw.once('close', () => {
      if (this.tlsPending.get(key) === raw) this.tlsPending.delete(key);
    });
  }

  private onSocket(socket: Socket): void {
    reserveConnectionSlot(socket);
    if (this.stopped) {
      socket.destroy();
      return;
    }
    let deadline = this.deadlineFrom(Date.now());
    if (this.options.tls !== undefined) {
      // The clock started at the TCP accept: it moves from the raw socket to the TLS socket.
      const key = `${socket.remoteAddress}|${socket.remotePort}`;
      const raw = this.tlsPending.get(key);
      if (raw !== undefined) {
        this.tlsPending.delete(key);
        this.host.movePending(raw, socket);
        deadline = pendingOf.get(raw)?.deadline ?? deadline;
        this.untrack(raw);
      }
    }
    if (this.options.tls === undefined && !this.host.beginPending(socket)) return;
    const pending = new PendingHandshake(this, deadline);
    pending.parser = new HttpHeadParser<RequestHead>('request', { maxHeadSize: this.options.maxHeaderSize });
    this.track(socket, pending);
    socket.on('data', pendingOnData);
  }

  private track(socket: Socket, pending: PendingHandshake): void {
    pendingOf.set(socket, pending);
    this.pending.add(socket);
    socket.on('error', ignoreTransportError);
    socket.on('close', pendingOnClose);
    this.sweepTimer ??= setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.options.handshakeTimeout >> 2))).unref();
  }

  /** @internal Stop treating `socket` as pending; its parser and state go. */
  untrack(socket: Socket): void {
    socket.off('data', pendingOnData);
    socket.off('close', pendingOnClose);
    pendingOf.delete(socket);
    this.pending.delete(socket);
  }

  /** @internal */
  onData(socket: Socket, pending: PendingHandshake, chunk: Buffer): void {
    const result = pending.parser!.push(chunk);
    if (!result.done) return;
    this.untrack(socket);
    // The accept pipeline takes the socket over in this same tick (a synchronous upgrade adopts it,
    // an async verify holds its input), so no byte can arrive in between and be lost.
    this.host.requestHead(socket, result);
  }

  /** Drop connections whose opening did not finish in time (slowloris); one timer for all. */
  private sweep(): void {
    const now = Date.now();
    for (const socket of this.pending) {
      const pending = pendingOf.get(socket);
      if (pending === undefined || pending.deadline <= now) {
        const tlsPhase = pending?.parser === null;
        this.untrack(socket);
        if (tlsPhase) socket.destroy();
        else rejectUpgrade(socket, 408, 'handshake timed out');
      }
    }
    if (this.pending.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }
}

function pendingOnData(this: Socket, chunk: Buffer): void {
  const pending = pendingOf.get(this);
  if (pending !== undefined) pending.listener.onData(this, pending, chunk);
}

function pendingOnClose(this: Socket): void {
  pendingOf.get(this)?.listener.untrack(this);
}

