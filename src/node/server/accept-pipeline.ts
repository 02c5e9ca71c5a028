/**
 * The one accept pipeline every upgrade goes through, whatever the server mode: the sans-I/O
 * request validation (RFC 6455 §4.2.1) and origin allow-list, the connection limit, the
 * application's `verify` / `verifyClient` hook (async allowed; input arriving meanwhile is held,
 * and a socket that half-closed or vanished meanwhile is dropped), subprotocol selection,
 * extension negotiation, the `101` answer, and the adoption of the finished handshake by a new
 * `WebSocket`, which starts reading only after the 'connection' callback ran (so frames sent
 * right behind the request reach its listeners). Every refusal is an HTTP answer from the
 * rejection writer; an error thrown by a hook is a 500, reported to the server, never thrown into
 * the event loop.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, WebSocketError } from '../../core/index.js';
import {
  acceptResponse,
  type ExtensionNegotiator,
  formatExtensions,
  negotiateExtensions,
  type RequestHead,
  type ValidUpgradeRequest,
  validateUpgradeRequest,
} from '../../handshake/index.js';
import { type AdmissionRefusal, admissionRecord, clientAddress, type OpenTicket, type TrustProxy } from '../../policy/index.js';
import type { Connection, ConnectionOwner } from '../connection/connection.js';
import type { ResolvedConnectionOptions } from '../connection/connection-options.js';
import type { ResolvedDeflateConfig } from '../connection/deflate-options.js';
import { sha1 } from '../platform.js';
import { adoptWebSocket, type WebSocket } from '../websocket.js';
import { HeldInput } from './held-input.js';
import { refuseAdmission, rejectUpgrade, rejectWith } from './rejection.js';
import type { AnyUpgradeRequest, VerifyClientInfo, VerifyResult } from './upgrade-request.js';

/** The hooks of the accept pipeline (from the server's options). */
export interface AcceptHooks {
  readonly origins: '*' | readonly string[] | ((origin: string | undefined) => boolean) | undefined;
  readonly verify: ((request: AnyUpgradeRequest) => VerifyResult | Promise<VerifyResult>) | undefined;
  readonly verifyClient:
    | ((info: VerifyClientInfo) => boolean)
    | ((info: VerifyClientInfo, callback: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void)
    | undefined;
  readonly handleProtocols: ((protocols: Set<string>, request: AnyUpgradeRequest) => string | false) | undefined;
}

/** What the pipeline needs from its server. */
export interface AcceptHost {
  /** The server is shutting down: refuse with 503. */
  readonly closing: boolean;
  /** Whether one more connection from `address` (and `user`) fits; the refusal otherwise. */
  checkAdmission(address: string, user: string | undefined): true | AdmissionRefusal;
  /** Take an open-connection slot, or get the refusal. */
  admit(address: string, user: string | undefined): OpenTicket | AdmissionRefusal;
  /** The socket's opening is over (adopted, refused or gone): give its handshake slot back. */
  endPending(socket: Duplex): void;
  /** The owner of admitted connections (told when one closes). */
  readonly owner: ConnectionOwner;
  /** An admitted connection was never made (the `WebSocket` class threw): give its ticket back. */
  unadmit(ticket: OpenTicket): void;
  /** ws's 'headers' event; returns the lines to send (possibly changed by listeners). */
  responseHeaders(lines: string[], request: AnyUpgradeRequest): string[] | null;
  /** A new connection was adopted (before its 'connection' callback). */
  adopted(ws: WebSocket, connection: Connection): void;
  /** A hook threw or returned something impossible. */
  reportError(error: Error): void;
  /** ws's 'wsClientError': an invalid upgrade request; true when a listener took the socket (no answer is written then). */
  clientError(error: Error, socket: Duplex, request: AnyUpgradeRequest): boolean;
}

/** Settings the pipeline applies to every accepted connection. */
export interface AcceptSettings {
  readonly hooks: AcceptHooks;
  readonly trustProxy: TrustProxy;
  readonly connection: ResolvedConnectionOptions;
  readonly deflate: ResolvedDeflateConfig | null;
  readonly negotiators: readonly ExtensionNegotiator[];
  /** The class each accepted connection is made with (ws's `WebSocket` option). */
  readonly WebSocketClass: typeof WebSocket;
}

/** Called with the new WebSocket once the 101 is written; reading starts when it returns. */
export type AcceptedCallback = (ws: WebSocket) => void;

/** The accept pipeline of one server. */
export class AcceptPipeline {
  /**
   * @param host - the server
   * @param settings - hooks and the options every connection shares
   */
  constructor(
    private readonly host: AcceptHost,
    private readonly settings: AcceptSettings,
  ) {}

