/**
 * The sans-I/O protocol core of rfc6455: everything RFC 6455 §5–§7 says about frames, masking,
 * UTF-8, fragmentation and closing, with no sockets, timers or Node.js APIs. Re-exports only.
 */
export { CloseCode, isControlOpcode, isKnownOpcode, isValidWireCloseCode, MAX_CLOSE_REASON_BYTES, MAX_CONTROL_PAYLOAD, Opcode, Phase, Role, State } from './constants.js';
export * from './defaults.js';
export { type ArgumentErrorKind, argumentError, closeFrameFor, ErrorCode, WebSocketError } from './errors.js';
export { applyMask, MaskKeyPool, type RandomFill, webCryptoRandomFill } from './mask.js';
export { isValidUtf8, Utf8Validator } from './utf8.js';
export { FrameDecoder, type FrameDecoderOptions, type FrameSink } from './frame-decoder.js';
export { type Allocate, allocateZeroed, type ChunkSink, FrameEncoder } from './frame-encoder.js';
export { type PreparedFrame, prepareFrame } from './prepared-frame.js';
export { type CloseInfo, encodeClosePayload, isSendableCloseCode, parseClosePayload } from './close-payload.js';
export { type Message, MessageAssembler, type MessageAssemblerOptions } from './message-assembler.js';
export type { Extension } from './extension.js';
export {
  type ClosedEvent,
  type CloseFrameEvent,
  type FailureEvent,
  MAX_PENDING_PONGS,
  type OutgoingChunk,
  type PingEvent,
  type PongEvent,
  Protocol,
  type ProtocolEvent,
  type ProtocolOptions,
  SEND_EOF,
} from './protocol.js';
