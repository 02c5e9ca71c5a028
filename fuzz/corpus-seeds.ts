/**
 * The seed corpus: byte streams a peer could send, valid and invalid, for both roles. `npm run
 * fuzz -- --write-corpus` writes them to `fuzz/corpus/` (committed); the runner mutates them.
 */
import { buildFrame, concatBytes, type RawFrame } from '../test/helpers/frames.js';

const mask = [0x37, 0xfa, 0x21, 0x3d];
const close = (code: number, reason = '') => Uint8Array.from([code >> 8, code & 0xff, ...new TextEncoder().encode(reason)]);

const streams: Record<string, RawFrame[]> = {
  'text': [{ opcode: 1, payload: 'Hello' }],
  'fragmented-with-ping': [
    { opcode: 1, payload: 'Hel', fin: false },
    { opcode: 9, payload: 'ping' },
    { opcode: 0, payload: 'lo', fin: true },
  ],
  'binary-16bit': [{ opcode: 2, payload: new Uint8Array(300).fill(0xab) }],
  'binary-64bit-header': [{ opcode: 2, declaredLength: 70000, lengthBits: 64 }],
  'close-with-reason': [{ opcode: 8, payload: close(1000, 'bye') }],
  'close-empty': [{ opcode: 8 }],
  'close-1-byte': [{ opcode: 8, payload: Uint8Array.of(3) }],
  'invalid-utf8': [{ opcode: 1, payload: Uint8Array.of(0xce, 0xba, 0xed, 0xa0, 0x80) }],
  'utf8-split-over-fragments': [
    { opcode: 1, payload: Uint8Array.of(0xf0, 0x9f), fin: false },
    { opcode: 0, payload: Uint8Array.of(0x98, 0x80) },
  ],
  'ping-pong': [{ opcode: 9, payload: 'a' }, { opcode: 10, payload: 'b' }],
  'reserved-opcode': [{ opcode: 3 }],
  'rsv-bits': [{ opcode: 1, rsv: 0x70, payload: 'x' }],
  'huge-length': [{ opcode: 2, declaredLength: 1n << 63n, lengthBits: 64 }],
  'control-126': [{ opcode: 9, payload: new Uint8Array(126) }],
  'many-empty-fragments': [
    { opcode: 2, fin: false },
    ...Array.from({ length: 20 }, () => ({ opcode: 0, fin: false })),
    { opcode: 0, fin: true },
  ],
  'data-after-close': [{ opcode: 8, payload: close(1001) }, { opcode: 1, payload: 'late' }],
};

/** Seed files by name: each stream both masked (client → server) and unmasked (server → client). */
export function seedCorpus(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [name, frames] of Object.entries(streams)) {
    files.set(`masked-${name}.bin`, concatBytes(frames.map((f) => buildFrame({ ...f, mask }))));
    files.set(`unmasked-${name}.bin`, concatBytes(frames.map((f) => buildFrame(f))));
  }
  const http = {
    'http-request.bin': 'GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58',
    'http-response.bin': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05Hello',
  };
  for (const [name, text] of Object.entries(http)) files.set(name, Uint8Array.from(text, (c) => c.charCodeAt(0)));
  return files;
}
