/**
 * The sans-I/O WebSocket connection (RFC 6455 §5–§7) for either role. Bytes from the transport go
 * in through `receiveData`/`receiveEof`; decoded events come out of `eventsReceived`, and the bytes
 * to write (plus `SEND_EOF`, "half-close the transport now") out of `dataToSend`. Between them sits
 * the state machine OPEN → CLOSING → CLOSED, whose {@link Phase} says who closed: automatic pongs in a bounded queue,
 * the close handshake with an echoed code, failure with the right close code and discard of all
 * later input, the server closing TCP first and the client waiting for it (`closeExpected`). It
 * never throws out of `receiveData` or `receiveEof`; the `send*` methods throw only for misuse
 * (sending after close, an invalid close code): a driver asks {@link Protocol.canSend} first. A
 * protocol is made once the opening handshake is over (the handshake hands over a finished
 * result), so it starts OPEN. It has no sockets, timers or Node.js APIs.
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES, Opcode, Phase, Role, State } from './constants.js';
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_PAYLOAD } from './defaults.js';
import { type CloseInfo, encodeClosePayload, parseClosePayload } from './close-payload.js';
import { closeFrameFor, ErrorCode, WebSocketError } from './errors.js';
import type { Extension } from './extension.js';
import { FrameDecoder, type FrameDecoderOptions, type FrameSink } from './frame-decoder.js';
import { type Allocate, allocateZeroed, FrameEncoder, SLAB_PAYLOAD_LIMIT } from './frame-encoder.js';
import type { PreparedFrame } from './prepared-frame.js';
import { MaskKeyPool, type RandomFill, webCryptoRandomFill } from './mask.js';
import { type Message, MessageAssembler, type MessageAssemblerOptions } from './message-assembler.js';
import { booleanOption, integerOption, rejectUnknownKeys } from './options.js';

/** Marker in {@link Protocol.dataToSend} output: half-close the transport (TCP FIN) now. */
export const SEND_EOF: unique symbol = Symbol('rfc6455.SEND_EOF');
/** One item of {@link Protocol.dataToSend} output: bytes to write, or {@link SEND_EOF}. */
export type OutgoingChunk = Uint8Array | typeof SEND_EOF;

/** A ping frame arrived (the automatic pong, if enabled, is already queued). */
export interface PingEvent {
  readonly type: 'ping';
  readonly data: Uint8Array;
}
/** A pong frame arrived. */
export interface PongEvent {
  readonly type: 'pong';
  readonly data: Uint8Array;
}
/** A valid close frame arrived (the reply, if one was owed, is already queued). */
export interface CloseFrameEvent {
  readonly type: 'close';
  /** The peer's status code; 1005 when its close frame had none. */
  readonly code: number;
  readonly reason: string;
}
/** The peer broke the protocol; the connection is being failed with `error.closeCode`. */
export interface FailureEvent {
  readonly type: 'error';
  readonly error: WebSocketError;
}
/** The connection reached CLOSED (the transport is finished). Always the last event. */
export interface ClosedEvent {
  readonly type: 'closed';
  /** The peer's close code; 1005 if its close frame had none; 1006 if it sent no close frame. */
  readonly code: number;
  readonly reason: string;
  /** True when close frames went both ways before the transport closed. */
  readonly wasClean: boolean;
}
/** Everything {@link Protocol.eventsReceived} can report. */
export type ProtocolEvent = Message | PingEvent | PongEvent | CloseFrameEvent | FailureEvent | ClosedEvent;

/** The empty lists every connection points at until it has something (frozen: never appended to). */
const NO_OUTPUT: OutgoingChunk[] = Object.freeze([]) as unknown as OutgoingChunk[];
const NO_EVENTS: ProtocolEvent[] = Object.freeze([]) as unknown as ProtocolEvent[];
const settingsFor = new WeakMap<ProtocolOptions, ProtocolSettings>();

/** What a {@link Protocol} reads from its options: one frozen object per options object. */
interface ProtocolSettings {
  readonly role: Role;
  readonly autoPong: boolean;
  readonly fragmentSize: number;
  /** RSV bits the negotiated extensions give meaning to. */
  readonly extensionRsv: number;
  /** The decoder's settings, complete: every connection's decoder shares them. */
  readonly decoder: Required<FrameDecoderOptions>;
  readonly allocate: Allocate;
  readonly assembler: MessageAssemblerOptions;
  /** What it was resolved from (an options object changed later is resolved again). */
  readonly inputs: readonly unknown[];
}

