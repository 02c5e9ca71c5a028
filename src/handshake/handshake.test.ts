import { createHash, randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebSocketError } from '../core/index.js';
import { acceptValueFor, generateKey, isValidKey } from './accept.js';
import { buildClientRequest, validateServerResponse } from './client-handshake.js';
import { formatExtensions, listHasToken, parseExtensions, parseList } from './headers.js';
import { HttpHeadParser, type RequestHead, type ResponseHead } from './http-head.js';
import { acceptResponse, rejectionResponse, validateUpgradeRequest } from './server-handshake.js';

const sha1 = (text: string) => createHash('sha1').update(text).digest('base64');
const enc = (s: string) => new TextEncoder().encode(s);

function requestHead(lines: string[], start = 'GET /chat HTTP/1.1'): RequestHead {
  const r = new HttpHeadParser<RequestHead>('request').push(enc([start, ...lines, '', ''].join('\r\n')));
  if (!r.done || 'error' in r) throw new Error('bad test request');
  return r.head;
}
function responseHead(text: string): ResponseHead {
  const r = new HttpHeadParser<ResponseHead>('response').push(enc(text));
  if (!r.done || 'error' in r) throw new Error('bad test response');
  return r.head;
}
const good = ['Host: example.com', 'Upgrade: websocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
const without = (name: string) => good.filter((l) => !l.toLowerCase().startsWith(name.toLowerCase()));

describe('§4.2.2 accept value and keys', () => {
  it('computes the RFC 6455 §1.3 example', () => {
    expect(acceptValueFor('dGhlIHNhbXBsZSBub25jZQ==', sha1)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
  it('validates keys as base64 of 16 bytes', () => {
    expect(isValidKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(isValidKey(generateKey(randomFillSync))).toBe(true);
    for (const bad of ['', 'dGhlIHNhbXBsZSBub25jZQ=', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ===', 'dGhlIHNhbXBsZSBub25j!Q==', 'AAAAAAAAAAAAAAAAAAAAAAAA']) {
      expect(isValidKey(bad), bad).toBe(false);
    }
  });
});

describe('header lists', () => {
  it('splits lists and matches tokens case-insensitively', () => {
    expect(parseList(' a ,, b\t,c ')).toEqual(['a', 'b', 'c']);
    expect(listHasToken('keep-alive, UPGRADE', 'upgrade')).toBe(true);
    expect(listHasToken('upgrades', 'upgrade')).toBe(false);
  });
  it('parses extension offers with parameters, quoted values and several offers', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits="10" ; x')).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10'], ['x', true]] },
    ]);
    expect(formatExtensions([{ name: 'a', params: [['b', true], ['c', '9']] }])).toBe('a; b; c=9');
  });
  it.each(['a;', 'a; =1', 'a b', 'a; b="', 'a; b="x y"', ';a', 'a; b=1 c'])('rejects malformed extensions %j', (value) => {
    expect(parseExtensions(value)).toBeNull();
  });
});

describe('§4.2.1 server validation', () => {
  it('accepts a valid request and answers 101 with the accept value', () => {
    const v = validateUpgradeRequest(requestHead([...good, 'Sec-WebSocket-Protocol: chat, superchat', 'Origin: http://example.com']));
    if (!v.ok) throw new Error(v.message);
    expect(v.protocols).toEqual(['chat', 'superchat']);
    expect(v.origin).toBe('http://example.com');
    const response = acceptResponse(v.key, sha1, 'chat', []);
    expect(response).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n');
  });
  it.each([
    ['POST method', good, 'POST /chat HTTP/1.1', 405],
    ['HTTP/1.0', good, 'GET /chat HTTP/1.0', 505],
    ['no Host', without('host'), undefined, 400],
    ['two Host headers', [...good, 'Host: other'], undefined, 400],
    ['no Upgrade', without('upgrade'), undefined, 426],
    ['wrong Upgrade', [...without('upgrade'), 'Upgrade: h2c'], undefined, 400],
    ['no Connection upgrade', [...without('connection'), 'Connection: keep-alive'], undefined, 400],
    ['no key', without('sec-websocket-key'), undefined, 400],
    ['short key', [...without('sec-websocket-key'), 'Sec-WebSocket-Key: AAAA'], undefined, 400],
    ['two keys', [...good, 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='], undefined, 400],
    ['version 7', [...without('sec-websocket-version'), 'Sec-WebSocket-Version: 7'], undefined, 426],
    ['no version', without('sec-websocket-version'), undefined, 426],
    ['bad subprotocol', [...good, 'Sec-WebSocket-Protocol: a b'], undefined, 400],
    ['duplicate subprotocol', [...good, 'Sec-WebSocket-Protocol: a, a'], undefined, 400],
    ['malformed extensions', [...good, 'Sec-WebSocket-Extensions: ;'], undefined, 400],
    ['absolute-form target', good, 'GET http://x/ HTTP/1.1', 400],
  ])('rejects %s', (_name, lines, start, status) => {
    const v = validateUpgradeRequest(requestHead(lines, start));
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.status).toBe(status);
  });
  it('answers a wrong version with 426 and the supported versions', () => {
    const v = validateUpgradeRequest(requestHead([...without('sec-websocket-version'), 'Sec-WebSocket-Version: 7']));
    if (v.ok) throw new Error('accepted');
    expect(v.headers).toContainEqual(['Sec-WebSocket-Version', '13, 8']);
    expect(rejectionResponse(v.status, v.message, v.headers)).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\nConnection: close\r\n[\s\S]*Sec-WebSocket-Version: 13, 8\r\n\r\n/);
  });
  it('accepts version 8 (the last draft, as ws does), with its Sec-WebSocket-Origin', () => {
    const v = validateUpgradeRequest(requestHead([...without('sec-websocket-version'), 'Sec-WebSocket-Version: 8', 'Sec-WebSocket-Origin: http://example.com']));
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.origin).toBe('http://example.com');
  });
  it('checks the origin allow-list (403)', () => {
    expect(validateUpgradeRequest(requestHead([...good, 'Origin: https://evil.example']), { origins: ['https://good.example'] })).toMatchObject({ ok: false, status: 403 });
    expect(validateUpgradeRequest(requestHead(good), { origins: ['https://good.example'] })).toMatchObject({ ok: false, status: 403 });
    expect(validateUpgradeRequest(requestHead([...good, 'Origin: https://GOOD.example']), { origins: ['https://good.example'] })).toMatchObject({ ok: true });
  });
  it('refuses to put CR/LF into a response header', () => {
    expect(() => rejectionResponse(400, 'x', [['X-Evil', 'a\r\nSet-Cookie: b']])).toThrow(TypeError);
  });
});

