/**
 * The `perMessageDeflate` option of servers and clients: `true`, `false` or an object with the
 * negotiation parameters (RFC 7692) and the codec's tuning (threshold, zlib level and memory
 * level, process-wide concurrency). Validated once into a shared, frozen configuration.
 */
import { argumentError, DEFAULT_DEFLATE_LEVEL, DEFAULT_DEFLATE_MEM_LEVEL, DEFAULT_DEFLATE_THRESHOLD } from '../../core/index.js';
import { booleanOption, integerOption, rejectUnknownKeys } from '../../core/options.js';
import { type PerMessageDeflateOptions, resolveDeflateOptions } from '../../extensions/index.js';
import { setZlibConcurrency } from './zlib-engine.js';

/** zlib settings in ws's `perMessageDeflate.zlibDeflateOptions` form; `level` and `memLevel` are used, the rest accepted. */
export interface ZlibDeflateOptions {
  level?: number;
  memLevel?: number;
  chunkSize?: number;
  strategy?: number;
  windowBits?: number;
  [key: string]: unknown;
}

/** permessage-deflate settings (this library's names, and ws's). */
export interface PerMessageDeflateConfig extends Omit<PerMessageDeflateOptions, 'clientMaxWindowBits'> {
  /** Largest window (8–15 bits) the client may use to compress; `true` (ws's form) offers or accepts the parameter without a value. Default 15. */
  clientMaxWindowBits?: number | boolean;
  /** ws's form of `level` and `memLevel` (they win when both are given); other zlib settings are accepted and not used. */
  zlibDeflateOptions?: ZlibDeflateOptions;
  /** ws's option; accepted, not used (the inflater's settings follow the negotiation and `maxPayload`). */
  zlibInflateOptions?: Record<string, unknown>;
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

const KEYS = new Set([
  'serverNoContextTakeover',
  'clientNoContextTakeover',
  'serverMaxWindowBits',
  'clientMaxWindowBits',
  'threshold',
  'level',
  'memLevel',
  'concurrencyLimit',
  'zlibDeflateOptions',
  'zlibInflateOptions',
]);

function objectOption(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) throw argumentError('TypeError', `option "perMessageDeflate.${name}" must be an object`);
  return value as Record<string, unknown>;
}

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
  const zlib = objectOption(config.zlibDeflateOptions, 'zlibDeflateOptions');
  objectOption(config.zlibInflateOptions, 'zlibInflateOptions');
  // ws's `clientMaxWindowBits: true` (and `false`) is the default offer: the parameter without a value.
  const { zlibDeflateOptions: _d, zlibInflateOptions: _i, clientMaxWindowBits, ...rest } = config;
  const negotiable: PerMessageDeflateOptions = typeof clientMaxWindowBits === 'boolean' ? rest : { ...rest, ...(clientMaxWindowBits === undefined ? {} : { clientMaxWindowBits }) };
  let negotiation: Required<PerMessageDeflateOptions>;
  try {
    negotiation = resolveDeflateOptions(pickNegotiation(negotiable));
  } catch (error) {
    throw argumentError('RangeError', `perMessageDeflate: ${(error as Error).message}`);
  }
  const resolved: ResolvedDeflateConfig = Object.freeze({
    negotiation,
    threshold: integerOption(config.threshold, 'threshold', DEFAULT_DEFLATE_THRESHOLD, 0),
    level: integerOption(zlib.level ?? config.level, 'level', DEFAULT_DEFLATE_LEVEL, -1, 9),
    memLevel: integerOption(zlib.memLevel ?? config.memLevel, 'memLevel', DEFAULT_DEFLATE_MEM_LEVEL, 1, 9),
  });
  if (config.concurrencyLimit !== undefined) setZlibConcurrency(integerOption(config.concurrencyLimit, 'concurrencyLimit', 1, 1));
  return resolved;
}

/** The negotiation parameters of a configuration (the codec's tuning keys left out). */
function pickNegotiation(config: PerMessageDeflateOptions): PerMessageDeflateOptions {
  const out: PerMessageDeflateOptions = {};
  if (config.serverNoContextTakeover !== undefined) out.serverNoContextTakeover = config.serverNoContextTakeover;
  if (config.clientNoContextTakeover !== undefined) out.clientNoContextTakeover = config.clientNoContextTakeover;
  if (config.serverMaxWindowBits !== undefined) out.serverMaxWindowBits = config.serverMaxWindowBits;
  if (config.clientMaxWindowBits !== undefined) out.clientMaxWindowBits = config.clientMaxWindowBits;
  return out;
}
