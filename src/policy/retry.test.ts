import { describe, expect, it } from 'vitest';
import { ErrorCode, WebSocketError } from '../core/index.js';
import { type DisconnectCause, isRetryable, parseRetryAfter, retryAfterOf } from './retry.js';

const closed = (code: number): DisconnectCause => ({ kind: 'closed', code, reason: '' });
const rejected = (status: number, headers: Record<string, string> = {}): DisconnectCause => ({ kind: 'rejected', status, headers });
const failed = (code: ErrorCode, status?: number): DisconnectCause => ({
  kind: 'error',
  error: Object.assign(new WebSocketError(code, 'x'), status === undefined ? {} : { status }),
});

describe('the retry table', () => {
  it('retries 1001, 1006 and 1011-1014 closes; not 1000, 1005, 1002, 1003, 1007-1010 or application codes', () => {
    for (const code of [1001, 1006, 1011, 1012, 1013, 1014]) expect(isRetryable(closed(code)), String(code)).toBe(true);
    for (const code of [1000, 1005, 1002, 1003, 1007, 1008, 1009, 1010, 3000, 4000, 4999]) expect(isRetryable(closed(code)), String(code)).toBe(false);
  });

  it('retries 5xx, 408 and 429 answers; not 401, 403, 404 or redirects', () => {
    for (const status of [500, 502, 503, 504, 408, 429]) expect(isRetryable(rejected(status)), String(status)).toBe(true);
    for (const status of [301, 302, 400, 401, 403, 404, 426]) expect(isRetryable(rejected(status)), String(status)).toBe(false);
  });

  it('retries network errors and timeouts, a proxy that cannot reach the server; not proxy refusals or broken handshakes', () => {
    for (const code of [ErrorCode.ConnectionFailed, ErrorCode.HandshakeTimeout, ErrorCode.ProxyTimeout, ErrorCode.ProxyConnectionFailed, ErrorCode.ProxyBadGateway]) {
      expect(isRetryable(failed(code)), code).toBe(true);
    }
    for (const code of [ErrorCode.ProxyAuthRequired, ErrorCode.ProxyForbidden, ErrorCode.InvalidHandshake, ErrorCode.InvalidExtension, ErrorCode.InvalidArgument, ErrorCode.CertificateRejected]) {
      expect(isRetryable(failed(code)), code).toBe(false);
    }
    expect(isRetryable(failed(ErrorCode.ProxyRejected, 503))).toBe(true);
    expect(isRetryable(failed(ErrorCode.ProxyRejected, 400))).toBe(false);
    expect(isRetryable({ kind: 'error', error: new Error('plain') })).toBe(false);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });
  it('refuses anything else', () => {
    for (const value of ['', '-5', '1.5', 'soon', '12abc', '2015-10-21', 'Wed, 99 Foo 2015 GMT']) expect(parseRetryAfter(value, now), value).toBeNull();
  });
  it('is read from 503 and 429 answers only', () => {
    expect(retryAfterOf(rejected(503, { 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterOf(rejected(429, { 'retry-after': '1' }), now)).toBe(1000);
    expect(retryAfterOf(rejected(500, { 'retry-after': '2' }), now)).toBeNull();
    expect(retryAfterOf(rejected(503), now)).toBeNull();
    expect(retryAfterOf(closed(1013), now)).toBeNull();
  });
});
