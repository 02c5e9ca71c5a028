/**
 * HTTP proxies for the client: parse the `proxy` option (`http://[user:pass@]host:port` or
 * `https://...`, or `'env'`), pick the proxy from the environment the way undici's
 * `EnvHttpProxyAgent` does (`https_proxy`/`HTTPS_PROXY` for wss, `http_proxy`/`HTTP_PROXY` for ws
 * and as the fallback, lower case first; `no_proxy`/`NO_PROXY` exclusions by host, domain suffix
 * and port, `*` for all), write the `CONNECT` request (RFC 9110 §9.3.6) with `Proxy-Authorization:
 * Basic` from the URL's credentials, and turn a proxy's refusal into a `WebSocketError` with a
 * stable code (407 or 401, 403, 502/504, any other status). It does no I/O: `connect.ts` opens the
 * sockets and runs the tunnel. Credentials never appear in error messages.
 */
import { isIP } from 'node:net';
import { ErrorCode, WebSocketError } from '../../core/index.js';
import type { WebSocketUrl } from './connect.js';

/** A proxy to tunnel through. */
export interface ProxyEndpoint {
  /** TLS to the proxy itself (`https://` proxy). */
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  /** `Proxy-Authorization` value, or null without credentials. */
  readonly authorization: string | null;
  /** The proxy's URL without credentials, for messages. */
  readonly display: string;
}

/** Environment variables the `'env'` setting reads. */
export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Parse a proxy URL; a value without a scheme is taken as `http://` (as curl does).
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for another scheme or an unparsable URL
 */
export function parseProxyUrl(value: string | URL): ProxyEndpoint {
  const text = String(value);
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'invalid proxy URL');
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new WebSocketError(ErrorCode.InvalidArgument, `proxy URL scheme must be http: or https:, got ${url.protocol}`);
  if (url.hostname === '') throw new WebSocketError(ErrorCode.InvalidArgument, 'proxy URL has no host');
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let authorization: string | null = null;
  if (url.username !== '' || url.password !== '') {
    let credentials: string;
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'proxy URL credentials hold an invalid percent-escape');
    }
    authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  return { secure, hostname, port, authorization, display: `${url.protocol}//${url.host}` };
}

/**
 * The proxy the environment names for `target`, or null for a direct connection (no variable
 * set, or `NO_PROXY` excludes the host).
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` when the variable holds an invalid URL
 */
export function proxyFromEnvironment(target: WebSocketUrl, env: ProxyEnvironment): ProxyEndpoint | null {
  const http = env.http_proxy || env.HTTP_PROXY;
  const value = target.secure ? env.https_proxy || env.HTTPS_PROXY || http : http;
  if (value === undefined || value === '') return null;
  if (bypassesProxy(target.hostname, target.port, env.no_proxy ?? env.NO_PROXY ?? '')) return null;
  return parseProxyUrl(value);
}

/**
 * Whether `NO_PROXY` (comma- or space-separated entries: `*`, `host`, `.domain`, `*.domain`,
 * optionally with `:port`) excludes `hostname:port`.
 */
export function bypassesProxy(hostname: string, port: number, noProxy: string): boolean {
  const host = hostname.toLowerCase();
  const value = noProxy.trim();
  if (value === '*') return true;
  for (const entry of value.split(/[,\s]/)) {
    if (entry === '') continue;
    const parsed = /^(.+):(\d+)$/.exec(entry);
    let name = (parsed ? parsed[1]! : entry).replace(/^\*?\./, '').toLowerCase();
    if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
    if (parsed && Number(parsed[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The `CONNECT` request that opens a tunnel to `target` (RFC 9110 §9.3.6: authority-form, explicit port). */
export function connectRequest(target: WebSocketUrl, proxy: ProxyEndpoint): string {
  const authority = `${isIP(target.hostname) === 6 ? `[${target.hostname}]` : target.hostname}:${target.port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.authorization !== null) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The error for a proxy that answered `CONNECT` with `status` (not 2xx); it carries `status`. */
export function proxyRefusal(proxy: ProxyEndpoint, status: number, reason: string): WebSocketError & { readonly status: number } {
  const answer = `${status}${reason === '' ? '' : ` ${reason}`}`;
  let error: WebSocketError;
  // 407 is the standard answer; some proxies (tinyproxy) answer wrong credentials with 401.
  if (status === 407 || status === 401) {
    const why = proxy.authorization === null ? 'requires authentication' : 'refused the credentials';
    error = new WebSocketError(ErrorCode.ProxyAuthRequired, `proxy ${proxy.display} ${why} (${answer})`);
  } else if (status === 403) {
    error = new WebSocketError(ErrorCode.ProxyForbidden, `proxy ${proxy.display} refused the tunnel (${answer})`);
  } else if (status === 502 || status === 504) {
    error = new WebSocketError(ErrorCode.ProxyBadGateway, `proxy ${proxy.display} could not reach the server (${answer})`);
  } else {
    error = new WebSocketError(ErrorCode.ProxyRejected, `proxy ${proxy.display} answered ${answer}`);
  }
  return Object.assign(error, { status });
}
