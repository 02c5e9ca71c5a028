/**
 * The client's way in: resolve a `ws://`, `wss://` or `ws+unix:` URL, send the upgrade request
 * with Node's own `http.request` / `https.request` (so ws's request options work as they do with
 * ws: `agent`, `auth` and URL userinfo, `createConnection`, `family`, `lookup`, `localAddress`,
 * `finishRequest`, a custom `Host`, TLS settings), directly or through an HTTP proxy's `CONNECT`
 * tunnel (`proxy.ts`; the tunnel is this module's `createConnection`), follow redirects when asked
 * (with ws's header-stripping rules), and validate the 101 with the sans-I/O client handshake, all
 * under a handshake timeout. It reports the 101 (`upgrade`), a non-101 answer (`unexpected`, with
 * the request and a readable response) and each redirect to its host, and finishes exactly once,
 * with a {@link HandshakeResult} (the socket, any bytes read past the head, the agreed subprotocol
 * and extensions) that a connection adopts, or with an error (the socket destroyed). It knows
 * nothing of the `WebSocket` it serves.
 */
import { type Agent, type ClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions as TlsConnectionOptions, connect as tlsConnect } from 'node:tls';
import { argumentError, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_HEADER_SIZE, ErrorCode, WebSocketError } from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import { PerMessageDeflateClient } from '../../extensions/index.js';
import type { HandshakeResult } from '../connection/connection.js';
import { type PerMessageDeflateConfig, resolveDeflateConfig, type ResolvedDeflateConfig } from '../connection/deflate-options.js';
import { formatExtensions, generateKey, HeaderMap, HttpHeadParser, isToken, type ResponseHead, validateServerResponse } from '../../handshake/index.js';
import { CONNECTION_OPTION_KEYS, type ConnectionOptions, resolveConnectionOptions, type ResolvedConnectionOptions } from '../connection/connection-options.js';
import { randomFill, sha1 } from '../platform.js';
import type { WebSocket } from '../websocket.js';
import { connectRequest, parseProxyUrl, type ProxyEndpoint, proxyFromEnvironment, proxyRefusal } from './proxy.js';

/** TLS settings a client may pass (at the top level, as with ws). */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'checkServerIdentity', 'ciphers', 'minVersion', 'maxVersion'] as const;

/**
 * Further `http.request` / `tls.connect` options ws passes through to Node; accepted here and
 * passed through the same way.
 */
const PASSTHROUGH_KEYS = [
  'agent',
  'auth',
  'createConnection',
  'family',
  'lookup',
  'localAddress',
  'localPort',
  'hints',
  'defaultPort',
  'setHost',
  'insecureHTTPParser',
  'joinDuplicateHeaders',
  'uniqueHeaders',
  'signal',
  'keepAlive',
  'keepAliveInitialDelay',
  'noDelay',
  'ALPNProtocols',
  'crl',
  'dhparam',
  'ecdhCurve',
  'honorCipherOrder',
  'privateKeyEngine',
  'privateKeyIdentifier',
  'secureContext',
  'secureOptions',
  'secureProtocol',
  'session',
  'sessionIdContext',
  'sigalgs',
  'ticketKeys',
  'requestCert',
  'pskCallback',
  'enableTrace',
  'autoSelectFamily',
  'autoSelectFamilyAttemptTimeout',
] as const;