/** The option values settings were resolved from, in OPTION_KEYS order. */
function inputsOf(options: ProtocolOptions): unknown[] {
  const values: unknown[] = [];
  for (const key of OPTION_KEYS) values.push((options as unknown as Record<string, unknown>)[key]);
  return values;
}

function sameInputs(settings: ProtocolSettings, options: ProtocolOptions): boolean {
  let i = 0;
  for (const key of OPTION_KEYS) if (settings.inputs[i++] !== (options as unknown as Record<string, unknown>)[key]) return false;
  return true;
}

/** Check `options` and resolve its defaults. */
function resolveSettings(options: ProtocolOptions): ProtocolSettings {
  if (options.role !== Role.Client && options.role !== Role.Server) {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'option "role" must be "client" or "server"');
  }
  const maxPayload = integerOption(options.maxPayload, 'maxPayload', DEFAULT_MAX_PAYLOAD, 0);
  const maxFrameSize = integerOption(options.maxFrameSize, 'maxFrameSize', maxPayload, 0);
  const maxFragments = integerOption(options.maxFragments, 'maxFragments', DEFAULT_MAX_FRAGMENTS, 1);
  const extensionRsv = rsvOf(options.extensions ?? []);
  const allocate = options.allocate ?? allocateZeroed;
  return Object.freeze({
    inputs: Object.freeze(inputsOf(options)),
    role: options.role,
    autoPong: booleanOption(options.autoPong, 'autoPong', true),
    fragmentSize: integerOption(options.fragmentSize, 'fragmentSize', 0, 0),
    extensionRsv,
    decoder: Object.freeze({ expectMasked: options.role === Role.Server, allowedRsv: extensionRsv, maxFrameSize }),
    allocate,
    assembler: Object.freeze({
      maxPayload,
      maxFragments,
      allocate,
      ...(options.isUtf8 === undefined ? {} : { isUtf8: options.isUtf8 }),
      ...(options.validateUtf8 === false ? { validateUtf8: false } : {}),
      messageRsv: extensionRsv,
    }),
  });
}
const serverEncoders = new WeakMap<Allocate, FrameEncoder>();

/** The shared unmasked encoder for `allocate`. */
function serverEncoderFor(allocate: Allocate): FrameEncoder {
  let encoder = serverEncoders.get(allocate);
  if (encoder === undefined) serverEncoders.set(allocate, (encoder = new FrameEncoder(null, allocate)));
  return encoder;
}

/** Settings of a {@link Protocol}. Every limit is checked when the protocol is made. */
export interface ProtocolOptions {
  /** `'client'` masks what it sends and rejects masked input; `'server'` the reverse. */
  readonly role: Role;
  /** Largest message payload accepted, in bytes (after reassembly). Default 100 MiB. */
  readonly maxPayload?: number;
  /** Largest single frame payload accepted, in bytes. Default: `maxPayload`. */
  readonly maxFrameSize?: number;
  /** Most frames one incoming message may have, empty ones included. Default 1,048,576. */
  readonly maxFragments?: number;
  /** Answer pings automatically. Default true. */
  readonly autoPong?: boolean;
  /** Split outgoing messages into frames of at most this many bytes; 0 sends each as one frame. Default 0. */
  readonly fragmentSize?: number;
  /** Negotiated extensions; their RSV bits become legal on the first frame of a message. Default none. */
  readonly extensions?: readonly Extension[];
  /** Random source for client masking keys. Default: Web Crypto `getRandomValues`. */
  readonly randomFill?: RandomFill;
  /** A masking key pool to share between client connections (instead of one pool each). Overrides `randomFill`. */
  readonly maskKeyPool?: MaskKeyPool;
  /** Buffer allocator for frames and reassembly. Default: zero-filled `Uint8Array`. */
  readonly allocate?: Allocate;
  /** Whole-buffer UTF-8 check for text that arrives in one piece (e.g. `buffer.isUtf8`). Default: the built-in validator. */
  readonly isUtf8?: (bytes: Uint8Array) => boolean;
  /** Check that incoming text is UTF-8 (RFC 6455 §8.1). Default true (ws's `skipUTF8Validation: true` is false here). */
  readonly validateUtf8?: boolean;
}


const OPTION_KEYS: ReadonlySet<string> = new Set([
  'role',
  'maxPayload',
  'maxFrameSize',
  'maxFragments',
  'autoPong',
  'fragmentSize',
  'extensions',
  'randomFill',
  'maskKeyPool',
  'allocate',
  'isUtf8',
  'validateUtf8',
]);

