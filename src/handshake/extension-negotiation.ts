/**
 * The interface through which extensions take part in the opening handshake (RFC 6455 §9): a
 * client-side negotiator produces offers and checks the server's answer; a server-side one picks
 * the first acceptable offer (RFC 7692 §5) and builds its answer. Either returns the core
 * `Extension` the protocol then runs with. Concrete extensions (permessage-deflate) live in
 * `src/extensions/`; this module only defines the contract.
 */
import type { Extension } from '../core/index.js';
import type { ExtensionOffer } from './headers.js';

/** A successful negotiation: what to put in the response header, and the extension to run. */
export interface NegotiatedExtension<E extends Extension = Extension> {
  /** The element of the server's `Sec-WebSocket-Extensions` response. */
  readonly response: ExtensionOffer;
  /** The extension as the protocol core runs it. */
  readonly extension: E;
}

/** One extension's part in the handshake, for one role. */
export interface ExtensionNegotiator<E extends Extension = Extension> {
  /** Registered name, e.g. `'permessage-deflate'`. */
  readonly name: string;
  /** Client: the offers to send, most preferred first. */
  offer(): readonly ExtensionOffer[];
  /**
   * Server: given every offer for this extension (in the client's order), accept the first
   * acceptable one, or return null to decline them all. Returning an `Error` fails the handshake
   * (400) for a malformed offer.
   */
  accept(offers: readonly ExtensionOffer[]): NegotiatedExtension<E> | null | Error;
  /** Client: check the server's response for this extension; an `Error` fails the connection. */
  confirm(response: ExtensionOffer): E | Error;
}
