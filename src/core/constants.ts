/**
 * Protocol constants of RFC 6455: opcodes (§5.2, §11.8), close status codes (§7.4),
 * endpoint roles and connection states (§4, §7). Each is an `as const` object with a
 * derived union type, so call sites read `Opcode.Text` instead of a bare number.
 * This module holds data only: no behaviour beyond tiny classification helpers.
 */

/** Frame opcodes (RFC 6455 §5.2). 0x3–0x7 and 0xB–0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
/** One of the defined opcodes. */
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** True for close, ping and pong: "Control frames are identified by opcodes where the most significant bit of the opcode is 1." (§5.5) */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** True for an opcode RFC 6455 defines; false for the reserved 0x3–0x7 and 0xB–0xF. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

/** Close status codes (RFC 6455 §7.4.1, plus the IANA-registered 1012–1014). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never on the wire. Reported when a close frame carried no status code. */
  NoStatusReceived: 1005,
  /** Reserved: never on the wire. Reported when the connection closed without a close frame. */
  AbnormalClosure: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Reserved: never on the wire. TLS handshake failure. */
  TlsHandshake: 1015,
} as const;
/** A named close status code. Codes 3000–4999 are also valid on the wire. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Whether `code` may appear in a close frame on the wire.
 *
 * RFC 6455 §7.4.1 defines 1000–1003 and 1007–1011 (IANA adds 1012–1014); 1004 is reserved,
 * 1005/1006/1015 "MUST NOT be set as a status code in a Close control frame by an endpoint";
 * 0–999 are unused, 1016–2999 are reserved for this and future RFCs, 3000–4999 are for
 * libraries, frameworks and applications.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

/** Which end of the connection a `Protocol` plays. Clients mask every frame they send (§5.3). */
export const Role = {
  Client: 'client',
  Server: 'server',
} as const;
/** `'client'` or `'server'`. */
export type Role = (typeof Role)[keyof typeof Role];

/** Connection states (RFC 6455 §4.1, §7; the same numbers as the WHATWG `readyState`). */
export const State = {
  Connecting: 0,
  Open: 1,
  Closing: 2,
  Closed: 3,
} as const;
/** One of the four connection states. */
export type State = (typeof State)[keyof typeof State];

/**
 * Who closed, as the protocol sees it (tungstenite's `ClosedByUs` / `ClosedByPeer` /
 * `CloseAcknowledged`). `Failed`: this endpoint failed the connection (§7.1.7) and sent, or owes,
 * its close frame. `Closed`: the transport is finished.
 */
export const Phase = {
  Open: 'open',
  ClosedByUs: 'closed-by-us',
  ClosedByPeer: 'closed-by-peer',
  CloseAcknowledged: 'close-acknowledged',
  Failed: 'failed',
  Closed: 'closed',
} as const;
/** One of the protocol phases. */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** Largest payload a control frame may carry: "All control frames MUST have a payload length of 125 bytes or less" (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Largest close reason in bytes: 125 minus the 2-byte status code. */
export const MAX_CLOSE_REASON_BYTES = 123;
