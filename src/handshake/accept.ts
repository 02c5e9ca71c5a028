/**
 * The handshake's key and accept values (RFC 6455 §4.1, §4.2.2): validating a client's
 * `Sec-WebSocket-Key` (base64 of 16 bytes), generating one, and deriving `Sec-WebSocket-Accept` =
 * base64(SHA-1(key + GUID)). SHA-1 (with its base64 encoding) and randomness are injected, so this
 * module stays free of Node.js APIs; key generation uses the standard `btoa` global.
 */

/** The GUID RFC 6455 §1.3 appends to the key. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Base64 of the SHA-1 digest of a string's UTF-8 (here: ASCII) bytes, e.g. `crypto.hash('sha1', text, 'base64')`. */
export type Sha1Base64 = (text: string) => string;

const BASE64 = new Set(Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0)));

/** Base64 (standard alphabet, padded) of `bytes`. */
export function base64Encode(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: "a base64-encoded value that, when decoded, is
 * 16 bytes in length" (§4.1) — exactly 22 base64 characters followed by `==`.
 */
export function isValidKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) if (!BASE64.has(key.charCodeAt(i))) return false;
  return true;
}

/** A fresh random key: "a nonce consisting of a randomly selected 16-byte value" (§4.1). */
export function generateKey(randomFill: (target: Uint8Array) => void): string {
  const nonce = new Uint8Array(16);
  randomFill(nonce);
  return base64Encode(nonce);
}

/** `Sec-WebSocket-Accept` for `key` (§4.2.2 step 5.4). */
export function acceptValueFor(key: string, sha1: Sha1Base64): string {
  return sha1(key + WEBSOCKET_GUID);
}