const EMPTY = new Uint8Array(0);
const checkedOptions = new WeakSet<object>();
/**
 * Automatic pongs that may wait in the output at once. A burst of pings (Autobahn 2.10 sends ten in
 * one write) gets one pong each; beyond this, the newest ping's pong replaces the last one queued,
 * so a ping flood cannot grow memory.
 */
export const MAX_PENDING_PONGS = 16;
const textEncoder = new TextEncoder();

// Bits of Protocol.bits.
/** A 'close', 'error' or 'closed' event has been handed to the driver. */
const END_DELIVERED = 1;
/** A message sent with `fin: false` is not finished. */
const SENDING_FRAGMENTED = 2;
/** The connection was failed (§7.1.7): it ends with our close frame, whatever the peer sends. */
const FAILING = 4;
const EOF_SENT = 8;
const EOF_RECEIVED = 16;
/** Input is discarded: a close frame arrived, the input broke a rule, or the connection failed. */
const INPUT_STOPPED = 32;
/** The connection state (0-3) sits in bits 6-7 of Protocol.bits. */
const STATE_SHIFT = 6;
const STATE_MASK = 3 << STATE_SHIFT;
/** The count of automatic pongs waiting in the output (0-16) sits in bits 8-12. */
const PONGS_SHIFT = 8;
const PONGS_MASK = 31 << PONGS_SHIFT;

/**
 * A close frame owed because of received data (a reply to the peer's close, or a failure),
 * applied with the state change and a server's EOF at the next `dataToSend()`: replies the
 * application makes to messages delivered before it still go out, and the close frame is still
 * the last frame. "An endpoint MAY delay sending a Close frame until its current message is
 * sent" (§5.5.1).
 */
interface OwedClose {
  readonly failure: boolean;
  readonly code: number;
  readonly reason: string;
}

/** The close frames of one connection's closing handshake. */
class ClosingRecord {
  /** The close frame this endpoint sent. */
  sent: CloseInfo | null = null;
  /** The close frame the peer sent. */
  received: CloseInfo | null = null;
  /** A close frame owed (see {@link OwedClose}). */
  owed: OwedClose | null = null;
}

/**
 * The decoder lent to whichever connection is receiving and between frames. Decoding is
 * synchronous, so one suffices; a connection that decodes while another holds it makes its own.
 */
let spareDecoder: FrameDecoder | null = null;

/** One WebSocket connection's protocol logic, for a client or a server. */
export class Protocol implements FrameSink {
  /** What the options say, resolved once per options object. */
  private readonly settings: ProtocolSettings;
  /**
   * The decoder, held only while a frame is unfinished at the end of the input so far (and during
   * `receiveData`); between frames it goes back to {@link spareDecoder}.
   */
  private decoder: FrameDecoder | null = null;
  /** Made on the first data frame: an idle connection holds no assembler. */
  private assemblerInstance: MessageAssembler | null = null;
  private readonly encoder: FrameEncoder;

  /** Decoded events not yet taken (the shared empty list until the first one: an idle connection holds none). */
  private events: ProtocolEvent[] = NO_EVENTS;
  /** Index of the next event {@link Protocol.nextEvent} hands out. */
  private eventIndex = 0;
  /**
   * END_DELIVERED, SENDING_FRAGMENTED, FAILING, EOF_SENT, EOF_RECEIVED, INPUT_STOPPED, the state
   * and the count of pending pongs: one small integer, not eight fields.
   */
  private bits = State.Open << STATE_SHIFT;
  /** Chunks to write (the shared empty list while there are none). */
  private output: OutgoingChunk[] = NO_OUTPUT;
  /** Index in `output` of the last automatic pong queued. */
  private lastPongIndex = -1;
  /** The closing handshake's close frames: made when the first is sent, received or owed (an open connection holds none). */
  private closing: ClosingRecord | null = null;

  /**
   * @param options - role, limits and hooks
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for an unknown option or an out-of-range limit
   */
  constructor(options: ProtocolOptions) {
    // An options object shared by many connections is checked for unknown keys once.
    if (!checkedOptions.has(options)) {
      rejectUnknownKeys(options, OPTION_KEYS, 'Protocol');
      checkedOptions.add(options);
    }
    let settings = settingsFor.get(options);
    // An options object changed since its settings were resolved is resolved again.
    if (settings === undefined || !sameInputs(settings, options)) {
      settings = resolveSettings(options);
      // Connections sharing one options object share the resolved settings too.
      settingsFor.set(options, settings);
    }
    this.settings = settings;
    const allocate = settings.allocate;
    // A server's encoder holds no state but its allocator: one is shared by every server connection.
    this.encoder =
      settings.role === Role.Client ? new FrameEncoder(options.maskKeyPool ?? new MaskKeyPool(options.randomFill ?? webCryptoRandomFill), allocate) : serverEncoderFor(allocate);
  }

