/**
 * The client's way in: resolve a `ws://` or `wss://` URL, open a `node:net` or `node:tls`
 * connection (SNI, `ca`, `rejectUnauthorized`, client certificates), directly or through an HTTP
 * proxy's `CONNECT` tunnel (`proxy.ts`; TLS to an `https://` proxy, then TLS to the server inside
 * the tunnel, with SNI and certificate checks against the server), send the upgrade request,
 * parse the response head with limits and validate it with the sans-I/O client handshake, all
 * under a handshake timeout. It finishes exactly once, with a {@link HandshakeResult} (the socket,
 * any bytes read past the head, the agreed subprotocol and extensions) that a connection adopts,
 * or with an error (the socket destroyed; for a non-101 answer, its status and headers). It knows
 * nothing of the `WebSocket` it serves. Redirects are never followed.
 */
import { isIP, type Socket, connect as netConnect } from 'node:net';
import { type ConnectionOptions as TlsConnectionOptions, connect as tlsConnect } from 'node:tls';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HEADER_SIZE, ErrorCode, WebSocketError } from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import { PerMessageDeflateClient } from '../../extensions/index.js';
import type { HandshakeResult } from '../connection/connection.js';
import { type PerMessageDeflateConfig, resolveDeflateConfig, type ResolvedDeflateConfig } from '../connection/deflate-options.js';
import {
  buildClientRequest,
  generateKey,
  HttpHeadParser,
  type HttpHeadResult,
  type ResponseHead,
  validateServerResponse,
} from '../../handshake/index.js';
import { CONNECTION_OPTION_KEYS, type ConnectionOptions, resolveConnectionOptions, type ResolvedConnectionOptions } from '../connection/connection-options.js';
import { randomFill, sha1 } from '../platform.js';
import { connectRequest, parseProxyUrl, type ProxyEndpoint, proxyFromEnvironment, proxyRefusal } from './proxy.js';

/** TLS settings a client may pass (at the top level, as with ws). */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'checkServerIdentity', 'ciphers', 'minVersion', 'maxVersion'] as const;

/** Options of a client `WebSocket`. */
export interface ClientOptions extends ConnectionOptions, Pick<TlsConnectionOptions, (typeof TLS_KEYS)[number]> {
  /** Extra request headers (they may not replace the handshake's own). */
  headers?: Record<string, string>;
  /** `Origin` header to send. */
  origin?: string;
  /** Abort when the handshake has not completed within this many ms. Default 10,000. */
  handshakeTimeout?: number;
  /** Largest response head accepted, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Offer permessage-deflate (RFC 7692): `true` (the default), `false`, or settings. */
  perMessageDeflate?: boolean | PerMessageDeflateConfig;
  /**
   * Connect through an HTTP proxy's `CONNECT` tunnel: `'http://[user:pass@]host:port'`,
   * `'https://...'` (TLS to the proxy too), `'env'` (`HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, as
   * undici's `EnvHttpProxyAgent` reads them), or `false` (the default: direct).
   */
  proxy?: string | URL | false;
  /** TLS settings for an `https://` proxy itself (`ca`, `rejectUnauthorized`, ...); the server's come from the top-level TLS options. */
  proxyTls?: Pick<TlsConnectionOptions, (typeof TLS_KEYS)[number]>;
}

/** Client options after validation. */
export interface ResolvedClientOptions {
  readonly connection: ResolvedConnectionOptions;
  readonly headers: Readonly<Record<string, string>>;
  readonly origin: string | undefined;
  readonly handshakeTimeout: number;
  readonly maxHeaderSize: number;
  readonly tls: TlsConnectionOptions;
  readonly deflate: ResolvedDeflateConfig | null;
  /** The proxy, `'env'` (looked up for each connection), or null for none. */
  readonly proxy: ProxyEndpoint | 'env' | null;
  readonly proxyTls: TlsConnectionOptions;
}

const CLIENT_KEYS = new Set<string>([
  ...CONNECTION_OPTION_KEYS,
  ...TLS_KEYS,
  'headers',
  'origin',
  'handshakeTimeout',
  'maxHeaderSize',
  'perMessageDeflate',
  'proxy',
  'proxyTls',
]);
const TLS_KEY_SET: ReadonlySet<string> = new Set(TLS_KEYS);

function resolveProxy(value: ClientOptions['proxy']): ProxyEndpoint | 'env' | null {
  if (value === undefined || value === false) return null;
  if (value === 'env') return 'env';
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'option "proxy" must be a URL, "env" or false');
  }
  return parseProxyUrl(value);
}

