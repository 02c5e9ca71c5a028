/**
 * The Node.js bindings the sans-I/O layers are given: SHA-1 for the handshake, the CSPRNG for
 * keys and masks (one shared mask-key pool for every client connection), `buffer.isUtf8`
 * (simdutf) for whole-buffer UTF-8 checks, and `Buffer.allocUnsafe` as the frame allocator. It
 * holds no connection state.
 */
import { isUtf8 } from 'node:buffer';
import * as crypto from 'node:crypto';
import { randomFillSync } from 'node:crypto';
import { argumentError, MaskKeyPool } from '../core/index.js';

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** Base64 of the SHA-1 digest of a string: the one-shot `crypto.hash` where present (Node ≥ 20.12), which allocates no Hash object. */
export const sha1: (text: string) => string =
  oneShotHash !== undefined ? (text) => oneShotHash('sha1', text, 'base64') : (text) => crypto.createHash('sha1').update(text).digest('base64');

/** Fill with cryptographically strong random bytes. */
export function randomFill(target: Uint8Array): void {
  randomFillSync(target);
}

/** One pool of masking keys for all client connections of this process. */
export const sharedMaskKeys = new MaskKeyPool(randomFill, 16 * 1024);

/** Whole-buffer UTF-8 validation (simdutf). */
export const isUtf8Buffer: (bytes: Uint8Array) => boolean = isUtf8;

/** Frame and reassembly allocator. */
export const allocate: (size: number) => Uint8Array = Buffer.allocUnsafe;

/** A Buffer view of any byte array, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The bytes of a message to send: a string as UTF-8, a Buffer as it is, an ArrayBuffer or any
 * view without copying.
 *
 * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` for anything else
 */
export function toBuffer(data: string | Buffer | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw argumentError('TypeError', 'data must be a string, Buffer, ArrayBuffer or ArrayBufferView');
}