  /** This endpoint's role. */
  get role(): Role {
    return this.settings.role;
  }

  /** The output list to append to (made on the first chunk after the last `dataToSend`). */
  private get out(): OutgoingChunk[] {
    this.closeSlabRun();
    return this.output === NO_OUTPUT ? (this.output = []) : this.output;
  }

  /** Small frames appended to the shared encoder's slab go before anything queued after them. */
  private closeSlabRun(): void {
    if (this.encoder.openRunOwner === this) this.encoder.closeRun();
  }

  /** @internal SlabRunOwner: this connection's run of small frames, as one chunk. */
  slabRunClosed(run: Uint8Array): void {
    (this.output === NO_OUTPUT ? (this.output = []) : this.output).push(run);
  }

  /** The event list to append to (made on the first event after the last take). */
  private get pendingEvents(): ProtocolEvent[] {
    return this.events === NO_EVENTS ? (this.events = []) : this.events;
  }

  /** Current state: `State.Open`, `Closing` or `Closed`. */
  get state(): State {
    return this.currentState;
  }

  private get currentState(): State {
    return ((this.bits & STATE_MASK) >> STATE_SHIFT) as State;
  }
  private set currentState(state: State) {
    this.bits = (this.bits & ~STATE_MASK) | (state << STATE_SHIFT);
  }
  /** Automatic pongs queued in `output` since it was last drained (at most MAX_PENDING_PONGS). */
  private get pendingPongs(): number {
    return (this.bits & PONGS_MASK) >> PONGS_SHIFT;
  }
  private set pendingPongs(count: number) {
    this.bits = (this.bits & ~PONGS_MASK) | (count << PONGS_SHIFT);
  }
  private get sentClose(): CloseInfo | null {
    return this.closing === null ? null : this.closing.sent;
  }
  private set sentClose(info: CloseInfo | null) {
    (this.closing ??= new ClosingRecord()).sent = info;
  }
  private get receivedClose(): CloseInfo | null {
    return this.closing === null ? null : this.closing.received;
  }
  private set receivedClose(info: CloseInfo | null) {
    (this.closing ??= new ClosingRecord()).received = info;
  }
  private get pendingClose(): OwedClose | null {
    return this.closing === null ? null : this.closing.owed;
  }
  private set pendingClose(owed: OwedClose | null) {
    if (owed !== null || this.closing !== null) (this.closing ??= new ClosingRecord()).owed = owed;
  }

  /**
   * Who closed, derived from the close frames and the transport (tungstenite's states): the one
   * source of truth a driver reads instead of keeping its own.
   */
  get phase(): Phase {
    if (this.currentState === State.Closed) return Phase.Closed;
    if ((this.bits & FAILING) !== 0) return Phase.Failed;
    if (this.sentClose !== null) return this.receivedClose !== null ? Phase.CloseAcknowledged : Phase.ClosedByUs;
    if (this.receivedClose !== null) return Phase.ClosedByPeer;
    return Phase.Open;
  }

  /**
   * Whether a data or control frame may be queued now: no close frame sent and the transport not
   * finished. The `send*` methods throw exactly when this is false.
   */
  get canSend(): boolean {
    return this.sentClose === null && this.currentState !== State.Closed;
  }

  /**
   * Whether the input is in the middle of something: a frame whose header or payload is
   * incomplete, or a fragmented message without its final frame. A driver times out input that
   * stays like this without progress (a peer holding memory with a message it never finishes).
   */
  get inputPending(): boolean {
    if (this.currentState === State.Closed || this.receivedClose !== null || (this.bits & FAILING) !== 0) return false;
    return this.decoder !== null || this.assemblerInstance?.inMessage === true;
  }

  /** Whether an outgoing message was started with `fin = false` and awaits its continuation. */
  get sendingFragment(): boolean {
    return (this.bits & SENDING_FRAGMENTED) !== 0;
  }

  /**
   * True once {@link Protocol.nextEvent} (or {@link Protocol.eventsReceived}) has handed out a
   * 'close', 'error' or 'closed' event: from the application's point of view the connection is
   * no longer open, even while a reply to the peer's close is still owed.
   */
  get endReported(): boolean {
    return (this.bits & END_DELIVERED) !== 0;
  }

