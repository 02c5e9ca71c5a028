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