/** Options of a client `WebSocket`: this library's, and ws's (which include Node's request and TLS options). */
export interface ClientOptions extends ConnectionOptions, Pick<TlsConnectionOptions, (typeof TLS_KEYS)[number]> {
  /** Extra request headers (a `Host` header replaces the URL's; the handshake's own `Sec-WebSocket-*` headers cannot be replaced). */
  headers?: Record<string, string | string[] | number>;
  /** `Origin` header to send (`Sec-WebSocket-Origin` with `protocolVersion: 8`). */
  origin?: string;
  /** Abort when the handshake has not completed within this many ms. Default 10,000. */
  handshakeTimeout?: number;
  /** Largest response head accepted, in bytes. Default 16 KiB. */
  maxHeaderSize?: number;
  /** Offer permessage-deflate (RFC 7692): `true` (the default), `false`, or settings (ws's form included). */
  perMessageDeflate?: boolean | PerMessageDeflateConfig;
  /**
   * Connect through an HTTP proxy's `CONNECT` tunnel: `'http://[user:pass@]host:port'`,
   * `'https://...'` (TLS to the proxy too), `'env'` (`HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, as
   * undici's `EnvHttpProxyAgent` reads them), or `false` (the default: direct).
   */
  proxy?: string | URL | false;
  /** TLS settings for an `https://` proxy itself (`ca`, `rejectUnauthorized`, ...); the server's come from the top-level TLS options. */
  proxyTls?: Pick<TlsConnectionOptions, (typeof TLS_KEYS)[number]>;
  /** `Sec-WebSocket-Version` to send: 13 (default) or 8 (ws's option). */
  protocolVersion?: 8 | 13;
  /** Follow 3xx redirects (ws's option; `'redirect'` is emitted for each). Default false. */
  followRedirects?: boolean;
  /** Most redirects followed. Default 10. */
  maxRedirects?: number;
  /** ws's option: a function filling a frame's 4-byte mask. Accepted; masks always come from a pooled CSPRNG (RFC 6455 §5.3). */
  generateMask?: (mask: Buffer) => void;
  /** ws's option: send the request yourself (`request.end()`), e.g. after adding headers. */
  finishRequest?: (request: ClientRequest, websocket: WebSocket) => void;
  /** Node's `http.request` option; as in ws, the handshake deadline is `handshakeTimeout`, so this is accepted and not used. */
  timeout?: number;
  /** An `http.Agent` for the upgrade request (e.g. a proxy agent). */
  agent?: Agent;
  /** `user:password` for `Authorization: Basic` (URL userinfo does the same). */
  auth?: string;
  /**
   * Makes the socket (Node's `http.request` option, e.g. `tls.connect` or a custom transport):
   * called with the request options and a callback `(error, socket)`; returns the socket, or
   * nothing and calls the callback later.
   */
  createConnection?: (...args: never[]) => Duplex | null | undefined;
  /** IP family to resolve the host to (4 or 6). */
  family?: number;
  /** Custom DNS lookup. */
  lookup?: LookupFunction;
  /** Local interface to connect from. */
  localAddress?: string;
  /** Local port to connect from. */
  localPort?: number;
  /** Further Node request and TLS options ws passes through (`setHost`, `signal`, `secureContext`, ...) are passed through the same way. */
  setHost?: boolean;
  signal?: AbortSignal;
  hints?: number;
  defaultPort?: number;
  insecureHTTPParser?: boolean;
  joinDuplicateHeaders?: boolean;
  keepAlive?: boolean;
  noDelay?: boolean;
  autoSelectFamily?: boolean;
  ALPNProtocols?: TlsConnectionOptions['ALPNProtocols'];
  secureContext?: TlsConnectionOptions['secureContext'];
  secureOptions?: number;
  secureProtocol?: string;
  session?: Buffer;
  ecdhCurve?: string;
  crl?: TlsConnectionOptions['crl'];
  sigalgs?: string;
}

/** Client options after validation. */
export interface ResolvedClientOptions {
  readonly connection: ResolvedConnectionOptions;
  readonly headers: Readonly<Record<string, string | string[] | number>>;
  readonly origin: string | undefined;
  readonly handshakeTimeout: number;
  readonly maxHeaderSize: number;
  readonly deflate: ResolvedDeflateConfig | null;
  /** The proxy, `'env'` (looked up for each connection), or null for none. */
  readonly proxy: ProxyEndpoint | 'env' | null;
  readonly proxyTls: TlsConnectionOptions;
  readonly protocolVersion: 8 | 13;
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  readonly finishRequest: ((request: ClientRequest, websocket: WebSocket) => void) | undefined;
  /** TLS and passthrough options, handed to `http(s).request` as they are. */
  readonly request: Readonly<Record<string, unknown>>;
}

