import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/index.js';
import { parseWebSocketUrl } from './connect.js';
import { bypassesProxy, connectRequest, parseProxyUrl, proxyFromEnvironment, proxyRefusal } from './proxy.js';

const ws = parseWebSocketUrl('ws://example.com/chat');
const wss = parseWebSocketUrl('wss://api.example.com:8443/');

describe('proxy URLs', () => {
  it('reads http and https proxies, default ports, credentials (percent-decoded)', () => {
    expect(parseProxyUrl('http://proxy.local:3128')).toEqual({ secure: false, hostname: 'proxy.local', port: 3128, authorization: null, display: 'http://proxy.local:3128' });
    expect(parseProxyUrl('https://proxy.local')).toMatchObject({ secure: true, port: 443 });
    expect(parseProxyUrl('proxy.local:8080')).toMatchObject({ secure: false, hostname: 'proxy.local', port: 8080 });
    const withAuth = parseProxyUrl('http://al%40ice:p%3Ass@[::1]:3128');
    expect(withAuth.hostname).toBe('::1');
    expect(withAuth.authorization).toBe(`Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`);
    expect(withAuth.display).toBe('http://[::1]:3128');
  });
  it('refuses other schemes and junk', () => {
    expect(() => parseProxyUrl('socks5://proxy:1080')).toThrow(/http: or https:/);
    expect(() => parseProxyUrl('http://')).toThrow(/invalid proxy URL|no host/);
  });
  it('writes CONNECT in authority form with the explicit port and the credentials', () => {
    expect(connectRequest(ws, parseProxyUrl('http://u:p@proxy:1'))).toBe(
      `CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\nProxy-Authorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n\r\n`,
    );
    expect(connectRequest(parseWebSocketUrl('wss://[::1]/'), parseProxyUrl('http://proxy:1'))).toBe('CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n');
  });
  it('maps refusals to stable codes, with the status, never the credentials', () => {
    const proxy = parseProxyUrl('http://user:secret@proxy:3128');
    const cases: [number, string][] = [
      [407, ErrorCode.ProxyAuthRequired],
      [401, ErrorCode.ProxyAuthRequired],
      [403, ErrorCode.ProxyForbidden],
      [502, ErrorCode.ProxyBadGateway],
      [504, ErrorCode.ProxyBadGateway],
      [500, ErrorCode.ProxyRejected],
      [404, ErrorCode.ProxyRejected],
    ];
    for (const [status, code] of cases) {
      const error = proxyRefusal(proxy, status, 'Reason');
      expect([error.code, error.status]).toEqual([code, status]);
      expect(error.message).not.toContain('secret');
      expect(error.message).toContain(String(status));
    }
  });
});

describe("proxy: 'env' (as undici's EnvHttpProxyAgent)", () => {
  it('wss uses HTTPS_PROXY, falling back to HTTP_PROXY; ws uses HTTP_PROXY; lower case wins', () => {
    expect(proxyFromEnvironment(wss, { HTTPS_PROXY: 'http://s:1', HTTP_PROXY: 'http://h:2' })?.hostname).toBe('s');
    expect(proxyFromEnvironment(wss, { HTTP_PROXY: 'http://h:2' })?.hostname).toBe('h');
    expect(proxyFromEnvironment(ws, { HTTPS_PROXY: 'http://s:1' })).toBeNull();
    expect(proxyFromEnvironment(ws, { HTTP_PROXY: 'http://H:2', http_proxy: 'http://lower:2' })?.hostname).toBe('lower');
    expect(proxyFromEnvironment(wss, { HTTPS_PROXY: 'http://S:1', https_proxy: 'http://lower:1' })?.hostname).toBe('lower');
    expect(proxyFromEnvironment(ws, {})).toBeNull();
    expect(proxyFromEnvironment(ws, { HTTP_PROXY: '' })).toBeNull();
  });
  it('NO_PROXY excludes hosts, domain suffixes, ports and everything with *', () => {
    const env = (no: string) => ({ HTTPS_PROXY: 'http://p:1', NO_PROXY: no });
    expect(proxyFromEnvironment(wss, env('example.com'))).toBeNull();
    expect(proxyFromEnvironment(wss, env('.example.com'))).toBeNull();
    expect(proxyFromEnvironment(wss, env('*.example.com'))).toBeNull();
    expect(proxyFromEnvironment(wss, env('other.com, api.example.com:8443'))).toBeNull();
    expect(proxyFromEnvironment(wss, env('api.example.com:443'))).not.toBeNull();
    expect(proxyFromEnvironment(wss, env('ample.com'))).not.toBeNull();
    expect(proxyFromEnvironment(wss, env('*'))).toBeNull();
    expect(proxyFromEnvironment(wss, { HTTPS_PROXY: 'http://p:1', no_proxy: 'example.com', NO_PROXY: '' })).toBeNull();
    expect(bypassesProxy('::1', 80, '[::1]')).toBe(true);
    expect(bypassesProxy('LOCALHOST', 80, 'localhost')).toBe(true);
  });
});
