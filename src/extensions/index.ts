/**
 * Extensions negotiated in the opening handshake. Re-exports only.
 */
export {
  type DeflateParameters,
  PERMESSAGE_DEFLATE,
  PerMessageDeflateClient,
  type PerMessageDeflateExtension,
  type PerMessageDeflateOptions,
  PerMessageDeflateServer,
  resolveDeflateOptions,
} from './permessage-deflate.js';
export {
  DEFLATE_TAIL,
  type DeflateEngine,
  type EngineResult,
  OUTPUT_LIMIT,
  PERMESSAGE_DEFLATE_RSV,
  PerMessageDeflateTransform,
  type TransformDone,
} from './permessage-deflate-transform.js';