/**
 * Validate client options.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for unknown keys or bad values
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  rejectUnknownKeys(options, CLIENT_KEYS, 'WebSocket');
  const deflate = resolveDeflateConfig(options.perMessageDeflate, true);
  const tls: TlsConnectionOptions = {};
  for (const key of TLS_KEYS) if (options[key] !== undefined) (tls as Record<string, unknown>)[key] = options[key];
  booleanOption(options.rejectUnauthorized, 'rejectUnauthorized', true);
  return {
    connection: resolveConnectionOptions(options),
    headers: { ...(options.headers ?? {}) },
    origin: options.origin,
    handshakeTimeout: integerOption(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT, 1, 2 ** 31 - 1),
    maxHeaderSize: integerOption(options.maxHeaderSize, 'maxHeaderSize', DEFAULT_MAX_HEADER_SIZE, 256),
    tls,
    deflate,
    proxy: resolveProxy(options.proxy),
    proxyTls: resolveProxyTls(options.proxyTls),
  };
}

function resolveProxyTls(value: ClientOptions['proxyTls']): TlsConnectionOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw new WebSocketError(ErrorCode.InvalidArgument, 'option "proxyTls" must be an object');
  rejectUnknownKeys(value, TLS_KEY_SET, 'proxyTls');
  return { ...value };
}

/** A parsed, checked `ws:`/`wss:` URL. */
export interface WebSocketUrl {
  readonly href: string;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  /** `Host` header value. */
  readonly host: string;
  /** Path and query. */
  readonly target: string;
}

/**
 * Parse a WebSocket URL (`ws:`, `wss:`, or `http:`/`https:` as their aliases).
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for another scheme, a fragment, or an unparsable URL
 */
export function parseWebSocketUrl(address: string | URL): WebSocketUrl {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new WebSocketError(ErrorCode.InvalidArgument, `invalid URL: ${String(address)}`);
  }
  const scheme = url.protocol;
  const secure = scheme === 'wss:' || scheme === 'https:';
  if (!secure && scheme !== 'ws:' && scheme !== 'http:') {
    throw new WebSocketError(ErrorCode.InvalidArgument, `URL scheme must be ws: or wss:, got ${scheme}`);
  }
  // "If the fragment is non-empty, ... fail" (WHATWG WebSockets; RFC 6455 §3: fragments MUST NOT be used).
  if (url.hash !== '' || String(address).includes('#')) throw new WebSocketError(ErrorCode.InvalidArgument, 'URL must not have a fragment');
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const host = port === defaultPort ? url.hostname : `${url.hostname}:${port}`;
  return { href: url.href.replace(/^http/, 'ws'), secure, hostname, port, host, target: `${url.pathname || '/'}${url.search}` };
}

/** How a client handshake ended. */
export type ClientHandshakeOutcome =
  | { readonly ok: true; readonly result: HandshakeResult }
  | {
      readonly ok: false;
      readonly error: WebSocketError;
      /** The server's answer when it was not 101. */
      readonly response?: { readonly status: number; readonly headers: Record<string, string> };
    };

/**
 * Open the connection (through the proxy's tunnel when one is configured) and run the handshake;
 * `done` is called exactly once.
 *
 * @returns a function that aborts the attempt with the given error
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` when `proxy: 'env'` finds an invalid proxy URL
 */
