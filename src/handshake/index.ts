/**
 * The opening handshake of RFC 6455 §4, sans-I/O: HTTP head parsing with limits, header list
 * parsing, key/accept, and the server and client sides. Re-exports only.
 */
export { acceptValueFor, base64Encode, generateKey, isValidKey, type Sha1Base64, WEBSOCKET_GUID } from './accept.js';
export type { ExtensionNegotiator, NegotiatedExtension } from './extension-negotiation.js';
export { type ExtensionOffer, formatExtensions, HeaderMap, isToken, listHasToken, parseExtensions, parseList } from './headers.js';
export { type HttpHeadLimits, HttpHeadParser, type HttpHeadResult, HttpParseError, type RequestHead, type ResponseHead } from './http-head.js';
export {
  acceptResponse,
  assertHeader,
  type HandshakeRejection,
  isSameOrigin,
  negotiateExtensions,
  rejectionResponse,
  type UpgradeRequestChecks,
  type ValidUpgradeRequest,
  validateUpgradeRequest,
} from './server-handshake.js';
export { buildClientRequest, type ClientHandshakeResult, type ClientRequest, validateServerResponse } from './client-handshake.js';