const CLIENT_KEYS = new Set<string>([
  ...CONNECTION_OPTION_KEYS,
  ...TLS_KEYS,
  ...PASSTHROUGH_KEYS,
  'headers',
  'origin',
  'handshakeTimeout',
  'maxHeaderSize',
  'perMessageDeflate',
  'proxy',
  'proxyTls',
  'protocolVersion',
  'followRedirects',
  'maxRedirects',
  'generateMask',
  'finishRequest',
  'timeout',
  // Node request options ws overrides with the URL's parts: accepted (as by ws) and not used.
  'host',
  'hostname',
  'port',
  'path',
  'method',
  'protocol',
]);
const TLS_KEY_SET: ReadonlySet<string> = new Set(TLS_KEYS);
const REQUEST_KEYS: readonly string[] = [...TLS_KEYS, ...PASSTHROUGH_KEYS];

function resolveProxy(value: ClientOptions['proxy']): ProxyEndpoint | 'env' | null {
  if (value === undefined || value === false) return null;
  if (value === 'env') return 'env';
  if (typeof value !== 'string' && !(value instanceof URL)) throw argumentError('TypeError', 'option "proxy" must be a URL, "env" or false');
  return parseProxyUrl(value);
}

/**
 * Validate client options.
 *
 * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` for unknown keys or values of the wrong type ({RangeError} out of range)
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  rejectUnknownKeys(options, CLIENT_KEYS, 'WebSocket');
  const deflate = resolveDeflateConfig(options.perMessageDeflate, true);
  const request: Record<string, unknown> = {};
  const given = options as Record<string, unknown>;
  for (const key of REQUEST_KEYS) if (given[key] !== undefined) request[key] = given[key];
  booleanOption(options.rejectUnauthorized, 'rejectUnauthorized', true);
  const version = options.protocolVersion ?? 13;
  if (version !== 8 && version !== 13) throw argumentError('RangeError', `unsupported protocol version: ${String(version)} (supported versions: 8, 13)`);
  for (const key of ['finishRequest', 'createConnection', 'lookup', 'generateMask'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') throw argumentError('TypeError', `option "${key}" must be a function`);
  }
  const headers = options.headers ?? {};
  if (typeof headers !== 'object' || headers === null) throw argumentError('TypeError', 'option "headers" must be an object');
  return {
    connection: resolveConnectionOptions(options),
    headers: { ...headers },
    origin: options.origin,
    handshakeTimeout: integerOption(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT, 1, 2 ** 31 - 1),
    maxHeaderSize: integerOption(options.maxHeaderSize, 'maxHeaderSize', DEFAULT_MAX_HEADER_SIZE, 256),
    deflate,
    proxy: resolveProxy(options.proxy),
    proxyTls: resolveProxyTls(options.proxyTls),
    protocolVersion: version,
    followRedirects: booleanOption(options.followRedirects, 'followRedirects', false),
    maxRedirects: integerOption(options.maxRedirects, 'maxRedirects', 10, 0),
    finishRequest: options.finishRequest,
    request,
  };
}

function resolveProxyTls(value: ClientOptions['proxyTls']): TlsConnectionOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw argumentError('TypeError', 'option "proxyTls" must be an object');
  rejectUnknownKeys(value, TLS_KEY_SET, 'proxyTls');
  return { ...value };
}

/** A parsed, checked `ws:`/`wss:`/`ws+unix:` URL. */
export interface WebSocketUrl {
  readonly href: string;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  /** `Host` header value. */
  readonly host: string;
  /** Path and query. */
  readonly target: string;
  /** `ws+unix:` URLs: the Unix domain socket to connect to. */
  readonly socketPath?: string;
  /** `user:password` from the URL's userinfo, percent-decoded, or undefined. */
  readonly auth?: string;
}

/**
 * Parse a WebSocket URL (`ws:`, `wss:`, `http:`/`https:` as their aliases, or ws's
 * `ws+unix:/path/to/socket:/request/path`).
 *
 * @throws {SyntaxError} `WS_ERR_INVALID_ARGUMENT` for another scheme, a fragment, or an unparsable URL
 */