  /** The close frame this endpoint sent (code 1005 if it had none), or null. */
  get closeSent(): CloseInfo | null {
    return this.sentClose;
  }

  /** The close frame the peer sent (code 1005 if it had none), or null. */
  get closeReceived(): CloseInfo | null {
    return this.receivedClose;
  }

  /** Bytes of memory held by a partially received message (for monitoring and tests). */
  get bufferedMessageBytes(): number {
    return this.assemblerInstance?.retainedBytes ?? 0;
  }

  /**
   * Feed bytes received from the transport. The protocol takes ownership of `chunk`: it unmasks
   * payloads in place and message events may hold views of it. Never throws.
   *
   * A protocol error in the input is reported as an `error` event and stops all further decoding
   * at once; the failure itself (close frame, state CLOSING, a server's EOF) is applied by the next
   * {@link Protocol.dataToSend}, so replies to messages that arrived before the bad frame in the
   * same chunk can still be sent ahead of the close frame.
   */
  receiveData(chunk: Uint8Array): void {
    if ((this.bits & (EOF_RECEIVED | INPUT_STOPPED)) !== 0 || this.currentState === State.Closed) return;
    let decoder = this.decoder;
    if (decoder === null) {
      // Between frames a connection's decoder holds nothing of its stream: borrow the spare one.
      decoder = spareDecoder;
      if (decoder === null) decoder = new FrameDecoder(this, this.settings.decoder);
      else {
        spareDecoder = null;
        decoder.rebind(this, this.settings.decoder);
      }
      this.decoder = decoder;
    }
    try {
      decoder.push(chunk);
    } catch (error) {
      // Nothing in the decoder throws by design; an exhausted allocator still must not escape.
      this.failWith(new WebSocketError(ErrorCode.InternalError, `internal error: ${String(error)}`));
    }
    // Halted, or between frames: nothing to keep. A frame cut off by the end of the chunk keeps it.
    if (!decoder.midFrame) {
      this.decoder = null;
      if (spareDecoder === null) {
        decoder.detach();
        spareDecoder = decoder;
      }
    }
  }

  /** Discard all further input, and the message being assembled. */
  private stopInput(): void {
    this.bits |= INPUT_STOPPED;
    // A decoder kept for a cut-off frame is halted and let go (inside receiveData, the decoder
    // being pushed is handed back as usual when push returns).
    this.decoder?.halt();
    this.decoder = null;
    this.assemblerInstance?.reset();
  }

  /** The transport's read side ended (the peer sent FIN, or the transport is gone). Never throws. */
  receiveEof(): void {
    if ((this.bits & EOF_RECEIVED) !== 0) return;
    this.bits |= EOF_RECEIVED;
    if (this.currentState === State.Closed) return;
    this.stopInput();
    this.applyPendingClose();
    this.sendEof();
    this.setClosed();
  }

  /**
   * Queue a text message (or its first fragment when `fin` is false).
   *
   * @param data - a string (encoded as UTF-8) or UTF-8 bytes, which are not validated here
   * @param fin - false to start a fragmented message continued with {@link Protocol.sendContinuation}
   * @param rsv - RSV bits of a negotiated extension to set on the first frame (e.g. 0x40 for a compressed message)
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` after a close frame was sent or while another message is being fragmented
   */
  sendText(data: Uint8Array | string, fin = true, rsv = 0): void {
    this.sendData(Opcode.Text, typeof data === 'string' ? textEncoder.encode(data) : data, fin, rsv);
  }

  /**
   * Queue a binary message (or its first fragment when `fin` is false).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` after a close frame was sent or while another message is being fragmented
   */
  sendBinary(data: Uint8Array, fin = true, rsv = 0): void {
    this.sendData(Opcode.Binary, data, fin, rsv);
  }

  /**
   * Queue the next fragment of the message started with `fin = false`.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` when no fragmented message is in progress
   */
  sendContinuation(data: Uint8Array, fin = true): void {
    this.sendData(Opcode.Continuation, data, fin, 0);
  }

