/**
 * permessage-deflate negotiation (RFC 7692 §5–§7), sans-I/O: the client's offer, the server's
 * choice among several offers, and the client's check of the answer, for every parameter
 * (`server_no_context_takeover`, `client_no_context_takeover`, `server_max_window_bits`,
 * `client_max_window_bits` with and without a value). Every value is validated here, before any
 * zlib object exists, so an out-of-range window size can never reach zlib. The result is a
 * core `Extension` claiming RSV1 plus the parameters the codec runs with; the codec itself
 * (zlib) is injected by the Node.js layer. This module does no compression.
 */
import { ErrorCode, type Extension, WebSocketError } from '../core/index.js';
import type { ExtensionNegotiator, NegotiatedExtension } from '../handshake/extension-negotiation.js';
import type { ExtensionOffer } from '../handshake/headers.js';

/** The registered extension name. */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** What one endpoint is willing to do; the same shape configures the client's offer and the server's answers. */
export interface PerMessageDeflateOptions {
  /** Server side: never keep the compression context between messages (saves memory). Client side: ask the server not to. Default false. */
  serverNoContextTakeover?: boolean;
  /** Client side: never keep the compression context between messages. Server side: ask the client not to. Default false. */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window (8–15 bits) the server may use to compress. Default 15. */
  serverMaxWindowBits?: number;
  /** Largest window (8–15 bits) the client may use to compress. Default 15. */
  clientMaxWindowBits?: number;
}

/** The agreed parameters, from one endpoint's point of view. */
export interface DeflateParameters {
  /** Window bits this endpoint compresses with (8–15). */
  readonly compressWindowBits: number;
  /** Window bits the peer compresses with, so this endpoint inflates with at least this (8–15). */
  readonly decompressWindowBits: number;
  /** Reset the compressor after each message. */
  readonly compressNoContextTakeover: boolean;
  /** The peer resets its compressor after each message, so the inflater may be reset too. */
  readonly decompressNoContextTakeover: boolean;
}

/** A negotiated permessage-deflate, as the protocol core and the codec see it. */
export interface PerMessageDeflateExtension extends Extension, DeflateParameters {
  readonly name: typeof PERMESSAGE_DEFLATE;
  readonly rsv: 0x40;
}

type Params = readonly (readonly [string, string | true])[];