export function parseWebSocketUrl(address: string | URL): WebSocketUrl {
  let url: URL;
  try {
    url = address instanceof URL ? address : new URL(address);
  } catch {
    throw argumentError('SyntaxError', `invalid URL: ${String(address)}`);
  }
  const scheme = url.protocol;
  const secure = scheme === 'wss:' || scheme === 'https:';
  const unix = scheme === 'ws+unix:';
  if (!secure && !unix && scheme !== 'ws:' && scheme !== 'http:') {
    throw argumentError('SyntaxError', `URL scheme must be ws:, wss:, http:, https: or ws+unix:, got ${scheme}`);
  }
  // "If urlRecord's fragment is non-null, then throw a "SyntaxError" DOMException" (WHATWG
  // WebSockets; RFC 6455 §3: fragment identifiers MUST NOT be used in WebSocket URIs).
  if (url.hash !== '' || String(address).includes('#')) throw argumentError('SyntaxError', 'URL must not have a fragment');
  const auth = url.username !== '' || url.password !== '' ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
  const href = url.href.replace(/^http/, 'ws');
  if (unix) {
    if (url.pathname === '') throw argumentError('SyntaxError', "the URL's pathname is empty");
    const path = `${url.pathname}${url.search}`;
    const colon = path.indexOf(':');
    const socketPath = colon === -1 ? path : path.slice(0, colon);
    const target = colon === -1 ? '/' : path.slice(colon + 1) || '/';
    return { href, secure: false, hostname: 'localhost', port: 80, host: 'localhost', target, socketPath, ...(auth === undefined ? {} : { auth }) };
  }
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const host = port === defaultPort ? url.hostname : `${url.hostname}:${port}`;
  return { href, secure, hostname, port, host, target: `${url.pathname || '/'}${url.search}`, ...(auth === undefined ? {} : { auth }) };
}

/**
 * Check the subprotocols to offer: tokens, no duplicates (RFC 6455 §4.1: "The elements that
 * comprise this value MUST be non-empty strings with characters in the range U+0021 to U+007E
 * ... and MUST all be unique strings").
 *
 * @throws {SyntaxError} `WS_ERR_INVALID_ARGUMENT` for an invalid or repeated subprotocol
 */
export function checkProtocols(protocols: readonly unknown[]): readonly string[] {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol) || seen.has(protocol)) {
      throw argumentError('SyntaxError', 'an invalid or duplicated subprotocol was specified');
    }
    seen.add(protocol);
  }
  return [...seen];
}

/** How a client handshake ended. */
export type ClientHandshakeOutcome =
  | { readonly ok: true; readonly result: HandshakeResult }
  | {
      readonly ok: false;
      readonly error: WebSocketError;
      /** True when an `unexpected` listener took the non-101 response: no error is reported. */
      readonly handled: boolean;
    };

/** What the handshake tells its `WebSocket` while it runs. */
export interface ClientHandshakeHost {
  /** The 101 response (ws's 'upgrade' event), before it is validated. False aborts: the WebSocket was closed meanwhile. */
  upgrade(response: IncomingMessage): boolean;
  /** A non-101 answer (ws's 'unexpected-response'); true if a listener takes it (and reads or discards the body). */
  unexpected(request: ClientRequest, response: IncomingMessage): boolean;
  /** A redirect is being followed: the new URL and its request, before it is sent. */
  redirect(url: string, request: ClientRequest): void;
  /** Whether a 'redirect' listener handles the headers of cross-host redirects itself. */
  handlesRedirects(): boolean;
  /** The WebSocket itself, for `finishRequest`. */
  readonly websocket: WebSocket;
}

/**
 * Open the connection (through the proxy's tunnel when one is configured) and run the handshake;
 * `done` is called exactly once.
 *
 * @returns a function that aborts the attempt with the given error
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` when `proxy: 'env'` finds an invalid proxy URL
 */
