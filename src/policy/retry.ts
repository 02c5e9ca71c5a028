/**
 * The retry table of the reconnecting client, sans-I/O: given how a connection attempt or an open
 * connection ended (a {@link DisconnectCause}), say whether a new attempt is worth making, and how
 * long a server asked us to wait (`Retry-After`, RFC 9110 §10.2.3). Transient endings retry
 * (network errors and timeouts, 1001 going away, 1006 abnormal closure, 1011–1014 server
 * trouble, 5xx, 408 and 429 answers, a proxy that could not reach the server); endings that
 * would only repeat do not (a clean 1000/1005 close by the server, the protocol and policy codes
 * 1002, 1003, 1007–1010, application codes 3000–4999, other 4xx answers such as 401/403/404, a
 * proxy refusing us with 407/403, a malformed handshake). The user's predicate can overrule any
 * row. This module decides; it never waits, reads no clock of its own, and touches no socket.
 */
import { CloseCode, ErrorCode } from '../core/index.js';

/** How a connection attempt, or an open connection, ended. */
export type DisconnectCause =
  /** No answer to judge: the TCP/TLS connection or the proxy failed, the handshake timed out or was invalid. */
  | { readonly kind: 'error'; readonly error: Error & { readonly code?: string; readonly status?: number } }
  /** The server answered the upgrade request with `status` instead of 101. */
  | { readonly kind: 'rejected'; readonly status: number; readonly headers: Readonly<Record<string, string>> }
  /** An open connection closed with `code` (1006: without a close frame). */
  | { readonly kind: 'closed'; readonly code: number; readonly reason: string };

/** Close codes after which a reconnect is attempted. */
const RETRY_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.GoingAway, // 1001: the server is restarting or the page is leaving
  CloseCode.AbnormalClosure, // 1006: the connection dropped without a close frame
  CloseCode.InternalError, // 1011
  CloseCode.ServiceRestart, // 1012
  CloseCode.TryAgainLater, // 1013
  CloseCode.BadGateway, // 1014
]);

/** Error codes (no HTTP answer to judge) that retry; every other one does not. */
const RETRY_ERROR_CODES: ReadonlySet<string> = new Set([
  ErrorCode.ConnectionFailed,
  ErrorCode.HandshakeTimeout,
  ErrorCode.ProxyTimeout,
  ErrorCode.ProxyConnectionFailed,
  ErrorCode.ProxyBadGateway,
]);

/** Whether an HTTP status (of the server, or of a proxy refusing the tunnel) is worth another attempt. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * The table's answer for `cause`: true when reconnecting may help.
 */
export function isRetryable(cause: DisconnectCause): boolean {
  switch (cause.kind) {
    case 'closed':
      return RETRY_CLOSE_CODES.has(cause.code);
    case 'rejected':
      return isRetryableStatus(cause.status);
    case 'error': {
      const { code, status } = cause.error;
      if (code === ErrorCode.ProxyRejected) return status !== undefined && isRetryableStatus(status);
      return code !== undefined && RETRY_ERROR_CODES.has(code);
    }
  }
}

/**
 * How long the server asked us to wait, in ms, from a 503 or 429 answer's `Retry-After`; null
 * when there is none (or another status, or an unreadable value).
 *
 * @param now - the current time in ms since the epoch, to read an HTTP-date against
 */
export function retryAfterOf(cause: DisconnectCause, now: number): number | null {
  if (cause.kind !== 'rejected' || (cause.status !== 503 && cause.status !== 429)) return null;
  const value = cause.headers['retry-after'];
  return value === undefined ? null : parseRetryAfter(value, now);
}

/**
 * Parse a `Retry-After` value: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), as ms from `now`
 * (never negative); null when it is neither.
 */
export function parseRetryAfter(value: string, now: number): number | null {
  const text = value.trim();
  // "Retry-After = HTTP-date / delay-seconds"; "delay-seconds = 1*DIGIT".
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date always names its weekday and its time zone (GMT), which keeps stray numbers out.
  if (!/^[A-Za-z]{3},/.test(text) || !/GMT$/.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