export function openClientHandshake(
  url: WebSocketUrl,
  protocols: readonly string[],
  options: ResolvedClientOptions,
  done: (outcome: ClientHandshakeOutcome) => void,
): (error: WebSocketError) => void {
  const key = generateKey(randomFill);
  const negotiators = options.deflate === null ? [] : [new PerMessageDeflateClient(options.deflate.negotiation)];
  const request = buildClientRequest({
    host: url.host,
    target: url.target,
    key,
    origin: options.origin,
    protocols,
    extensionOffers: negotiators.flatMap((n) => n.offer()),
    headers: options.headers,
  });
  const proxy = options.proxy === 'env' ? proxyFromEnvironment(url, process.env) : options.proxy;
  const newParser = () => new HttpHeadParser<ResponseHead>('response', { maxHeadSize: options.maxHeaderSize });
  // While a proxy is in the way, the first response head is the proxy's answer to CONNECT.
  let throughProxy = proxy !== null;
  let parser = newParser();
  let finished = false;
  /** The socket the handshake speaks on; inside a wss tunnel, the TLS socket over `outer`. */
  let socket: Socket;
  let outer: Socket | null = null;

  const fail = (error: WebSocketError, response?: { status: number; headers: Record<string, string> }) => {
    if (finished) return;
    finished = true;
    cleanup();
    socket.destroy();
    outer?.destroy();
    done(response === undefined ? { ok: false, error } : { ok: false, error, response });
  };
  const onConnect = () => socket.write(throughProxy ? connectRequest(url, proxy!) : request);
  const onData = (chunk: Buffer) => {
    const result: HttpHeadResult<ResponseHead> = parser.push(chunk);
    if (!result.done) return;
    if (throughProxy) {
      tunnelAnswered(result);
      return;
    }
    if ('error' in result) {
      fail(new WebSocketError(ErrorCode.InvalidHandshake, `invalid handshake response: ${result.error.message}`));
      return;
    }
    const outcome = validateServerResponse(result.head, { key, sha1, protocols, negotiators });
    if (outcome instanceof WebSocketError) {
      fail(outcome, outcome.code === ErrorCode.HandshakeRejected ? { status: result.head.status, headers: result.head.headers.toObject() } : undefined);
      return;
    }
    finished = true;
    cleanup();
    // The connection adopts the socket in this same tick (after the 'open' listeners), so frames
    // right behind the 101 cannot be read before it listens.
    done({
      ok: true,
      result: { transport: socket, head: result.rest, protocol: outcome.protocol, extensions: outcome.extensions, extensionsHeader: outcome.extensionsHeader },
    });
  };
  const tunnelAnswered = (result: HttpHeadResult<ResponseHead> & { done: true }) => {
    if ('error' in result) {
      fail(new WebSocketError(ErrorCode.ProxyConnectionFailed, `invalid answer from proxy ${proxy!.display}: ${result.error.message}`));
      return;
    }
    const { status, reason } = result.head;
    if (status < 200 || status > 299) {
      fail(proxyRefusal(proxy!, status, reason));
      return;
    }
    // Neither a WebSocket server nor a TLS server speaks first: bytes here are not the server's.
    if (result.rest.length !== 0) {
      fail(new WebSocketError(ErrorCode.ProxyConnectionFailed, `proxy ${proxy!.display} sent data before the request`));
      return;
    }
    throughProxy = false;
    parser = newParser();
    if (!url.secure) {
      socket.write(request);
      return;
    }
    // TLS to the server inside the tunnel: SNI and the certificate check are for the server's name.
    detach(socket);
    outer = socket;
    outer.on('error', onError);
    socket = tlsConnect({ socket: outer, host: url.hostname, ...(isIP(url.hostname) === 0 ? { servername: url.hostname } : {}), ...options.tls });
    attach(socket, 'secureConnect');
  };
  const onError = (error: Error) =>
    fail(
      throughProxy
        ? new WebSocketError(ErrorCode.ProxyConnectionFailed, `connection to proxy ${proxy!.display} failed: ${error.message}`)
        : isCertificateError(error)
          ? new WebSocketError(ErrorCode.CertificateRejected, `the server's certificate was rejected: ${error.message}`)
          : new WebSocketError(ErrorCode.ConnectionFailed, `connection failed: ${error.message}`),
    );
  const onClose = () =>
    fail(
      throughProxy
        ? new WebSocketError(ErrorCode.ProxyConnectionFailed, `proxy ${proxy!.display} closed the connection before answering`)
        : new WebSocketError(ErrorCode.ConnectionFailed, 'connection closed during the handshake'),
    );
  const timer = setTimeout(
    () =>
      fail(
        throughProxy
          ? new WebSocketError(ErrorCode.ProxyTimeout, `proxy ${proxy!.display} did not answer within ${options.handshakeTimeout} ms`)
          : new WebSocketError(ErrorCode.HandshakeTimeout, 'opening handshake timed out'),
      ),
    options.handshakeTimeout,
  );
  let connectEvent: 'connect' | 'secureConnect' = 'connect';
  const attach = (target: Socket, event: 'connect' | 'secureConnect') => {
    connectEvent = event;
    target.once(event, onConnect);
    target.on('data', onData);
    target.on('error', onError);
    target.on('close', onClose);
  };
  const detach = (target: Socket) => {
    target.off(connectEvent, onConnect);
    target.off('data', onData);
    target.off('error', onError);
    target.off('close', onClose);
  };
  const cleanup = () => {
    clearTimeout(timer);
    detach(socket);
    if (outer !== null) {
      // The TLS socket owns the tunnel now and reports its errors; the outer one must not crash the process.
      outer.off('error', onError);
      outer.on('error', ignoreError);
    }
  };
  if (proxy === null) {
    socket = url.secure
      ? tlsConnect({ host: url.hostname, port: url.port, ...(isIP(url.hostname) === 0 ? { servername: url.hostname } : {}), ...options.tls })
      : netConnect({ host: url.hostname, port: url.port });
    attach(socket, url.secure ? 'secureConnect' : 'connect');
  } else {
    socket = proxy.secure
      ? tlsConnect({ host: proxy.hostname, port: proxy.port, ...(isIP(proxy.hostname) === 0 ? { servername: proxy.hostname } : {}), ...options.proxyTls })
      : netConnect({ host: proxy.hostname, port: proxy.port });
    attach(socket, proxy.secure ? 'secureConnect' : 'connect');
  }
  return fail;
}

function ignoreError(): void {}

/** OpenSSL and Node.js codes of a certificate that failed verification (a retry would fail the same way). */
const CERTIFICATE_ERRORS: ReadonlySet<string> = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

function isCertificateError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && CERTIFICATE_ERRORS.has(code);
}
