/**
 * The client side of the opening handshake (RFC 6455 §4.1), sans-I/O: build the upgrade request
 * and validate the server's response — status 101, `Upgrade`, `Connection`, the exact
 * `Sec-WebSocket-Accept`, a subprotocol we offered, extensions we offered. Anything else is a
 * `WebSocketError` with code `WS_ERR_INVALID_HANDSHAKE` (or `WS_ERR_HANDSHAKE_REJECTED` for a
 * non-101 status), so no half-open connection is ever handed on. No sockets here.
 */
import { type Extension, ErrorCode, WebSocketError } from '../core/index.js';
import { acceptValueFor, type Sha1Base64 } from './accept.js';
import type { ExtensionNegotiator } from './extension-negotiation.js';
import { type ExtensionOffer, formatExtensions, isToken, listHasToken, parseExtensions } from './headers.js';
import type { ResponseHead } from './http-head.js';
import { assertHeader } from './server-handshake.js';

/** What goes into the upgrade request. */
export interface ClientRequest {
  /** `Host` header value: host, plus `:port` when not the scheme's default. */
  readonly host: string;
  /** Request target: path and query, e.g. `/chat?room=1`. */
  readonly target: string;
  /** The `Sec-WebSocket-Key` (see `generateKey`). */
  readonly key: string;
  readonly origin?: string | undefined;
  readonly protocols?: readonly string[] | undefined;
  readonly extensionOffers?: readonly ExtensionOffer[] | undefined;
  /** Extra headers; may not replace the handshake's own. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

const RESERVED = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']);

/**
 * Build the request head (§4.1).
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for an invalid subprotocol or header
 */
export function buildClientRequest(request: ClientRequest): string {
  let head =
    `GET ${request.target} HTTP/1.1\r\nHost: ${request.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${request.key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (request.origin !== undefined) head += `Origin: ${checked('Origin', request.origin)}\r\n`;
  const protocols = request.protocols ?? [];
  if (protocols.length !== 0) {
    for (const p of protocols) {
      if (!isToken(p)) throw new WebSocketError(ErrorCode.InvalidArgument, `invalid subprotocol ${JSON.stringify(p)}`);
    }
    if (new Set(protocols).size !== protocols.length) throw new WebSocketError(ErrorCode.InvalidArgument, 'duplicate subprotocol');
    head += `Sec-WebSocket-Protocol: ${protocols.join(', ')}\r\n`;
  }
  if (request.extensionOffers !== undefined && request.extensionOffers.length !== 0) {
    head += `Sec-WebSocket-Extensions: ${formatExtensions(request.extensionOffers)}\r\n`;
  }
  for (const name of Object.keys(request.headers ?? {})) {
    if (RESERVED.has(name.toLowerCase())) throw new WebSocketError(ErrorCode.InvalidArgument, `header ${name} is set by the handshake`);
    head += `${name}: ${checked(name, request.headers![name]!)}\r\n`;
  }
  return head + '\r\n';
}

function checked(name: string, value: string): string {
  try {
    assertHeader(name, value);
  } catch (error) {
    throw new WebSocketError(ErrorCode.InvalidArgument, (error as Error).message);
  }
  return value;
}

/** What the handshake agreed on. */
export interface ClientHandshakeResult {
  /** The subprotocol the server chose, or '' for none. */
  readonly protocol: string;
  /** The extensions the server accepted, as the protocol core runs them. */
  readonly extensions: readonly Extension[];
  /** The `Sec-WebSocket-Extensions` header the server sent, or ''. */
  readonly extensionsHeader: string;
}

const invalid = (message: string) => new WebSocketError(ErrorCode.InvalidHandshake, message);

/** Validate the server's response (§4.1, "the client MUST validate the server's response"). */
export function validateServerResponse(
  head: ResponseHead,
  expected: { key: string; sha1: Sha1Base64; protocols: readonly string[]; negotiators: readonly ExtensionNegotiator[] },
): ClientHandshakeResult | WebSocketError {
  // "If the status code received from the server is not 101, the client handles the response per
  // HTTP procedures." Redirects are not followed.
  if (head.status !== 101) {
    const error = new WebSocketError(ErrorCode.HandshakeRejected, `server answered ${head.status} ${head.reason}`.trim());
    return Object.assign(error, { status: head.status });
  }
  const h = head.headers;
  // "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains a
  // value that is not an ASCII case-insensitive match for the value "websocket", the client MUST
  // _Fail the WebSocket Connection_."
  if (!listHasToken(h.get('upgrade'), 'websocket')) return invalid('response Upgrade header is not "websocket"');
  // "If the response lacks a |Connection| header field or the |Connection| header field doesn't
  // contain a token that is an ASCII case-insensitive match for the value "Upgrade", ... fail."
  if (!listHasToken(h.get('connection'), 'upgrade')) return invalid('response Connection header lacks "Upgrade"');
  // "If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept|
  // contains a value other than the base64-encoded SHA-1 of the concatenation of the
  // |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string GUID ... fail."
  const accept = h.getSingle('sec-websocket-accept');
  if (accept !== acceptValueFor(expected.key, expected.sha1)) return invalid('invalid Sec-WebSocket-Accept');
  // "If the response includes a |Sec-WebSocket-Protocol| header field and this header field
  // indicates the use of a subprotocol that was not present in the client's handshake ... fail."
  const protocol = h.getSingle('sec-websocket-protocol');
  if (protocol === null) return invalid('repeated Sec-WebSocket-Protocol');
  if (protocol !== undefined && !expected.protocols.includes(protocol)) return invalid(`server chose a subprotocol that was not offered: ${protocol}`);
  if (protocol === undefined && expected.protocols.length !== 0 && h.has('sec-websocket-protocol')) return invalid('empty Sec-WebSocket-Protocol');
  // "If the response includes a |Sec-WebSocket-Extensions| header field and this header field
  // indicates the use of an extension that was not present in the client's handshake ... fail."
  const header = h.get('sec-websocket-extensions') ?? '';
  const extensions: Extension[] = [];
  if (header !== '') {
    const responses = parseExtensions(header);
    if (responses === null) return invalid('invalid Sec-WebSocket-Extensions');
    const seen = new Set<string>();
    for (const response of responses) {
      const name = response.name.toLowerCase();
      const negotiator = expected.negotiators.find((n) => n.name === name);
      if (negotiator === undefined) return invalid(`server accepted an extension that was not offered: ${response.name}`);
      if (seen.has(name)) return invalid(`extension ${response.name} accepted twice`);
      seen.add(name);
      const confirmed = negotiator.confirm(response);
      if (confirmed instanceof Error) return invalid(confirmed.message);
      extensions.push(confirmed);
    }
  }
  return { protocol: protocol ?? '', extensions, extensionsHeader: header };
}