export function openClientHandshake(
  first: WebSocketUrl,
  protocols: readonly string[],
  options: ResolvedClientOptions,
  host: ClientHandshakeHost,
  done: (outcome: ClientHandshakeOutcome) => void,
): (error: WebSocketError) => void {
  let finished = false;
  let request: ClientRequest | null = null;
  let response: IncomingMessage | null = null;
  let tunneling = false;
  let proxyName = '';
  let url = first;
  let redirects = 0;
  /** Lower-cased user headers, mutable across redirects (ws drops some when the host changes). */
  const userHeaders: Record<string, string | string[] | number> = {};
  for (const [name, value] of Object.entries(options.headers)) userHeaders[name.toLowerCase()] = value;
  let auth = first.auth ?? (options.request.auth as string | undefined);
  // A Unix domain socket is local: no proxy reaches it.
  const proxyFor = (target: WebSocketUrl) =>
    target.socketPath !== undefined ? null : options.proxy === 'env' ? proxyFromEnvironment(target, process.env) : options.proxy;

  /** End the attempt once; `later` reports it on the next tick (an abort from the user's own call). */
  const finish = (outcome: ClientHandshakeOutcome, later = false) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (later) process.nextTick(done, outcome);
    else done(outcome);
  };
  /** The proxy tunnel being opened (its socket is not the request's until the proxy answers). */
  let cancelTunnel: ((error: WebSocketError) => void) | null = null;
  const release = (error: WebSocketError) => {
    const req = request;
    request = null;
    response?.destroy();
    req?.destroy();
    cancelTunnel?.(error);
  };
  const fail = (error: WebSocketError) => {
    if (finished) return;
    release(error);
    finish({ ok: false, error, handled: false });
  };
  /** The user closed or terminated while connecting: as in ws, 'error' and 'close' follow on the next tick. */
  const abort = (error: WebSocketError) => {
    if (finished) return;
    release(error);
    finish({ ok: false, error, handled: false }, true);
  };
  /** The non-101 response an 'unexpected-response' listener took: the attempt ends without 'error'. */
  let handedOver: WebSocketError | null = null;
  const timer = setTimeout(() => {
    if (handedOver !== null) {
      // The listener did not finish reading the response in time: the attempt ends as the README says ('close', no 'error').
      release(handedOver);
      return finish({ ok: false, error: handedOver, handled: true });
    }
    fail(
      tunneling
        ? new WebSocketError(ErrorCode.ProxyTimeout, `proxy ${proxyName} did not answer within ${options.handshakeTimeout} ms`)
        : new WebSocketError(ErrorCode.HandshakeTimeout, 'opening handshake timed out'),
    );
  }, options.handshakeTimeout);

  /** Build and send the request; after a redirect, the 'redirect' listeners see it before it is sent (as in ws). */
  const send = (redirected: boolean) => {
    const key = generateKey(randomFill);
    const negotiators = options.deflate === null ? [] : [new PerMessageDeflateClient(options.deflate.negotiation)];
    const headers: Record<string, string | string[] | number> = { ...userHeaders };
    headers['sec-websocket-version'] = String(options.protocolVersion);
    headers['sec-websocket-key'] = key;
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
    const offers = negotiators.flatMap((n) => n.offer());
    if (offers.length !== 0) headers['sec-websocket-extensions'] = formatExtensions(offers);
    if (protocols.length !== 0) headers['sec-websocket-protocol'] = protocols.join(', ');
    if (options.origin !== undefined) headers[options.protocolVersion < 13 ? 'sec-websocket-origin' : 'origin'] = options.origin;
    if (auth !== undefined && headers.authorization === undefined) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const proxy = proxyFor(url);
    const requestOptions: RequestOptions & Record<string, unknown> = {
      ...options.request,
      auth: undefined,
      method: 'GET',
      host: url.hostname,
      port: url.port,
      path: url.target,
      headers,
      maxHeaderSize: options.maxHeaderSize,
      timeout: undefined,
      socketPath: url.socketPath,
    };
    if (proxy !== null) {
      tunneling = true;
      proxyName = proxy.display;
      requestOptions.agent = undefined;
      requestOptions.createConnection = (_o: unknown, callback: (error: Error | null, socket: Duplex) => void) => {
        cancelTunnel = openTunnel(url, proxy, options, (error, socket) => {
          tunneling = false;
          cancelTunnel = null;
          callback(error, socket as Duplex);
        });
        return undefined;
      };
    } else if (requestOptions.createConnection === undefined && requestOptions.agent === undefined) {
      requestOptions.createConnection = (url.secure ? tlsConnection : netConnection) as unknown as RequestOptions['createConnection'];
    }
    const req = (url.secure ? httpsRequest : httpRequest)(requestOptions);
    request = req;
    req.on('error', (error: Error) => {
      if (request !== req) return;
      const code = (error as { code?: unknown }).code;
      fail(
        error instanceof WebSocketError
          ? error
          : typeof code === 'string' && code.startsWith('HPE_')
            ? new WebSocketError(ErrorCode.InvalidHandshake, `invalid handshake response: ${error.message}`)
            : typeof code === 'string' && CERTIFICATE_ERRORS.has(code)
              ? Object.assign(new WebSocketError(ErrorCode.CertificateRejected, `the server's certificate was rejected: ${error.message}`), { cause: error })
              : Object.assign(new WebSocketError(ErrorCode.ConnectionFailed, `connection failed: ${error.message}`), { cause: error }),
      );
    });
    req.on('response', (res: IncomingMessage) => {
      if (request !== req) return res.destroy();
      const location = res.headers.location;
      const status = res.statusCode ?? 0;
      if (options.followRedirects && location !== undefined && status >= 300 && status < 400) {
        res.destroy();
        req.destroy();
        if (++redirects > options.maxRedirects) return fail(new WebSocketError(ErrorCode.HandshakeRejected, 'maximum redirects exceeded'));
        let next: WebSocketUrl;
        try {
          next = parseWebSocketUrl(new URL(location, url.href.replace(/^ws/, 'http')));
        } catch (error) {
          return fail(error as WebSocketError);
        }
        // A remote server may not send the client to a local Unix socket (a request forgery).
        if (next.socketPath !== undefined && first.socketPath === undefined) {
          return fail(new WebSocketError(ErrorCode.HandshakeRejected, 'a redirect to a ws+unix: URL is refused'));
        }
        const sameHost = next.socketPath === url.socketPath && (next.socketPath !== undefined || `${next.hostname}:${next.port}` === `${first.hostname}:${first.port}`);
        if (!host.handlesRedirects() && (!sameHost || (first.secure && !next.secure))) {
          // As ws (and curl): credentials and cookies do not follow a redirect to another host or to plain text.
          delete userHeaders.authorization;
          delete userHeaders.cookie;
          if (!sameHost) delete userHeaders.host;
          auth = undefined;
        }
        url = next;
        try {
          send(true);
        } catch (error) {
          // Node refused the new request (an option or header it rejects), or a 'redirect'
          // listener threw: a failure, never a throw into the event loop.
          return fail(error instanceof WebSocketError ? error : new WebSocketError(ErrorCode.ConnectionFailed, `redirect failed: ${(error as Error).message}`));
        }
        return;
      }
      response = res;
      const error = Object.assign(new WebSocketError(ErrorCode.HandshakeRejected, `server answered ${status} ${res.statusMessage ?? ''}`.trim()), {
        status,
        headers: HeaderMap.fromRaw(res.rawHeaders).toObject(),
      });
      if (host.unexpected(req, res)) {
        handedOver = error;
        // The listener reads (or discards) the body; the attempt ends when the response does.
        const ended = () => {
          if (request !== req) return;
          request = null;
          req.destroy();
          finish({ ok: false, error, handled: true });
        };
        res.once('end', ended);
        res.once('close', ended);
        return;
      }
      res.resume();
      fail(error);
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (request !== req) return socket.destroy();
      request = null;
      if (!host.upgrade(res) || finished) return socket.destroy();
      const parsed: ResponseHead = {
        kind: 'response',
        version: res.httpVersion,
        status: res.statusCode ?? 0,
        reason: res.statusMessage ?? '',
        headers: HeaderMap.fromRaw(res.rawHeaders),
      };
      let outcome = validateServerResponse(parsed, { key, sha1, protocols, negotiators });
      // RFC 6455 lets a server pick none of the offered subprotocols; ws and the WHATWG standard
      // ("If protocols is not the empty list and ... results in null, failure, or the empty byte
      // sequence, then fail the WebSocket connection") do not, and neither does this client.
      if (!(outcome instanceof WebSocketError) && protocols.length !== 0 && outcome.protocol === '') {
        outcome = new WebSocketError(ErrorCode.InvalidHandshake, 'server sent no subprotocol');
      }
      if (outcome instanceof WebSocketError) {
        socket.destroy();
        return fail(outcome);
      }
      finished = true;
      clearTimeout(timer);
      // The connection adopts the socket in this same tick (after the 'open' listeners), so frames
      // right behind the 101 cannot be read before it listens.
      done({
        ok: true,
        result: { transport: socket, head, protocol: outcome.protocol, extensions: outcome.extensions, extensionsHeader: outcome.extensionsHeader },
      });
    });
    if (redirected) {
      host.redirect(url.href, req);
      // A listener may have closed or terminated the WebSocket.
      if (request !== req || finished) return;
    }
    if (options.finishRequest !== undefined) {
      try {
        options.finishRequest(req, host.websocket);
      } catch (error) {
        fail(new WebSocketError(ErrorCode.ConnectionFailed, `finishRequest threw: ${(error as Error).message}`));
      }
    } else {
      req.end();
    }
  };
  try {
    send(false);
  } catch (error) {
    // The constructor throws (Node rejected an option or header): nothing may stay armed.
    finished = true;
    clearTimeout(timer);
    throw error;
  }
  return abort;
}

