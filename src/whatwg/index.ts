/**
 * `rfc6455/whatwg`: the browser-standard WebSocket client (`import { WebSocket } from
 * 'rfc6455/whatwg'`). Re-exports only.
 */
export { CloseEvent, type CloseEventInit, MessageEvent, WebSocket } from './websocket.js';
