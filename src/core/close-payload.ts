/**
 * Close frame payloads (RFC 6455 §5.5.1, §7.4): parse what a peer sent, with every rule a
 * receiver must enforce, and build what we send, with every rule a sender must follow. A payload
 * is empty, or a 2-byte status code followed by a UTF-8 reason. This module neither sends nor
 * decides when to close; the protocol does.
 */
import { CloseCode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES } from './constants.js';
import { argumentError, ErrorCode, WebSocketError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

/** A parsed close frame: the status code (1005 when the frame had none) and the reason text. */
export interface CloseInfo {
  /** Status code; `1005` (no status received) when the payload was empty. */
  readonly code: number;
  /** The reason, decoded from UTF-8; empty when there was none. */
  readonly reason: string;
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/**
 * Parse the payload of a received close frame.
 *
 * @returns the close code and reason, or a {@link WebSocketError} (1002 for a bad length or
 * code, 1007 for a reason that is not valid UTF-8)
 */
export function parseClosePayload(payload: Uint8Array): CloseInfo | WebSocketError {
  if (payload.length === 0) return { code: CloseCode.NoStatusReceived, reason: '' };
  // "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer" (§5.5.1):
  // a 1-byte body cannot hold one.
  if (payload.length === 1) {
    return new WebSocketError(ErrorCode.InvalidClosePayload, 'close payload of 1 byte');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidWireCloseCode(code)) {
    return new WebSocketError(ErrorCode.InvalidCloseCode, `invalid close code ${code}`);
  }
  const reasonBytes = payload.subarray(2);
  // "the data ... is not guaranteed to be human readable ... [but] the body MUST be UTF-8" (§5.5.1); invalid → 1007 (§8.1).
  if (!isValidUtf8(reasonBytes)) {
    return new WebSocketError(ErrorCode.InvalidUtf8, 'invalid UTF-8 in close reason');
  }
  return { code, reason: reasonBytes.length === 0 ? '' : utf8Decoder.decode(reasonBytes) };
}

/**
 * Whether an application may send `code` in a close frame: 1000, 1001–1003, 1007–1014 and 3000–4999.
 * 1005, 1006 and 1015 are reserved for reporting and "MUST NOT be set as a status code in a Close
 * control frame by an endpoint" (§7.4.1).
 */
export function isSendableCloseCode(code: number): boolean {
  return Number.isInteger(code) && isValidWireCloseCode(code);
}

/**
 * Build a close frame payload.
 *
 * @param code - status code; `undefined` or 1005 gives an empty payload (no code, no reason)
 * @param reason - UTF-8 reason, at most 123 bytes once encoded
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent, a reason
 * without a code, or a reason longer than 123 bytes
 */
export function encodeClosePayload(code?: number, reason: string | Uint8Array = ''): Uint8Array {
  const reasonBytes = typeof reason === 'string' ? utf8Encoder.encode(reason) : reason;
  if (code === undefined || code === CloseCode.NoStatusReceived) {
    if (reasonBytes.length !== 0) {
      throw argumentError('TypeError', 'a close reason needs a close code');
    }
    return new Uint8Array(0);
  }
  if (!isSendableCloseCode(code)) {
    throw argumentError('TypeError', `close code ${String(code)} may not be sent`);
  }
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw argumentError('RangeError', 'close reason longer than 123 bytes');
  }
  if (typeof reason !== 'string' && !isValidUtf8(reasonBytes)) {
    throw argumentError('TypeError', 'close reason is not valid UTF-8');
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}
