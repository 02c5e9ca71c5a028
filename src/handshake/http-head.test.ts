import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpHeadParser, type HttpHeadResult, type RequestHead, type ResponseHead } from './http-head.js';

const enc = (s: string) => new TextEncoder().encode(s);
const request = 'GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function parseAll<T extends RequestHead | ResponseHead>(kind: T['kind'], chunks: Uint8Array[], limits = {}): HttpHeadResult<T> {
  const parser = new HttpHeadParser<T>(kind, limits);
  let result: HttpHeadResult<T> = { done: false };
  for (const chunk of chunks) {
    result = parser.push(chunk);
    if (result.done) return result;
  }
  return result;
}

describe('HttpHeadParser', () => {
  it('parses the RFC 6455 §1.2 request and hands back the bytes after the head', () => {
    const r = parseAll<RequestHead>('request', [Uint8Array.from([...enc(request), 0x81, 0x00])]);
    if (!r.done || 'error' in r) throw new Error('not parsed');
    expect(r.head).toMatchObject({ method: 'GET', target: '/chat?x=1', version: '1.1' });
    expect(r.head.headers.get('HOST')).toBe('server.example.com');
    expect(Array.from(r.rest)).toEqual([0x81, 0x00]);
  });
  it('parses a response head', () => {
    const r = parseAll<ResponseHead>('response', [enc('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n')]);
    if (!r.done || 'error' in r) throw new Error('not parsed');
    expect(r.head).toMatchObject({ status: 101, reason: 'Switching Protocols' });
  });
  it('gives the same result for any split of the input', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(request.length), { maxLength: 10 }), (cuts) => {
        const bytes = enc(request + 'tail');
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let start = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.slice(start, p));
          start = p;
        }
        const parser = new HttpHeadParser<RequestHead>('request');
        let after = '';
        let head: RequestHead | null = null;
        for (const chunk of chunks) {
          if (head) {
            after += new TextDecoder().decode(chunk);
            continue;
          }
          const r = parser.push(chunk);
          if (r.done) {
            if ('error' in r) throw r.error;
            head = r.head;
            after += new TextDecoder().decode(r.rest);
          }
        }
        expect(head?.headers.get('sec-websocket-key')).toBe('dGhlIHNhbXBsZSBub25jZQ==');
        expect(after).toBe('tail');
      }),
    );
  });
  it('keeps __proto__ and constructor as ordinary header names', () => {
    const r = parseAll<RequestHead>('request', [enc('GET / HTTP/1.1\r\n__proto__: x\r\nconstructor: y\r\nHost: h\r\n\r\n')]);
    if (!r.done || 'error' in r) throw new Error('not parsed');
    expect(r.head.headers.get('__proto__')).toBe('x');
    expect(r.head.headers.get('constructor')).toBe('y');
    expect(r.head.headers.get('toString')).toBeUndefined();
    expect(Object.getPrototypeOf(r.head.headers.toObject())).toBeNull();
  });
  it.each([
    ['bare LF', 'GET / HTTP/1.1\nHost: h\n\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\n  folded\r\n\r\n', 400],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n', 400],
    ['control character in value', 'GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n', 400],
    ['no colon', 'GET / HTTP/1.1\r\nHost\r\n\r\n', 400],
    ['malformed request line', 'GET /\r\n\r\n', 400],
    ['bad version', 'GET / HTTP/x.1\r\n\r\n', 400],
    ['space in target', 'GET /a b HTTP/1.1\r\n\r\n', 400],
    ['empty start line', '\r\n\r\n', 400],
  ])('rejects %s with %i', (_name, text, status) => {
    const r = parseAll<RequestHead>('request', [enc(text)]);
    expect(r.done && 'error' in r && r.error.status).toBe(status);
  });
  it('gives the same verdict however a bad head is split (fuzz crasher: long line, then bare LF)', () => {
    const text = enc('GET /' + 'a'.repeat(600) + '\nHost: h\r\n\r\n');
    const limits = { maxLineLength: 512 };
    const whole = parseAll<RequestHead>('request', [text], limits);
    const split = parseAll<RequestHead>('request', [text.subarray(0, 550), text.subarray(550)], limits);
    expect(whole.done && 'error' in whole && whole.error.status).toBe(414);
    expect(split.done && 'error' in split && split.error.status).toBe(414);
  });
  it('rejects a request line over the limit with 414, before the line ends', () => {
    const r = parseAll<RequestHead>('request', [enc('GET /' + 'a'.repeat(9000))]);
    expect(r.done && 'error' in r && r.error.status).toBe(414);
  });
  it('rejects a header line over the limit with 431', () => {
    const r = parseAll<RequestHead>('request', [enc('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(9000))]);
    expect(r.done && 'error' in r && r.error.status).toBe(431);
  });
  it('rejects more than maxHeaders fields with 431', () => {
    const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('');
    const r = parseAll<RequestHead>('request', [enc(`GET / HTTP/1.1\r\n${fields}\r\n`)]);
    expect(r.done && 'error' in r && r.error.status).toBe(431);
    const ok = parseAll<RequestHead>('request', [enc(`GET / HTTP/1.1\r\n${fields.split('\r\n').slice(1).join('\r\n')}\r\n`)]);
    expect(ok.done && !('error' in ok)).toBe(true);
  });
  it('rejects a head over maxHeadSize with 431 while it is still arriving', () => {
    const parser = new HttpHeadParser<RequestHead>('request', { maxHeadSize: 1024 });
    expect(parser.push(enc('GET / HTTP/1.1\r\n')).done).toBe(false);
    let result: HttpHeadResult<RequestHead> = { done: false };
    for (let i = 0; i < 100 && !result.done; i++) result = parser.push(enc(`X-${i}: ${'v'.repeat(20)}\r\n`));
    expect(result.done && 'error' in result && result.error.status).toBe(431);
  });
  it('scans in linear time: 16 KiB of one-byte chunks', () => {
    const parser = new HttpHeadParser<RequestHead>('request', { maxHeadSize: 1 << 20, maxLineLength: 1 << 20 });
    const text = enc('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(16384) + '\r\n\r\n');
    const started = performance.now();
    let result: HttpHeadResult<RequestHead> = { done: false };
    for (let i = 0; i < text.length; i++) result = parser.push(text.subarray(i, i + 1));
    expect(result.done && !('error' in result)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('start line judged at its CRLF', () => {
  it('a malformed status line fails at once, before the rest of the head', () => {
    const parser = new HttpHeadParser<ResponseHead>('response');
    const result = parser.push(new TextEncoder().encode('foo\r\n'));
    expect(result).toMatchObject({ done: true, error: { status: 400 } });
  });
  it('a malformed request line fails at once', () => {
    const parser = new HttpHeadParser<RequestHead>('request');
    expect(parser.push(new TextEncoder().encode('GET\r\n'))).toMatchObject({ done: true, error: { status: 400 } });
  });
  it('a valid start line waits for the rest', () => {
    const parser = new HttpHeadParser<ResponseHead>('response');
    expect(parser.push(new TextEncoder().encode('HTTP/1.1 101 Switching Protocols\r\n'))).toEqual({ done: false });
  });
});

describe('head size limit counts every byte, the final LF included', () => {
  const head = (size: number) => {
    const start = 'GET / HTTP/1.1\r\nX: ';
    return enc(start + 'a'.repeat(size - start.length - 4) + '\r\n\r\n');
  };
  it('accepts a head of exactly maxHeadSize bytes and refuses one byte more, however it is split', () => {
    for (const split of [1, 7, 2047, 2048, 4096]) {
      const ok = head(2048);
      const over = head(2049);
      const chunks = (b: Uint8Array) => (split >= b.length ? [b] : [b.subarray(0, split), b.subarray(split)]);
      expect(parseAll<RequestHead>('request', chunks(ok), { maxHeadSize: 2048 })).toMatchObject({ done: true, head: { method: 'GET' } });
      expect(parseAll<RequestHead>('request', chunks(over), { maxHeadSize: 2048 })).toMatchObject({ done: true, error: { status: 431 } });
    }
  });
});