  /** Run an upgrade request through the pipeline; answers a refusal itself. Never throws. */
  accept(head: RequestHead, request: AnyUpgradeRequest, socket: Duplex, rest: Buffer, secure: boolean, done: AcceptedCallback): void {
    try {
      const { hooks } = this.settings;
      const valid = validateUpgradeRequest(head, hooks.origins === undefined ? {} : { origins: hooks.origins });
      if (!valid.ok) {
        const error = Object.assign(new WebSocketError(ErrorCode.InvalidHandshake, valid.message), { status: valid.status });
        if (this.host.clientError(error, socket, request)) return;
        return rejectWith(socket, valid);
      }
      if (this.host.closing) return rejectUpgrade(socket, 503, 'server shutting down');
      const address = clientAddress(
        (socket as { remoteAddress?: string }).remoteAddress ?? '',
        head.headers.get('x-forwarded-for'),
        head.headers.get('forwarded'),
        this.settings.trustProxy,
      );
      const early = this.host.checkAdmission(address, undefined);
      if (early !== true) return refuseAdmission(socket, early);
      const verdict = this.runVerify(request, valid.origin, secure);
      if (!(verdict instanceof Promise)) {
        // A synchronous verdict (or none) completes the upgrade in this tick, with no promise.
        this.finish(verdict, valid, request, socket, rest, address, done);
        return;
      }
      const held = HeldInput.start(socket, rest, this.settings.connection.highWaterMark);
      verdict.then(
        (result) => {
          const bytes = held.finish();
          if (held.ended) {
            // Half-closed or gone while verify ran: nobody to talk to.
            socket.destroy();
            return;
          }
          this.finish(result, valid, request, socket, bytes, address, done);
        },
        (error: unknown) => {
          held.finish();
          this.fail(socket, error);
        },
      );
    } catch (error) {
      this.fail(socket, error);
    }
  }

  private finish(
    verdict: VerifyResult,
    valid: ValidUpgradeRequest,
    request: AnyUpgradeRequest,
    socket: Duplex,
    rest: Buffer,
    address: string,
    done: AcceptedCallback,
  ): void {
    let adoptedPair: { ws: WebSocket; connection: Connection };
    /** The admission ticket until a connection owns it. */
    let unowned: OpenTicket | null = null;
    /** The 101 is written: the socket speaks WebSocket now, an HTTP error can no longer be sent. */
    let upgraded = false;
    try {
      if (socket.destroyed || !socket.writable || socket.readableEnded) {
        socket.destroy();
        return;
      }
      const extraHeaders: [string, string][] = [];
      let user: unknown;
      if (verdict !== true) {
        if (verdict === false || typeof verdict !== 'object' || verdict === null) return rejectUpgrade(socket, 401, 'unauthorized');
        if (!verdict.accept) {
          return rejectUpgrade(socket, verdict.status ?? 401, verdict.message ?? 'unauthorized', Object.entries(verdict.headers ?? {}));
        }
        user = verdict.user;
        extraHeaders.push(...Object.entries(verdict.headers ?? {}));
      }

      let protocol = '';
      if (valid.protocols.length !== 0) {
        const { handleProtocols } = this.settings.hooks;
        const chosen = handleProtocols ? handleProtocols(new Set(valid.protocols), request) : valid.protocols[0];
        if (typeof chosen === 'string') {
          // The server "MUST ... select one of the values" the client offered (§4.2.2).
          if (!valid.protocols.includes(chosen)) {
            this.host.reportError(new WebSocketError(ErrorCode.InvalidArgument, `handleProtocols chose "${chosen}", which was not offered`));
            return rejectUpgrade(socket, 500, 'internal error');
          }
          protocol = chosen;
        }
      }
      if (this.host.closing) return rejectUpgrade(socket, 503, 'server shutting down');
      const negotiated = negotiateExtensions(valid.extensionOffers, this.settings.negotiators);
      if (!negotiated.ok) return rejectWith(socket, negotiated);
      const ticket = this.host.admit(address, userKeyOf(user));
      if (!ticket.ok) return refuseAdmission(socket, ticket);
      unowned = ticket;
      const response = acceptResponse(valid.key, sha1, protocol === '' ? undefined : protocol, negotiated.responses, extraHeaders);
      const lines = this.host.responseHeaders(response.slice(0, -4).split('\r\n'), request);
      socket.write(lines === null ? response : lines.join('\r\n') + '\r\n\r\n');
      upgraded = true;

      const { ws, connection } = adoptWebSocket(
        { transport: socket, head: rest, protocol, extensions: negotiated.extensions, extensionsHeader: formatExtensions(negotiated.responses) },
        valid.head.target,
        this.settings.connection,
        this.settings.deflate,
        this.host.owner,
        admissionRecord(ticket),
        this.settings.WebSocketClass,
      );
      unowned = null;
      this.host.endPending(socket);
      ws.user = user;
      this.host.adopted(ws, connection);
      adoptedPair = { ws, connection };
    } catch (error) {
      if (unowned !== null) this.host.unadmit(unowned);
      if (!upgraded) return this.fail(socket, error);
      // After the 101 (a custom `WebSocket` class threw, say) no HTTP answer can follow: the connection is dropped.
      socket.destroy();
      this.report(error);
      return;
    }
    // The application's own callback: what it throws is its own (as with any listener, it reaches
    // the process as an uncaught exception). It never becomes an HTTP answer: the 101 is out.
    try {
      done(adoptedPair.ws);
    } catch (error) {
      process.nextTick(rethrow, error);
    } finally {
      // Frames that came with the request are read now, after the 'connection' listeners.
      adoptedPair.connection.start();
    }
  }

  private fail(socket: Duplex, error: unknown): void {
    rejectUpgrade(socket, 500, 'internal error');
    this.report(error);
  }

  private report(error: unknown): void {
    this.host.reportError(error instanceof Error ? error : new Error(String(error)));
  }

  private runVerify(request: AnyUpgradeRequest, origin: string | undefined, secure: boolean): Promise<VerifyResult> | VerifyResult {
    const { verify, verifyClient } = this.settings.hooks;
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

/** The socket type hooks see (a Duplex from a framework is passed through as is). */
export type UpgradeSocket = Socket | Duplex;

/** The per-user key of a `verify` result's `user`: its `id` when that is a string or a number. */
function userKeyOf(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null) return undefined;
  const id = (user as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

function rethrow(error: unknown): never {
  throw error;
}
