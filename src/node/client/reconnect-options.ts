/**
 * What the reconnecting client and the `reconnect()` loop share: their options (client options
 * plus `backoff`, `shouldReconnect` and, for the client, `sendQueue`; the heartbeat on by
 * default), validated once up front so no later attempt can throw; the watcher that turns one
 * `WebSocket` attempt into "opened" and then a {@link DisconnectCause}; and the one decision that
 * combines the retry table, the user's predicate and the backoff into "wait this long" or "give
 * up". It arms no timer and keeps no connection: the two front ends own those.
 */
import { DEFAULT_RECONNECT_HEARTBEAT_INTERVAL, ErrorCode, WebSocketError } from '../../core/index.js';
import { Backoff, type BackoffOptions, type DisconnectCause, isRetryable, retryAfterOf } from '../../policy/index.js';
import type { WebSocket } from '../websocket.js';
import { type ClientOptions, parseWebSocketUrl, resolveClientOptions } from './connect.js';
import { resolveSendQueueOptions, type ResolvedSendQueueOptions, type SendQueueOptions } from './send-queue.js';

/** What `shouldReconnect` is told besides the cause. */
export interface ReconnectContext {
  /** The number the next retry would have (1 for the first retry after a stable connection). */
  readonly attempt: number;
  /** The retry table's answer for this cause. */
  readonly retryable: boolean;
}

/** Options of `reconnect()`: client options plus the reconnection policy. */
export interface ReconnectLoopOptions extends ClientOptions {
  /** Subprotocols to offer on every connection. */
  protocols?: string | readonly string[];
  /** Backoff settings (see {@link BackoffOptions}). */
  backoff?: BackoffOptions;
  /**
   * Decide whether to reconnect after `cause`, overruling the retry table (`context.retryable`);
   * return false to give up. The backoff's `maxRetries` still applies. A predicate that throws gives up.
   */
  shouldReconnect?: (cause: DisconnectCause, context: ReconnectContext) => boolean;
}

/** Options of `ReconnectingWebSocket`. */
export interface ReconnectOptions extends Omit<ReconnectLoopOptions, 'protocols'> {
  /** The offline send queue's bounds and overflow policy. */
  sendQueue?: SendQueueOptions;
}

/** Validated reconnection settings. */
export interface ResolvedReconnect {
  readonly url: string;
  readonly protocols: readonly string[];
  /** What each `new WebSocket` gets (validated already, heartbeat defaulted). */
  readonly client: ClientOptions;
  readonly backoff: Backoff;
  readonly shouldReconnect: ReconnectLoopOptions['shouldReconnect'];
  readonly sendQueue: ResolvedSendQueueOptions;
}

/**
 * Validate everything once, so that no later connection attempt can throw.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad URL, subprotocol list or option
 */
export function resolveReconnect(address: string | URL, protocols: string | readonly string[] | undefined, options: ReconnectOptions): ResolvedReconnect {
  if (typeof options !== 'object' || options === null) throw new WebSocketError(ErrorCode.InvalidArgument, 'options must be an object');
  const { backoff, shouldReconnect, sendQueue, ...rest } = options;
  if (shouldReconnect !== undefined && typeof shouldReconnect !== 'function') {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'option "shouldReconnect" must be a function');
  }
  const client: ClientOptions = { heartbeatInterval: DEFAULT_RECONNECT_HEARTBEAT_INTERVAL, ...rest };
  const url = parseWebSocketUrl(address).href;
  resolveClientOptions(client);
  const offered = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
  return { url, protocols: offered, client, backoff: new Backoff(backoff), shouldReconnect, sendQueue: resolveSendQueueOptions(sendQueue) };
}

/** A monotonic clock in ms, for the backoff's `stableAfter`. */
export const monotonicNow = (): number => performance.now();

/**
 * The delay before the next attempt after `cause`, or null to give up: the retry table (or the
 * user's predicate), then the backoff with any `Retry-After`.
 */
export function nextDelay(settings: ResolvedReconnect, cause: DisconnectCause): number | null {
  const retryable = isRetryable(cause);
  let wanted = retryable;
  if (settings.shouldReconnect !== undefined) {
    try {
      wanted = settings.shouldReconnect(cause, { attempt: settings.backoff.retries + 1, retryable }) === true;
    } catch {
      wanted = false;
    }
  }
  return wanted ? settings.backoff.next(retryAfterOf(cause, Date.now())) : null;
}

/** The error a client gives up with; `cause` says why. */
export function gaveUpError(cause: DisconnectCause, retries: number): WebSocketError {
  const why =
    cause.kind === 'closed'
      ? `connection closed with ${cause.code}${cause.reason === '' ? '' : ` (${cause.reason})`}`
      : cause.kind === 'rejected'
        ? `server answered ${cause.status}`
        : cause.error.message;
  const error = new WebSocketError(ErrorCode.ReconnectGaveUp, `gave up reconnecting after ${retries} ${retries === 1 ? 'retry' : 'retries'}: ${why}`);
  return Object.assign(error, { cause });
}

/** What a watched attempt reports. */
export interface AttemptWatcher {
  /** The handshake succeeded (the `WebSocket` is open). */
  opened(ws: WebSocket): void;
  /** The attempt failed, or the open connection closed; called exactly once. */
  ended(ws: WebSocket, cause: DisconnectCause, wasOpen: boolean, code: number, reason: string): void;
}

/**
 * Follow one `WebSocket` from construction to close and turn what happened into a cause. Listeners
 * are attached before the caller's, so nothing is missed; they are removed at the end.
 */
export function watchAttempt(ws: WebSocket, watcher: AttemptWatcher): void {
  let wasOpen = false;
  let lastError: (Error & { code?: string; status?: number }) | null = null;
  const onOpen = () => {
    wasOpen = true;
    watcher.opened(ws);
  };
  const onError = (error: Error) => {
    lastError = error;
  };
  const onClose = (code: number, reasonBytes: Buffer) => {
    ws.off('open', onOpen);
    ws.off('error', onError);
    ws.off('close', onClose);
    const reason = reasonBytes.toString('utf8');
    let cause: DisconnectCause;
    if (wasOpen) {
      // A failure we detected (the peer broke the protocol) is judged by the code we failed with.
      const failedWith = (lastError as { closeCode?: number } | null)?.closeCode;
      cause = { kind: 'closed', code: failedWith ?? code, reason };
    } else if (lastError !== null && (lastError as { code?: string }).code === ErrorCode.HandshakeRejected && typeof (lastError as { status?: unknown }).status === 'number') {
      // A non-101 answer: the rejection error carries its status and headers.
      const { status, headers } = lastError as unknown as { status: number; headers: Record<string, string> };
      cause = { kind: 'rejected', status, headers };
    } else {
      cause = { kind: 'error', error: lastError ?? new WebSocketError(ErrorCode.ConnectionFailed, 'connection failed') };
    }
    watcher.ended(ws, cause, wasOpen, code, reason);
  };
  ws.on('open', onOpen);
  ws.on('error', onError);
  ws.on('close', onClose);
}