describe('§4.1 client request and response validation', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const ok = (extra = '') => responseHead(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n${extra}\r\n`);
  const expected = { key, sha1, protocols: ['chat'], negotiators: [] };

  it('builds the request', () => {
    const text = buildClientRequest({ host: 'example.com:8080', target: '/chat?a=1', key, origin: 'http://example.com', protocols: ['chat', 'v2'], headers: { Authorization: 'Bearer x' } });
    expect(text).toBe(
      'GET /chat?a=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, v2\r\nAuthorization: Bearer x\r\n\r\n',
    );
  });
  it('refuses headers that would override the handshake or inject lines', () => {
    expect(() => buildClientRequest({ host: 'h', target: '/', key, headers: { 'Sec-WebSocket-Key': 'x' } })).toThrow(WebSocketError);
    expect(() => buildClientRequest({ host: 'h', target: '/', key, headers: { 'X-A': 'a\r\nb: c' } })).toThrow(WebSocketError);
    expect(() => buildClientRequest({ host: 'h', target: '/', key, protocols: ['a b'] })).toThrow(WebSocketError);
  });
  it('accepts a correct 101', () => {
    expect(validateServerResponse(ok('Sec-WebSocket-Protocol: chat\r\n'), expected)).toEqual({ protocol: 'chat', extensions: [], extensionsHeader: '' });
  });
  it.each([
    ['non-101 status', responseHead('HTTP/1.1 403 Forbidden\r\n\r\n'), 'WS_ERR_HANDSHAKE_REJECTED'],
    ['a redirect', responseHead('HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n'), 'WS_ERR_HANDSHAKE_REJECTED'],
    ['wrong accept', responseHead('HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n'), 'WS_ERR_INVALID_HANDSHAKE'],
    ['missing Upgrade', responseHead('HTTP/1.1 101 x\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'), 'WS_ERR_INVALID_HANDSHAKE'],
    ['missing Connection', responseHead('HTTP/1.1 101 x\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n'), 'WS_ERR_INVALID_HANDSHAKE'],
    ['a subprotocol not offered', ok('Sec-WebSocket-Protocol: other\r\n'), 'WS_ERR_INVALID_HANDSHAKE'],
    ['an extension not offered', ok('Sec-WebSocket-Extensions: permessage-deflate\r\n'), 'WS_ERR_INVALID_HANDSHAKE'],
  ])('fails on %s', (_name, head, code) => {
    const result = validateServerResponse(head, expected);
    expect(result).toBeInstanceOf(WebSocketError);
    expect((result as WebSocketError).code).toBe(code);
  });
});

describe('isSameOrigin', () => {
  it('compares host and port, with default ports written or not', async () => {
    const { isSameOrigin } = await import('./server-handshake.js');
    expect(isSameOrigin('https://example.com', 'example.com')).toBe(true);
    expect(isSameOrigin('https://example.com', 'example.com:443')).toBe(true);
    expect(isSameOrigin('http://example.com:8080', 'EXAMPLE.com:8080')).toBe(true);
    expect(isSameOrigin('http://[::1]:8080', '[::1]:8080')).toBe(true);
    expect(isSameOrigin('https://example.com', 'example.com:80')).toBe(false);
    expect(isSameOrigin('https://evil.example', 'example.com')).toBe(false);
    expect(isSameOrigin('null', 'example.com')).toBe(false);
    expect(isSameOrigin('https://example.com/path', 'example.com')).toBe(false);
    expect(isSameOrigin('https://user@example.com', 'example.com')).toBe(false);
    expect(isSameOrigin('https://example.com', undefined)).toBe(false);
  });
});
