/**
 * The server side of the opening handshake (RFC 6455 §4.2), sans-I/O: check a parsed request
 * head against every requirement of §4.2.1, pick a subprotocol and negotiate extensions, and
 * produce the exact response bytes — `101 Switching Protocols` with `Sec-WebSocket-Accept`, or a
 * rejection with the right status (400, 403, 405, 426) and `Connection: close`. It does not read
 * sockets or run the application's verify hook; the Node.js layer does.
 */
import type { Extension } from '../core/index.js';
import { acceptValueFor, isValidKey, type Sha1Base64 } from './accept.js';
import type { ExtensionNegotiator } from './extension-negotiation.js';
import { type ExtensionOffer, formatExtensions, isToken, listHasToken, parseExtensions, parseList } from './headers.js';
import type { RequestHead } from './http-head.js';

/** A request that passed the structural checks of §4.2.1. */
export interface ValidUpgradeRequest {
  readonly ok: true;
  readonly head: RequestHead;
  /** Path part of the request target (before `?`). */
  readonly path: string;
  readonly key: string;
  /** `Origin` header, if any. */
  readonly origin: string | undefined;
  /** Subprotocols offered, in the client's order (§4.1: each a token, no duplicates). */
  readonly protocols: readonly string[];
  /** Extension offers, in the client's order. */
  readonly extensionOffers: readonly ExtensionOffer[];
}

/** A rejection: the HTTP status, a short reason, and headers to add. */
export interface HandshakeRejection {
  readonly ok: false;
  readonly status: number;
  readonly message: string;
  readonly headers: readonly (readonly [string, string])[];
}

/** Checks applied to every request. */
export interface UpgradeRequestChecks {
  /**
   * Allowed `Origin` values (exact, case-insensitive), a predicate, or `'*'` for any; others get
   * 403. Default: same-origin, i.e. a request with an `Origin` is accepted only when the origin's
   * host and port are the request's `Host`; a request without `Origin` (not from a browser) is accepted.
   */
  readonly origins?: '*' | readonly string[] | ((origin: string | undefined) => boolean);
}

const NONE: readonly string[] = [];

const reject = (status: number, message: string, headers: readonly (readonly [string, string])[] = []): HandshakeRejection => ({
  ok: false,
  status,
  message,
  headers,
});

/** Validate an upgrade request (§4.2.1). */
export function validateUpgradeRequest(head: RequestHead, checks: UpgradeRequestChecks = {}): ValidUpgradeRequest | HandshakeRejection {
  const h = head.headers;
  // "An HTTP/1.1 or higher GET request" (§4.2.1 item 1)
  if (head.method !== 'GET') return reject(405, 'method not allowed', [['Allow', 'GET']]);
  if (head.version < '1.1') return reject(505, 'HTTP/1.1 or higher required');
  const question = head.target.indexOf('?');
  const path = question === -1 ? head.target : head.target.slice(0, question);
  if (!path.startsWith('/')) return reject(400, 'request target must be a path');
  // "A |Host| header field containing the server's authority." (item 2)
  const host = h.getSingle('host');
  if (host === undefined || host === null || host === '') return reject(400, 'missing or repeated Host header');
  // "An |Upgrade| header field containing the value "websocket"" (item 3)
  if (!listHasToken(h.get('upgrade'), 'websocket')) {
    return reject(h.has('upgrade') ? 400 : 426, 'Upgrade header must include "websocket"', [
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13, 8'],
    ]);
  }
  // "A |Connection| header field that includes the token "Upgrade"" (item 4)
  if (!listHasToken(h.get('connection'), 'upgrade')) return reject(400, 'Connection header must include "Upgrade"');
  // "A |Sec-WebSocket-Version| header field, with a value of 13." (item 6) — otherwise 426 with
  // the versions we support (§4.4: a server "MAY" support several; version 8, the last draft's,
  // speaks the same protocol, and ws accepts it too).
  const version = h.getSingle('sec-websocket-version');
  if (version !== '13' && version !== '8') return reject(426, 'unsupported WebSocket version', [['Sec-WebSocket-Version', '13, 8']]);
  // "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when decoded, is 16 bytes" (item 5)
  const key = h.getSingle('sec-websocket-key');
  if (typeof key !== 'string' || !isValidKey(key)) return reject(400, 'invalid Sec-WebSocket-Key');
  // Version 8 clients send their origin as Sec-WebSocket-Origin.
  const origin = version === '8' && !h.has('origin') ? h.getSingle('sec-websocket-origin') : h.getSingle('origin');
  if (origin === null) return reject(400, 'repeated Origin header');
  const origins = checks.origins;
  if (origins === undefined) {
    // Cross-site WebSocket hijacking: a page on another site opening a connection with the user's
    // cookies. Browsers always send Origin, so a same-origin check by default stops it.
    if (origin !== undefined && !isSameOrigin(origin, h.get('host'))) {
      return reject(403, 'cross-origin request refused: set the server option "origins" to allow this origin');
    }
  } else if (origins !== '*') {
    const allowed = typeof origins === 'function' ? origins(origin) : origin !== undefined && origins.some((o) => o.toLowerCase() === origin.toLowerCase());
    // "If the server does not validate the origin, it SHOULD respond with an HTTP 403" (§4.2.2)
    if (!allowed) return reject(403, 'origin not allowed');
  }
  const protocols: string[] = [];
  for (const value of h.has('sec-websocket-protocol') ? h.getAll('sec-websocket-protocol') : NONE) {
    for (const protocol of parseList(value)) {
      if (!isToken(protocol) || protocols.includes(protocol)) return reject(400, 'invalid Sec-WebSocket-Protocol');
      protocols.push(protocol);
    }
  }
  const extensionOffers: ExtensionOffer[] = [];
  for (const value of h.has('sec-websocket-extensions') ? h.getAll('sec-websocket-extensions') : NONE) {
    const parsed = parseExtensions(value);
    if (parsed === null) return reject(400, 'invalid Sec-WebSocket-Extensions');
    extensionOffers.push(...parsed);
  }
  return { ok: true, head, path, key, origin, protocols, extensionOffers };
}