  /**
   * Queue a prepared frame (a whole message encoded once for many connections; server role only,
   * since its bytes are unmasked). The frame's bytes are queued as they are, never copied.
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` for a client, after a close frame was sent or while a fragmented message is being sent; `WS_ERR_INVALID_ARGUMENT` for RSV bits no negotiated extension claims
   */
  sendPrepared(frame: PreparedFrame): void {
    this.assertCanSend();
    // "A client MUST mask all frames that it sends to the server" (§5.1): prepared frames are unmasked.
    if (this.settings.role !== Role.Server) throw new WebSocketError(ErrorCode.InvalidState, 'prepared frames are for servers');
    // A message's frames are not interleaved with another message's (§5.4).
    if ((this.bits & SENDING_FRAGMENTED) !== 0) throw new WebSocketError(ErrorCode.InvalidState, 'a fragmented message is still being sent');
    if ((frame.rsv & ~this.settings.extensionRsv) !== 0) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'RSV bits not claimed by a negotiated extension');
    }
    for (const chunk of frame.chunks) this.out.push(chunk);
  }

  /**
   * Queue a ping (payload at most 125 bytes).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` after a close frame was sent; `WS_ERR_INVALID_ARGUMENT` for a payload over 125 bytes
   */
  sendPing(data: Uint8Array = EMPTY): void {
    this.sendControl(Opcode.Ping, data);
  }

  /**
   * Queue an unsolicited pong, e.g. as a unidirectional heartbeat (§5.5.3).
   *
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` after a close frame was sent; `WS_ERR_INVALID_ARGUMENT` for a payload over 125 bytes
   */
  sendPong(data: Uint8Array = EMPTY): void {
    this.sendControl(Opcode.Pong, data);
  }

  /**
   * Start the closing handshake: queue a close frame. Incoming messages are still delivered until
   * the peer's close frame arrives.
   *
   * @param code - status code; omit for a close frame without one
   * @param reason - UTF-8 reason of at most 123 bytes (needs a code)
   * @throws {WebSocketError} `WS_ERR_INVALID_STATE` unless OPEN; `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent or a reason too long
   */
  sendClose(code?: number, reason: string | Uint8Array = ''): void {
    if (this.currentState !== State.Open) {
      throw new WebSocketError(ErrorCode.InvalidState, 'close frame can only be sent while open');
    }
    const payload = encodeClosePayload(code, reason);
    this.queueClose(payload);
    this.currentState = State.Closing;
  }

  /**
   * Fail the connection (§7.1.7): send a close frame with `code` unless one was sent already,
   * discard all further input, and for a server close the transport at once.
   *
   * @param code - close status code to send
   * @param reason - short reason (truncated to 123 bytes of UTF-8)
   * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a code that may not be sent
   */
  fail(code: number = CloseCode.InternalError, reason = ''): void {
    if (this.currentState === State.Closed) return;
    const payload = encodeClosePayload(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
    this.pendingClose = null;
    this.bits |= FAILING;
    this.stopInput();
    if (this.sentClose === null) this.queueClose(payload);
    this.currentState = State.Closing;
    // "the server MUST close the underlying TCP connection immediately" when it fails (§7.1.7 via §7.1.1).
    if (this.settings.role === Role.Server) this.sendEof();
  }

  /** Take every event decoded and not yet taken, oldest first. */
  eventsReceived(): ProtocolEvent[] {
    const events = this.eventIndex === 0 ? this.events : this.events.slice(this.eventIndex);
    this.events = NO_EVENTS;
    this.eventIndex = 0;
    for (const event of events) if (event.type === 'close' || event.type === 'error' || event.type === 'closed') this.bits |= END_DELIVERED;
    return events;
  }

  /**
   * Take the next decoded event, or undefined when there is none. A driver that must stop between
   * events (to inflate a compressed message, say) leaves the rest here, in order.
   */
  nextEvent(): ProtocolEvent | undefined {
    const events = this.events;
    if (this.eventIndex === events.length) return undefined;
    const event = events[this.eventIndex++]!;
    if (this.eventIndex === events.length) {
      events.length = 0;
      this.eventIndex = 0;
    }
    if (event.type === 'close' || event.type === 'error' || event.type === 'closed') this.bits |= END_DELIVERED;
    return event;
  }

  /**
   * Take the bytes to write to the transport, in order; {@link SEND_EOF} means "half-close now"
   * and is always last.
   *
   * @param holdClose - true while the driver still has messages to send that were accepted
   *   before the peer's close (or a failure) arrived, or events to deliver whose replies must go
   *   first: an owed close frame then stays owed. "An endpoint MAY delay sending a Close frame
   *   until its current message is sent" (§5.5.1).
   */
  dataToSend(holdClose = false): OutgoingChunk[] {
    if (!holdClose) this.applyPendingClose();
    this.closeSlabRun();
    const output = this.output;
    if (output.length === 0) return output;
    this.output = NO_OUTPUT;
    this.pendingPongs = 0;
    this.lastPongIndex = -1;
    return output;
  }

  /**
   * Whether the connection is expected to end soon: the I/O layer should arm its close timer and,
   * when it fires, destroy the transport and call {@link Protocol.receiveEof}. True while CLOSING.
   */
  closeExpected(): boolean {
    return this.currentState === State.Closing;
  }

  // -- receiving --------------------------------------------------------------------------------

  /** @internal Called by the decoder. */
  frameStart(opcode: number, fin: boolean, rsv: number, length: number): void {
    const error = (this.assemblerInstance ??= new MessageAssembler(this.settings.assembler)).frameStart(opcode, fin, rsv, length);
    if (error !== null) this.failWith(error);
  }

  /** @internal Called by the decoder. */
  framePayload(chunk: Uint8Array): void {
    const error = this.assemblerInstance!.framePayload(chunk);
    if (error !== null) this.failWith(error);
  }

  /** @internal Called by the decoder: a one-frame message is unmasked straight into its buffer. */
  frameBuffer(rest: number): Uint8Array | null {
    return this.assemblerInstance!.frameBuffer(rest);
  }

  /** @internal Called by the decoder. */
  frameEnd(): void {
    const result = this.assemblerInstance!.frameEnd();
    if (result === null) return;
    // A message has a type; an error has none (cheaper than instanceof on every message).
    if ((result as { type?: unknown }).type === 'message') this.pendingEvents.push(result as Message);
    else this.failWith(result as WebSocketError);
  }

  /** @internal Called by the decoder: the input broke a frame-level rule. */
  frameError(error: WebSocketError): void {
    this.failWith(error);
  }

  /** @internal Called by the decoder. */
  controlFrame(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      this.pendingEvents.push({ type: 'ping', data: payload });
      // "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it
      // already received a Close frame." (§5.5.2) Nothing may follow our own close frame either.
      if (this.settings.autoPong && this.sentClose === null) this.queuePong(payload);
    } else if (opcode === Opcode.Pong) {
      this.pendingEvents.push({ type: 'pong', data: payload });
    } else {
      this.onCloseFrame(payload);
    }
  }

  private onCloseFrame(payload: Uint8Array): void {
    const parsed = parseClosePayload(payload);
    if (parsed instanceof WebSocketError) {
      this.failWith(parsed);
      return;
    }
    this.receivedClose = parsed;
    this.pendingEvents.push({ type: 'close', code: parsed.code, reason: parsed.reason });
    // After a close frame, the peer "MUST NOT send any more data frames" (§5.5.1): discard the rest.
    this.stopInput();
    if (this.sentClose === null) {
      // "If an endpoint receives a Close frame and did not previously send a Close frame, the
      // endpoint MUST send a Close frame in response. ... the endpoint typically echos the status
      // code it received." (§5.5.1) Queued by the next dataToSend(); the reason goes back too, as
      // ws and browsers send it.
      this.pendingClose = { failure: false, code: parsed.code, reason: parsed.reason };
    } else {
      this.closeHandshakeDone();
    }
  }

  /** Both close frames are out or in: "the server MUST close the underlying TCP connection
   * immediately; the client SHOULD wait for the server to close the connection" (§7.1.1). */
  private closeHandshakeDone(): void {
    this.currentState = State.Closing;
    if (this.settings.role === Role.Server) this.sendEof();
  }

  /**
   * Fail the connection for an error a driver found in a message it already took (invalid
   * compressed data, say): events decoded after that message are discarded (except the end of
   * the connection, which is still reported), then as {@link Protocol.failWith}. Never throws.
   */
  failMessage(error: WebSocketError): void {
    const rest: ProtocolEvent[] = [];
    for (let i = this.eventIndex; i < this.events.length; i++) if (this.events[i]!.type === 'closed') rest.push(this.events[i]!);
    this.events = rest;
    this.eventIndex = 0;
    this.failWith(error);
  }

  /**
   * Fail the connection for an error in the input, or one a driver found in it (invalid
   * compressed data, say): report it as an 'error' event, stop decoding, and owe the close frame
   * the error ladder ({@link closeFrameFor}) picks. Never throws.
   */
  failWith(error: WebSocketError): void {
    this.stopInput();
    if (this.currentState === State.Closed || (this.bits & FAILING) !== 0 || this.pendingClose?.failure === true) return;
    this.pendingEvents.push({ type: 'error', error });
    // "the endpoint MUST NOT continue to attempt to process data (including a responding Close
    // frame) from the remote endpoint after being instructed to _Fail the WebSocket Connection_" (§7.1.7)
    const frame = closeFrameFor(error);
    this.pendingClose = { failure: true, code: frame.code, reason: frame.reason };
  }

  private applyPendingClose(): void {
    const pending = this.pendingClose;
    if (pending === null) return;
    this.pendingClose = null;
    if (pending.failure) {
      this.fail(pending.code, pending.reason);
      return;
    }
    if (this.sentClose === null) {
      this.queueClose(pending.code === CloseCode.NoStatusReceived ? EMPTY : encodeClosePayload(pending.code, pending.reason));
    }
    this.closeHandshakeDone();
  }

  // -- sending ----------------------------------------------------------------------------------

  private assertCanSend(): void {
    if (this.sentClose !== null || this.currentState === State.Closed) {
      // "After sending a Close frame, the endpoint MUST NOT send any further data frames." (§5.5.1)
      throw new WebSocketError(ErrorCode.InvalidState, 'cannot send after the close frame');
    }
  }

  private sendData(opcode: number, data: Uint8Array, fin: boolean, rsv: number): void {
    this.assertCanSend();
    if (opcode === Opcode.Continuation) {
      if ((this.bits & SENDING_FRAGMENTED) === 0) {
        throw new WebSocketError(ErrorCode.InvalidState, 'no fragmented message to continue');
      }
    } else if ((this.bits & SENDING_FRAGMENTED) !== 0) {
      throw new WebSocketError(ErrorCode.InvalidState, 'a fragmented message is still being sent');
    }
    if ((rsv & ~this.settings.extensionRsv) !== 0) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'RSV bits not claimed by a negotiated extension');
    }
    const limit = this.settings.fragmentSize;
    if (limit === 0 || data.length <= limit) {
      // A small server frame is copied into the encoder's slab: a read that brings 32 messages
      // is answered with one contiguous run and no header buffer per frame.
      if (data.length <= SLAB_PAYLOAD_LIMIT && this.encoder.appendsSmall) this.encoder.appendSmall(this, opcode, data, fin, rsv);
      else this.encoder.encode(opcode, data, fin, rsv, this.out);
    } else {
      let offset = 0;
      let frameOpcode = opcode;
      let frameRsv = rsv;
      while (offset < data.length) {
        const end = Math.min(offset + limit, data.length);
        this.encoder.encode(frameOpcode, data.subarray(offset, end), fin && end === data.length, frameRsv, this.out);
        offset = end;
        frameOpcode = Opcode.Continuation;
        frameRsv = 0;
      }
    }
    this.bits = fin ? this.bits & ~SENDING_FRAGMENTED : this.bits | SENDING_FRAGMENTED;
  }

  private sendControl(opcode: number, data: Uint8Array): void {
    this.assertCanSend();
    if (data.length > 125) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'control frame payload longer than 125 bytes');
    }
    this.encoder.encode(opcode, data, true, 0, this.out);
  }

  private queuePong(payload: Uint8Array): void {
    // "If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in response to
    // previous Ping frame(s), the endpoint MAY elect to send a Pong frame for only the most
    // recently processed Ping frame." (§5.5.3) Bounded: a ping flood cannot grow memory.
    const frame = this.encoder.encodeWhole(Opcode.Pong, payload);
    if (this.pendingPongs < MAX_PENDING_PONGS) {
      this.pendingPongs++;
      this.lastPongIndex = this.out.length;
      this.out.push(frame);
    } else {
      this.output[this.lastPongIndex] = frame;
    }
  }

  private queueClose(payload: Uint8Array): void {
    const code = payload.length === 0 ? CloseCode.NoStatusReceived : (payload[0]! << 8) | payload[1]!;
    this.sentClose = { code, reason: payload.length > 2 ? new TextDecoder().decode(payload.subarray(2)) : '' };
    this.encoder.encode(Opcode.Close, payload, true, 0, this.out);
  }

  private sendEof(): void {
    if ((this.bits & EOF_SENT) !== 0) return;
    this.bits |= EOF_SENT;
    this.out.push(SEND_EOF);
  }

  private setClosed(): void {
    this.currentState = State.Closed;
    const received = this.receivedClose;
    this.pendingEvents.push({
      type: 'closed',
      code: received === null ? CloseCode.AbnormalClosure : received.code,
      reason: received === null ? '' : received.reason,
      wasClean: received !== null && this.sentClose !== null,
    });
  }
}

function rsvOf(extensions: readonly Extension[]): number {
  let bits = 0;
  for (const extension of extensions) bits |= extension.rsv & 0x70;
  return bits;
}

/** Cut a string so its UTF-8 encoding fits in `maxBytes`, never inside a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = textEncoder.encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
