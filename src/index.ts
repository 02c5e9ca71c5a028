/**
 * Public entry point of rfc6455. Re-exports only; see README.md for the API.
 */
export * from './core/index.js';
export * from './handshake/index.js';
export * from './extensions/index.js';
export { type Backplane, type BackplaneSink, decodeEnvelope, encodeEnvelope, type Envelope, InProcessHub } from './pubsub/index.js';
export * from './node/index.js';
/** The default export is the `WebSocket` class, as with ws (`import WebSocket, { WebSocketServer } from 'rfc6455'`). */
export { WebSocket as default } from './node/index.js';
export { Backoff, type BackoffOptions, type DisconnectCause, isRetryable, parseRetryAfter } from './policy/index.js';
