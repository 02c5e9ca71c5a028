/**
 * The one error type of rfc6455. Every failure the library reports is a `WebSocketError`
 * with a stable machine-readable `code` string and, for protocol failures, the close status
 * code the connection is failed with (RFC 6455 §7.4.1). This module is also the single place
 * that maps an error kind to a close code, so the ladder 1002/1007/1008/1009/1011 lives here
 * and nowhere else. Argument errors thrown to a caller are the built-in classes a JavaScript user
 * expects (`TypeError`, `RangeError`, `SyntaxError`, see {@link argumentError}), carrying the same
 * stable `code`, and `instanceof WebSocketError` holds for them too. It must not depend on Node.js.
 */
import { CloseCode } from './constants.js';

/** Stable error codes, grouped by the close code they fail the connection with. */
export const ErrorCode = {
  // 1002 protocol error
  InvalidOpcode: 'WS_ERR_INVALID_OPCODE',
  UnexpectedRsvBits: 'WS_ERR_UNEXPECTED_RSV_BITS',
  FragmentedControlFrame: 'WS_ERR_FRAGMENTED_CONTROL_FRAME',
  ControlFrameTooLong: 'WS_ERR_CONTROL_FRAME_TOO_LONG',
  MaskRequired: 'WS_ERR_EXPECTED_MASK',
  MaskForbidden: 'WS_ERR_UNEXPECTED_MASK',
  InvalidLength: 'WS_ERR_INVALID_LENGTH',
  UnexpectedContinuation: 'WS_ERR_UNEXPECTED_CONTINUATION',
  ExpectedContinuation: 'WS_ERR_EXPECTED_CONTINUATION',
  InvalidCloseCode: 'WS_ERR_INVALID_CLOSE_CODE',
  InvalidClosePayload: 'WS_ERR_INVALID_CLOSE_PAYLOAD',
  // 1007 invalid payload data
  InvalidUtf8: 'WS_ERR_INVALID_UTF8',
  InvalidCompressedData: 'WS_ERR_INVALID_COMPRESSED_DATA',
  // 1009 message too big
  FrameTooBig: 'WS_ERR_FRAME_TOO_BIG',
  MessageTooBig: 'WS_ERR_MESSAGE_TOO_BIG',
  TooManyFragments: 'WS_ERR_TOO_MANY_FRAGMENTS',
  // 1008 policy violation
  PolicyViolation: 'WS_ERR_POLICY_VIOLATION',
  // 1011 internal error
  InternalError: 'WS_ERR_INTERNAL',
  // 1013 try again later
  ServerBusy: 'WS_ERR_SERVER_BUSY',
  // API misuse (thrown to the caller, never sent on the wire)
  InvalidState: 'WS_ERR_INVALID_STATE',
  InvalidArgument: 'WS_ERR_INVALID_ARGUMENT',
  TooManyTopics: 'WS_ERR_TOO_MANY_TOPICS',
  // Opening handshake and transport (no close frame: the connection never opened or is gone)
  InvalidHandshake: 'WS_ERR_INVALID_HANDSHAKE',
  InvalidExtension: 'WS_ERR_INVALID_EXTENSION',
  HandshakeRejected: 'WS_ERR_HANDSHAKE_REJECTED',
  HandshakeTimeout: 'WS_ERR_HANDSHAKE_TIMEOUT',
  ConnectionFailed: 'WS_ERR_CONNECTION_FAILED',
  CertificateRejected: 'WS_ERR_CERTIFICATE_REJECTED',
  BufferLimit: 'WS_ERR_BUFFER_LIMIT',
  // HTTP proxy (CONNECT tunnel) failures, before the WebSocket handshake
  ProxyAuthRequired: 'WS_ERR_PROXY_AUTH_REQUIRED',
  ProxyForbidden: 'WS_ERR_PROXY_FORBIDDEN',
  ProxyBadGateway: 'WS_ERR_PROXY_BAD_GATEWAY',
  ProxyRejected: 'WS_ERR_PROXY_REJECTED',
  ProxyTimeout: 'WS_ERR_PROXY_TIMEOUT',
  ProxyConnectionFailed: 'WS_ERR_PROXY_CONNECTION_FAILED',
  // Reconnecting client
  MessageDropped: 'WS_ERR_MESSAGE_DROPPED',
  ReconnectGaveUp: 'WS_ERR_RECONNECT_GAVE_UP',
} as const;
/** One of the stable error code strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The close code each protocol error fails the connection with; API misuse has none. */
const CLOSE_CODE_OF: Readonly<Record<ErrorCode, number | undefined>> = {
  WS_ERR_INVALID_OPCODE: CloseCode.ProtocolError,
  WS_ERR_UNEXPECTED_RSV_BITS: CloseCode.ProtocolError,
  WS_ERR_FRAGMENTED_CONTROL_FRAME: CloseCode.ProtocolError,
  WS_ERR_CONTROL_FRAME_TOO_LONG: CloseCode.ProtocolError,
  WS_ERR_EXPECTED_MASK: CloseCode.ProtocolError,
  WS_ERR_UNEXPECTED_MASK: CloseCode.ProtocolError,
  WS_ERR_INVALID_LENGTH: CloseCode.ProtocolError,
  WS_ERR_UNEXPECTED_CONTINUATION: CloseCode.ProtocolError,
  WS_ERR_EXPECTED_CONTINUATION: CloseCode.ProtocolError,
  WS_ERR_INVALID_CLOSE_CODE: CloseCode.ProtocolError,
  WS_ERR_INVALID_CLOSE_PAYLOAD: CloseCode.ProtocolError,
  WS_ERR_INVALID_UTF8: CloseCode.InvalidPayload,
  WS_ERR_INVALID_COMPRESSED_DATA: CloseCode.InvalidPayload,
  WS_ERR_FRAME_TOO_BIG: CloseCode.MessageTooBig,
  WS_ERR_MESSAGE_TOO_BIG: CloseCode.MessageTooBig,
  WS_ERR_TOO_MANY_FRAGMENTS: CloseCode.MessageTooBig,
  WS_ERR_POLICY_VIOLATION: CloseCode.PolicyViolation,
  WS_ERR_INTERNAL: CloseCode.InternalError,
  WS_ERR_SERVER_BUSY: CloseCode.TryAgainLater,
  WS_ERR_INVALID_STATE: undefined,
  WS_ERR_INVALID_ARGUMENT: undefined,
  WS_ERR_TOO_MANY_TOPICS: undefined,
  WS_ERR_INVALID_HANDSHAKE: undefined,
  WS_ERR_INVALID_EXTENSION: undefined,
  WS_ERR_HANDSHAKE_REJECTED: undefined,
  WS_ERR_HANDSHAKE_TIMEOUT: undefined,
  WS_ERR_CONNECTION_FAILED: undefined,
  WS_ERR_CERTIFICATE_REJECTED: undefined,
  WS_ERR_BUFFER_LIMIT: undefined,
  WS_ERR_PROXY_AUTH_REQUIRED: undefined,
  WS_ERR_PROXY_FORBIDDEN: undefined,
  WS_ERR_PROXY_BAD_GATEWAY: undefined,
  WS_ERR_PROXY_REJECTED: undefined,
  WS_ERR_PROXY_TIMEOUT: undefined,
  WS_ERR_PROXY_CONNECTION_FAILED: undefined,
  WS_ERR_MESSAGE_DROPPED: undefined,
  WS_ERR_RECONNECT_GAVE_UP: undefined,
};

