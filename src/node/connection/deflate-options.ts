/**
 * The `perMessageDeflate` option of servers and clients: `true`, `false` or an object with the
 * negotiation parameters (RFC 7692) and the codec's tuning (threshold, zlib level and memory
 * level, process-wide concurrency). Validated once into a shared, frozen configuration.
 */
import { DEFAULT_DEFLATE_LEVEL, DEFAULT_DEFLATE_MEM_LEVEL, DEFAULT_DEFLATE_THRESHOLD, ErrorCode, WebSocketError } from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import { type PerMessageDeflateOptions, resolveDeflateOptions } from '../../extensions/index.js';
import { setZlibConcurrency } from './zlib-engine.js';

/** permessage-deflate settings. */
export interface PerMessageDeflateConfig extends PerMessageDeflateOptions {
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** zlib compression level, 0–9. Default 6. */
  level?: number;
  /** zlib memory level, 1–9 (the compressor's hash table is 2^(memLevel+9) bytes). Default 8. */
  memLevel?: number;
  /** Most zlib operations running at once in this whole process (one limiter for every server and client; the latest setting applies). Default 10. */
  concurrencyLimit?: number;
}

/** Validated permessage-deflate settings. */
export interface ResolvedDeflateConfig {
  readonly negotiation: Required<PerMessageDeflateOptions>;
  readonly threshold: number;
  readonly level: number;
  readonly memLevel: number;
}

const KEYS = new Set(['serverNoContextTakeover', 'clientNoContextTakeover', 'serverMaxWindowBits', 'clientMaxWindowBits', 'threshold', 'level', 'memLevel', 'concurrencyLimit']);

/**
 * Resolve a `perMessageDeflate` option value.
 *
 * @param value - `true`, `false`, an object, or undefined for `fallback`
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for unknown keys or bad values
 */
export function resolveDeflateConfig(value: boolean | PerMessageDeflateConfig | undefined, fallback: boolean): ResolvedDeflateConfig | null {
  const enabled = typeof value === 'object' && value !== null ? true : booleanOption(value, 'perMessageDeflate', fallback);
  if (!enabled) return null;
  const config: PerMessageDeflateConfig = typeof value === 'object' && value !== null ? value : {};
  rejectUnknownKeys(config, KEYS, 'perMessageDeflate');
  let negotiation: Required<PerMessageDeflateOptions>;
  try {
    negotiation = resolveDeflateOptions(config);
  } catch (error) {
    throw new WebSocketError(ErrorCode.InvalidArgument, `perMessageDeflate: ${(error as Error).message}`);
  }
  const resolved: ResolvedDeflateConfig = Object.freeze({
    negotiation,
    threshold: integerOption(config.threshold, 'threshold', DEFAULT_DEFLATE_THRESHOLD, 0),
    level: integerOption(config.level, 'level', DEFAULT_DEFLATE_LEVEL, 0, 9),
    memLevel: integerOption(config.memLevel, 'memLevel', DEFAULT_DEFLATE_MEM_LEVEL, 1, 9),
  });
  if (config.concurrencyLimit !== undefined) setZlibConcurrency(integerOption(config.concurrencyLimit, 'concurrencyLimit', 1, 1));
  return resolved;
}
