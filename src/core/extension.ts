/**
 * The hook through which a negotiated extension (RFC 6455 §9, e.g. permessage-deflate of
 * RFC 7692) plugs into the protocol core. An extension claims RSV bits; the core then accepts
 * those bits on the first frame of a data message instead of failing the connection, reports such
 * messages as `compressed` (untransformed, unvalidated) for the layer that owns the codec, and
 * lets that layer send messages with the bits set. This module only describes the contract: the
 * transform itself lives outside the core, because codecs such as zlib are asynchronous I/O-side work.
 */

/** A negotiated extension, as the protocol core sees it. */
export interface Extension {
  /** Registered extension name, e.g. `'permessage-deflate'`. */
  readonly name: string;
  /**
   * RSV bits of the first header byte this extension gives meaning to (0x40 = RSV1, 0x20 = RSV2,
   * 0x10 = RSV3). They are allowed on the first frame of a data message only; control frames and
   * continuation frames carrying them fail the connection (RFC 7692 §6.1).
   */
  readonly rsv: number;
}