/**
 * An error raised or reported by rfc6455.
 *
 * `code` is stable across releases and meant for programs; `message` is for people and may change.
 * `closeCode` is the status the connection was (or will be) failed with, when the error is a
 * protocol failure; it is `undefined` for API misuse such as sending on a closed connection.
 */
export class WebSocketError extends Error {
  /**
   * True for every error made by rfc6455: a `WebSocketError`, or a built-in `TypeError` /
   * `RangeError` / `SyntaxError` from {@link argumentError}. On subclasses, the usual prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== WebSocketError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [ERROR_BRAND]?: unknown })[ERROR_BRAND] === true;
  }

  /** Stable machine-readable error code, e.g. `'WS_ERR_INVALID_UTF8'`. */
  readonly code: ErrorCode;
  /** Close status code this error fails the connection with, if it is a protocol failure. */
  readonly closeCode: number | undefined;

  /**
   * @param code - stable error code; it decides `closeCode`
   * @param message - lower-case human-readable description ("control frame too long")
   */
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    this.closeCode = CLOSE_CODE_OF[code];
  }
}

const ERROR_BRAND = Symbol.for('rfc6455.error');
Object.defineProperty(WebSocketError.prototype, ERROR_BRAND, { value: true });

/** The built-in error class an argument error is thrown as. */
export type ArgumentErrorKind = 'TypeError' | 'RangeError' | 'SyntaxError';

/**
 * An argument error as a built-in `TypeError` (wrong type), `RangeError` (out of range) or
 * `SyntaxError` (an invalid URL or subprotocol), as ws and browsers throw them, with the stable
 * `code` (default `WS_ERR_INVALID_ARGUMENT`) and `closeCode` of a {@link WebSocketError}, which
 * it is an `instanceof` too.
 */
export function argumentError(kind: ArgumentErrorKind, message: string, code: ErrorCode = ErrorCode.InvalidArgument): WebSocketError {
  const error = kind === 'TypeError' ? new TypeError(message) : kind === 'RangeError' ? new RangeError(message) : new SyntaxError(message);
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: false, configurable: true });
  Object.defineProperty(error, 'closeCode', { value: CLOSE_CODE_OF[code], enumerable: true, writable: false, configurable: true });
  Object.defineProperty(error, ERROR_BRAND, { value: true });
  return error as unknown as WebSocketError;
}

/**
 * The error ladder: the close frame sent for any failure, in one place (python-websockets'
 * `parse()`). A `WebSocketError` with a close code sends that code and its message; anything
 * else, and every 1011, sends 1011 without a reason: "don't include exception details".
 */
export function closeFrameFor(error: unknown): { readonly code: number; readonly reason: string } {
  if (error instanceof WebSocketError && error.closeCode !== undefined && error.closeCode !== CloseCode.InternalError) {
    return { code: error.closeCode, reason: error.message };
  }
  return INTERNAL_FAILURE;
}
const INTERNAL_FAILURE = Object.freeze({ code: CloseCode.InternalError, reason: '' });