/** ws's connectors: `socketPath` for `ws+unix:`, SNI for names (not for IP addresses). */
function netConnection(options: RequestOptions & Record<string, unknown>): Socket {
  return netConnect({ ...(options as object), path: options.socketPath } as unknown as Parameters<typeof netConnect>[0]);
}
function tlsConnection(options: RequestOptions & Record<string, unknown>): Socket {
  const host = String(options.host ?? '');
  const servername = typeof options.servername === 'string' ? options.servername : isIP(host) === 0 ? host : undefined;
  return tlsConnect({ ...(options as TlsConnectionOptions), path: undefined, ...(servername === undefined || servername === '' ? {} : { servername }) });
}

/**
 * Open a `CONNECT` tunnel to `url` through `proxy`, and TLS inside it for `wss:`; `callback` is
 * called exactly once with the socket the handshake speaks on, or the error.
 *
 * @returns a function that gives up on the tunnel (its socket is destroyed, `callback` gets the error)
 */
function openTunnel(
  url: WebSocketUrl,
  proxy: ProxyEndpoint,
  options: ResolvedClientOptions,
  callback: (error: Error | null, socket?: Duplex) => void,
): (error: WebSocketError) => void {
  let settled = false;
  const socket = proxy.secure
    ? tlsConnect({ host: proxy.hostname, port: proxy.port, ...(isIP(proxy.hostname) === 0 ? { servername: proxy.hostname } : {}), ...options.proxyTls })
    : netConnect({ host: proxy.hostname, port: proxy.port });
  const parser = new HttpHeadParser<ResponseHead>('response', { maxHeadSize: options.maxHeaderSize });
  const settle = (error: WebSocketError | null, result?: Duplex) => {
    if (settled) return;
    settled = true;
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
    socket.on('error', ignoreError);
    if (error !== null) {
      socket.destroy();
      callback(error);
    } else {
      callback(null, result);
    }
  };
  const onData = (chunk: Buffer) => {
    const result = parser.push(chunk);
    if (!result.done) return;
    if ('error' in result) return settle(new WebSocketError(ErrorCode.ProxyConnectionFailed, `invalid answer from proxy ${proxy.display}: ${result.error.message}`));
    const { status, reason } = result.head;
    if (status < 200 || status > 299) return settle(proxyRefusal(proxy, status, reason));
    // Neither a WebSocket server nor a TLS server speaks first: bytes here are not the server's.
    if (result.rest.length !== 0) return settle(new WebSocketError(ErrorCode.ProxyConnectionFailed, `proxy ${proxy.display} sent data before the request`));
    if (!url.secure) return settle(null, socket);
    // TLS to the server inside the tunnel: SNI and the certificate check are for the server's name.
    const tls = tlsConnect({ socket, host: url.hostname, ...(isIP(url.hostname) === 0 ? { servername: url.hostname } : {}), ...pickTls(options.request) });
    settle(null, tls);
  };
  const onError = (error: Error) => settle(new WebSocketError(ErrorCode.ProxyConnectionFailed, `connection to proxy ${proxy.display} failed: ${error.message}`));
  const onClose = () => settle(new WebSocketError(ErrorCode.ProxyConnectionFailed, `proxy ${proxy.display} closed the connection before answering`));
  socket.once(proxy.secure ? 'secureConnect' : 'connect', () => {
    if (!settled) socket.write(connectRequest(url, proxy));
  });
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  return settle;
}

function pickTls(request: Readonly<Record<string, unknown>>): TlsConnectionOptions {
  const tls: Record<string, unknown> = {};
  for (const key of TLS_KEYS) if (request[key] !== undefined) tls[key] = request[key];
  return tls as TlsConnectionOptions;
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