/** Parsed and validated parameters of one offer or answer. */
interface ParsedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true` when present without a value (only legal in an offer). */
  clientMaxWindowBits: number | true | undefined;
}

/** A window-bits value: "a decimal integer value without leading zeros between 8 to 15, inclusive" (§7.1.2.1). */
function windowBits(value: string | true): number | undefined {
  if (value === true || value.length === 0 || value.length > 2 || value.startsWith('0')) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const bits = Number(value);
  return bits >= 8 && bits <= 15 ? bits : undefined;
}

/**
 * Parse parameters, rejecting what RFC 7692 §7 forbids: unknown parameters, invalid values and
 * "multiple extension parameters with the same name".
 */
function parseParams(params: Params, isOffer: boolean): ParsedParams | string {
  const seen = new Set<string>();
  const parsed: ParsedParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: undefined, clientMaxWindowBits: undefined };
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    if (seen.has(name)) return `duplicate parameter ${name}`;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // "This parameter has no value." (§7.1.1.1, §7.1.1.2)
        if (value !== true) return `${name} takes no value`;
        if (name === 'server_no_context_takeover') parsed.serverNoContextTakeover = true;
        else parsed.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = windowBits(value);
        if (bits === undefined) return `invalid server_max_window_bits ${String(value)}`;
        parsed.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        // In an offer the value may be absent (§7.1.2.2); in a response it is required.
        if (value === true && isOffer) {
          parsed.clientMaxWindowBits = true;
          break;
        }
        const bits = windowBits(value);
        if (bits === undefined) return `invalid client_max_window_bits ${String(value)}`;
        parsed.clientMaxWindowBits = bits;
        break;
      }
      default:
        return `unknown parameter ${name}`;
    }
  }
  return parsed;
}

function extensionOf(p: DeflateParameters): PerMessageDeflateExtension {
  return { name: PERMESSAGE_DEFLATE, rsv: 0x40, ...p };
}

/** The server's negotiator: picks the first acceptable offer (§5, §7.1). */
export class PerMessageDeflateServer implements ExtensionNegotiator<PerMessageDeflateExtension> {
  readonly name = PERMESSAGE_DEFLATE;
  private readonly options: Required<PerMessageDeflateOptions>;

  /**
   * @param options - what this server allows
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for window bits outside 8–15 or non-boolean flags (see {@link resolveDeflateOptions})
   */
  constructor(options: PerMessageDeflateOptions = {}) {
    this.options = resolveDeflateOptions(options);
  }

  /** Servers make no offers. */
  offer(): readonly ExtensionOffer[] {
    return [];
  }

  /** Servers do not confirm answers. */
  confirm(): WebSocketError {
    return extensionError('a server does not confirm extension answers');
  }

  /**
   * "A server MUST decline an extension negotiation offer for this extension if any of the
   * following conditions are met: the negotiation offer contains an extension parameter not
   * defined for use in an offer; ... an invalid value; ... multiple extension parameters with the
   * same name; the server doesn't support the offered configuration." (§7.1) Declined offers are
   * skipped; the next one is tried.
   */
  accept(offers: readonly ExtensionOffer[]): NegotiatedExtension<PerMessageDeflateExtension> | null {
    const o = this.options;
    for (const offer of offers) {
      const p = parseParams(offer.params, true);
      if (typeof p === 'string') continue;
      const response: [string, string | true][] = [];
      // Our compressor: the client may limit its window; we may also choose a smaller one.
      const serverBits = Math.min(o.serverMaxWindowBits, p.serverMaxWindowBits ?? 15);
      if (p.serverMaxWindowBits !== undefined || serverBits < 15) response.push(['server_max_window_bits', String(serverBits)]);
      const serverNoContext = o.serverNoContextTakeover || p.serverNoContextTakeover;
      if (serverNoContext) response.push(['server_no_context_takeover', true]);
      // The client's compressor: we may only limit its window when it said it can be limited.
      let clientBits = 15;
      if (o.clientMaxWindowBits < 15) {
        if (p.clientMaxWindowBits === undefined) continue; // it cannot honour our limit: decline this offer
        clientBits = p.clientMaxWindowBits === true ? o.clientMaxWindowBits : Math.min(p.clientMaxWindowBits, o.clientMaxWindowBits);
        response.push(['client_max_window_bits', String(clientBits)]);
      } else if (typeof p.clientMaxWindowBits === 'number') {
        clientBits = p.clientMaxWindowBits;
        response.push(['client_max_window_bits', String(clientBits)]);
      }
      const clientNoContext = o.clientNoContextTakeover || p.clientNoContextTakeover;
      if (clientNoContext) response.push(['client_no_context_takeover', true]);
      return {
        response: { name: PERMESSAGE_DEFLATE, params: response },
        extension: extensionOf({
          compressWindowBits: serverBits,
          decompressWindowBits: clientBits,
          compressNoContextTakeover: serverNoContext,
          decompressNoContextTakeover: clientNoContext,
        }),
      };
    }
    return null;
  }
}

/** The client's negotiator: builds the offer and checks the server's answer (§7.1). */
export class PerMessageDeflateClient implements ExtensionNegotiator<PerMessageDeflateExtension> {
  readonly name = PERMESSAGE_DEFLATE;
  private readonly options: Required<PerMessageDeflateOptions>;

  /**
   * @param options - what this client asks for
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for window bits outside 8–15 or non-boolean flags (see {@link resolveDeflateOptions})
   */
  constructor(options: PerMessageDeflateOptions = {}) {
    this.options = resolveDeflateOptions(options);
  }

  /** One offer: `client_max_window_bits` always (we can honour any limit), the rest as configured. */
  offer(): readonly ExtensionOffer[] {
    const o = this.options;
    const params: [string, string | true][] = [];
    if (o.serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
    if (o.clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
    if (o.serverMaxWindowBits < 15) params.push(['server_max_window_bits', String(o.serverMaxWindowBits)]);
    params.push(o.clientMaxWindowBits < 15 ? ['client_max_window_bits', String(o.clientMaxWindowBits)] : ['client_max_window_bits', true]);
    return [{ name: PERMESSAGE_DEFLATE, params }];
  }

  /** Servers only: clients make offers. */
  accept(): null {
    return null;
  }

  /**
   * "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension
   * negotiation offer for this extension with an extension negotiation response meeting any of the
   * following conditions: ... an extension parameter not defined for use in a response; ... an
   * invalid value; ... multiple extension parameters with the same name; ... a
   * client_max_window_bits extension parameter [when] the client didn't include [it] in the
   * offer" (§7.1), and the server may not exceed a `server_max_window_bits` we asked for.
   */
  confirm(response: ExtensionOffer): PerMessageDeflateExtension | WebSocketError {
    const o = this.options;
    const p = parseParams(response.params, false);
    if (typeof p === 'string') return extensionError(`permessage-deflate: ${p}`);
    const serverBits = p.serverMaxWindowBits ?? 15;
    if (serverBits > o.serverMaxWindowBits) return extensionError('permessage-deflate: server_max_window_bits above what was offered');
    if (o.serverNoContextTakeover && !p.serverNoContextTakeover) return extensionError('permessage-deflate: server_no_context_takeover missing from the answer');
    const clientBits = typeof p.clientMaxWindowBits === 'number' ? p.clientMaxWindowBits : o.clientMaxWindowBits;
    if (clientBits > o.clientMaxWindowBits) return extensionError('permessage-deflate: client_max_window_bits above what was offered');
    return extensionOf({
      compressWindowBits: clientBits,
      decompressWindowBits: serverBits,
      compressNoContextTakeover: o.clientNoContextTakeover || p.clientNoContextTakeover,
      decompressNoContextTakeover: p.serverNoContextTakeover,
    });
  }
}

/**
 * Validate and default permessage-deflate options.
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for window bits outside 8–15 or non-boolean flags
 */
export function resolveDeflateOptions(options: PerMessageDeflateOptions): Required<PerMessageDeflateOptions> {
  const bits = (value: number | undefined, name: string): number => {
    if (value === undefined) return 15;
    if (!Number.isInteger(value) || value < 8 || value > 15) throw new WebSocketError(ErrorCode.InvalidArgument, `${name} must be an integer from 8 to 15`);
    return value;
  };
  const flag = (value: boolean | undefined, name: string): boolean => {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') throw new WebSocketError(ErrorCode.InvalidArgument, `${name} must be a boolean`);
    return value;
  };
  return {
    serverNoContextTakeover: flag(options.serverNoContextTakeover, 'serverNoContextTakeover'),
    clientNoContextTakeover: flag(options.clientNoContextTakeover, 'clientNoContextTakeover'),
    serverMaxWindowBits: bits(options.serverMaxWindowBits, 'serverMaxWindowBits'),
    clientMaxWindowBits: bits(options.clientMaxWindowBits, 'clientMaxWindowBits'),
  };
}

/** A negotiation failure: a `WebSocketError` with the stable code `WS_ERR_INVALID_EXTENSION`. */
function extensionError(message: string): WebSocketError {
  return new WebSocketError(ErrorCode.InvalidExtension, message);
}