/** Negotiate extensions: each negotiator sees the offers naming it. */
export function negotiateExtensions(
  offers: readonly ExtensionOffer[],
  negotiators: readonly ExtensionNegotiator[],
): { ok: true; responses: ExtensionOffer[]; extensions: Extension[] } | HandshakeRejection {
  const responses: ExtensionOffer[] = [];
  const extensions: Extension[] = [];
  let rsvTaken = 0;
  for (const negotiator of negotiators) {
    const mine = offers.filter((o) => o.name.toLowerCase() === negotiator.name);
    if (mine.length === 0) continue;
    const result = negotiator.accept(mine);
    if (result instanceof Error) return reject(400, result.message);
    if (result === null || (result.extension.rsv & rsvTaken) !== 0) continue;
    rsvTaken |= result.extension.rsv;
    responses.push(result.response);
    extensions.push(result.extension);
  }
  return { ok: true, responses, extensions };
}

/** Build the `101 Switching Protocols` response (§4.2.2 step 5). */
export function acceptResponse(
  key: string,
  sha1: Sha1Base64,
  protocol: string | undefined,
  extensionResponses: readonly ExtensionOffer[],
  extraHeaders: readonly (readonly [string, string])[] = [],
): string {
  let head =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptValueFor(key, sha1)}\r\n`;
  if (protocol !== undefined) head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  if (extensionResponses.length !== 0) head += `Sec-WebSocket-Extensions: ${formatExtensions(extensionResponses)}\r\n`;
  for (const [name, value] of extraHeaders) head += `${name}: ${value}\r\n`;
  return head + '\r\n';
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  414: 'URI Too Long',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/**
 * Build a rejection response that closes the connection.
 *
 * @throws {TypeError} for a header name that is not a token or a value with CR, LF or NUL
 */
export function rejectionResponse(status: number, message: string, headers: readonly (readonly [string, string])[] = []): string {
  const body = message.endsWith('\n') ? message : `${message}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${new TextEncoder().encode(body).length}\r\n`;
  for (const [name, value] of headers) {
    assertHeader(name, value);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n${body}`;
}

/**
 * Check a header a caller wants to send.
 *
 * @throws {TypeError} for a name that is not a token or a value containing CR, LF or NUL
 */
export function assertHeader(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) throw new TypeError(`invalid character in header ${name}`);
  }
}

/**
 * Whether an `Origin` (`scheme://host[:port]`, RFC 6454) names the same host and port as a `Host`
 * header. Default ports (80 for http/ws, 443 for https/wss) may be written or left out on either
 * side. `null` and anything without a scheme is never same-origin. Linear-time, no regex.
 */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const sep = origin.indexOf('://');
  if (sep <= 0) return false;
  const scheme = origin.slice(0, sep).toLowerCase();
  const defaultPort = scheme === 'https' || scheme === 'wss' ? '443' : scheme === 'http' || scheme === 'ws' ? '80' : null;
  if (defaultPort === null) return false;
  const authority = origin.slice(sep + 3);
  if (authority.length === 0 || authority.includes('/') || authority.includes('@')) return false;
  return withPort(authority.toLowerCase(), defaultPort) === withPort(host.trim().toLowerCase(), defaultPort);
}

/** `host[:port]` with the port written out. */
function withPort(authority: string, defaultPort: string): string {
  const bracket = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  return colon > bracket ? authority : `${authority}:${defaultPort}`;
}
