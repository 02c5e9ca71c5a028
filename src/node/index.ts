/**
 * The Node.js layer of rfc6455: the only place with sockets, timers, `node:crypto`, `node:zlib`
 * and events. Re-exports only.
 */
export {
  type BinaryType,
  type ClosedInfo,
  type Data,
  type DroppedInfo,
  type PublishOptions,
  type RawData,
  type SendData,
  type SendOptions,
  type WebSocketEvents,
  // ws's named types (@types/ws)
  type AddressInfo,
  type CertMeta,
  type CloseEvent,
  type ErrorEvent,
  type Event,
  type EventListenerOptions,
  type FinishRequestCallback,
  type MessageEvent,
  type VerifyClientCallbackAsync,
  type VerifyClientCallbackSync,
} from './websocket.js';
export { WsCloseEvent, WsErrorEvent, WsEvent, type WsEventListener, WsMessageEvent } from './ws-events.js';
export { createWebSocketStream, WebSocket, WebSocketServer } from './ws-root.js';
export type { DropReason } from './connection/connection.js';
export type { PubSubStats } from './server/publisher.js';
export { type ClientOptions, parseWebSocketUrl, type WebSocketUrl } from './client/connect.js';
export { type ServerOptions, type UpgradeRequest, type VerifyClientInfo, type VerifyResult, type WebSocketServerEvents } from './server/server.js';
export type { ConnectionOptions } from './connection/connection-options.js';
export type { PerMessageDeflateConfig } from './connection/deflate-options.js';
export { setZlibConcurrency } from './connection/zlib-engine.js';
export { diagnostics, type ServerStatsSnapshot } from './diagnostics.js';
export {
  type GiveUpEvent,
  type ReconnectingEvent,
  ReconnectingWebSocket,
  type ReconnectingWebSocketEvents,
} from './client/reconnecting-websocket.js';
export { reconnect } from './client/reconnect.js';
export type { ReconnectContext, ReconnectLoopOptions, ReconnectOptions } from './client/reconnect-options.js';
export type { QueueOverflow, SendQueueOptions } from './client/send-queue.js';
