/**
 * `rfc6455/whatwg`: the WebSocket interface of the WHATWG WebSockets standard, as browsers and
 * undici have it, over this library's Node.js client: an `EventTarget` firing `open`, `message`
 * (`MessageEvent`, `data` a string, `Blob` or `ArrayBuffer` per `binaryType`, `'blob'` by default),
 * `error` (a plain `Event`, as the standard says) and `close` (`CloseEvent`), the `on…` event
 * handler attributes, `readyState`, `bufferedAmount`, `protocol`, `extensions`, `url`, and the
 * standard's argument checks, thrown as `DOMException`s: the URL ("SyntaxError"), the subprotocols
 * ("SyntaxError"), `close(code, reason)` ("InvalidAccessError" for a code other than 1000 or
 * 3000–4999, "SyntaxError" for a reason over 123 bytes) and `send()` while connecting
 * ("InvalidStateError"). Its state is the Node client's: it keeps only its event handlers, and
 * nothing a peer sends can throw out of it.
 */
import { WebSocket as NodeWebSocket, type RawData } from '../node/index.js';
// A pure helper, bundled into this entry (it holds no state).
import { defineReadyStates } from '../node/ready-state.js';

/** `CloseEvent` init dictionary. */
export interface CloseEventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/** The `close` event (Node 20 has no global `CloseEvent`). */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;
  /** @param type - event type @param init - `wasClean`, `code`, `reason` */
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = init.wasClean ?? false;
    this.#code = init.code ?? 0;
    this.#reason = init.reason ?? '';
  }
  /** Whether the connection closed cleanly. */
  get wasClean(): boolean {
    return this.#wasClean;
  }
  /** The close code. */
  get code(): number {
    return this.#code;
  }
  /** The close reason. */
  get reason(): string {
    return this.#reason;
  }
}

/** The `message` event: Node's global `MessageEvent`. */
export const MessageEvent: typeof globalThis.MessageEvent = globalThis.MessageEvent;
/** The `message` event type. */
export type MessageEvent = globalThis.MessageEvent;

type Handler<E extends Event = Event> = ((this: WebSocket, event: E) => unknown) | null;
const EVENT_TYPES = ['open', 'message', 'error', 'close'] as const;
type EventType = (typeof EVENT_TYPES)[number];

/** The WHATWG WebSocket. */
export class WebSocket extends EventTarget {
  /** readyState: connecting. */
  static readonly CONNECTING = 0;
  /** readyState: open. */
  static readonly OPEN = 1;
  /** readyState: closing. */
  static readonly CLOSING = 2;
  /** readyState: closed. */
  static readonly CLOSED = 3;
  /** readyState: connecting. */
  declare readonly CONNECTING: 0;
  /** readyState: open. */
  declare readonly OPEN: 1;
  /** readyState: closing. */
  declare readonly CLOSING: 2;
  /** readyState: closed. */
  declare readonly CLOSED: 3;

  readonly #ws: NodeWebSocket;
  readonly #handlers: Partial<Record<EventType, Handler>> = {};
  /** Bytes given to send() once closing or closed: counted in bufferedAmount, never sent (the standard's rule). */
  #discarded = 0;

  /**
   * @param url - a `ws:`, `wss:`, `http:` or `https:` URL (the last two mean `ws:` and `wss:`)
   * @param protocols - subprotocols to offer
   * @throws {DOMException} "SyntaxError" for an invalid URL, scheme, fragment or subprotocol list
   */
  constructor(url: string | URL, protocols: string | readonly string[] = []) {
    super();
    // WebIDL: a required argument that is missing is a TypeError.
    if (arguments.length === 0) throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
    // "Let urlRecord be the result of applying the URL parser to url with baseURL. If urlRecord is
    // failure, then throw a "SyntaxError" DOMException."
    let record: URL;
    try {
      record = new URL(String(url));
    } catch {
      throw new DOMException(`invalid URL: ${String(url)}`, 'SyntaxError');
    }
    // "If urlRecord's scheme is "http", then set urlRecord's scheme to "ws". Otherwise, if
    // urlRecord's scheme is "https", set urlRecord's scheme to "wss". If urlRecord's scheme is not
    // "ws" or "wss", then throw a "SyntaxError" DOMException."
    if (record.protocol === 'http:') record = new URL(`ws:${record.href.slice(5)}`);
    else if (record.protocol === 'https:') record = new URL(`wss:${record.href.slice(6)}`);
    if (record.protocol !== 'ws:' && record.protocol !== 'wss:') throw new DOMException(`URL scheme must be ws: or wss:, got ${record.protocol}`, 'SyntaxError');
    // "If urlRecord's fragment is non-null, then throw a "SyntaxError" DOMException."
    if (record.hash !== '' || record.href.includes('#')) throw new DOMException('URL must not have a fragment', 'SyntaxError');
    const list = typeof protocols === 'string' ? [protocols] : [...protocols];
    // "If any of the values in protocols occur more than once or otherwise fail to match the
    // requirements for elements that comprise the value of `Sec-WebSocket-Protocol` fields as
    // defined by The WebSocket protocol, then throw a "SyntaxError" DOMException."
    const seen = new Set<string>();
    for (const protocol of list) {
      // Repeats are found case-insensitively (web-platform-tests: Create-protocols-repeated-case-insensitive).
      if (typeof protocol !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(protocol) || seen.has(protocol.toLowerCase())) {
        throw new DOMException('an invalid or duplicated subprotocol was specified', 'SyntaxError');
      }
      seen.add(protocol.toLowerCase());
    }
    const ws = new NodeWebSocket(record.href, list);
    this.#ws = ws;
    ws.binaryType = 'blob';
    ws.on('open', () => this.dispatchEvent(new Event('open')));
    ws.on('message', (data: RawData | Blob, isBinary: boolean) => {
      const value = isBinary ? data : (data as Buffer).toString('utf8');
      this.dispatchEvent(new MessageEvent('message', { data: value, origin: record.origin === 'null' ? `${record.protocol}//${record.host}` : record.origin }));
    });
    // "If the user agent was required to fail the WebSocket connection ... fire an event named
    // error at the WebSocket object", when the connection is closed and readyState is CLOSED,
    // right before 'close'.
    let failed = false;
    ws.on('error', () => (failed = true));
    ws.on('close', (code: number, reason: Buffer) => {
      if (failed) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(new CloseEvent('close', { wasClean: ws._closeInfo?.wasClean ?? false, code, reason: reason.toString('utf8') }));
    });
  }

  /** The URL, after parsing (`http:` as `ws:`). */
  get url(): string {
    return this.#ws.url;
  }
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return this.#ws.readyState;
  }
  /** Bytes queued by `send` and not yet written. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount + this.#discarded;
  }
  /** The extensions the server selected: the Sec-WebSocket-Extensions value, with parameters. */
  get extensions(): string {
    return this.#ws._extensionsValue;
  }
  /** The subprotocol the server selected, or ''. */
  get protocol(): string {
    return this.#ws.protocol;
  }
  /** `'blob'` (default) or `'arraybuffer'`; other values are ignored, as WebIDL enumerations are. */
  get binaryType(): 'blob' | 'arraybuffer' {
    return this.#ws.binaryType === 'arraybuffer' ? 'arraybuffer' : 'blob';
  }
  set binaryType(value: 'blob' | 'arraybuffer') {
    if (value === 'blob' || value === 'arraybuffer') this.#ws.binaryType = value;
  }

  /**
   * Send a message: text for a string, binary for a `Blob`, `ArrayBuffer` or view.
   *
   * @throws {DOMException} "InvalidStateError" while CONNECTING
   */
  send(data: string | Blob | ArrayBufferLike | ArrayBufferView): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.");
    // "If this's ready state is CONNECTING, then throw an "InvalidStateError" DOMException."
    if (this.#ws.readyState === NodeWebSocket.CONNECTING) throw new DOMException('the WebSocket is still connecting', 'InvalidStateError');
    // WebIDL: `(BufferSource or Blob or USVString)`; any other value is converted to a string.
    const binary = data instanceof Blob || data instanceof ArrayBuffer || ArrayBuffer.isView(data) || isSharedArrayBuffer(data);
    const payload = binary ? data : String(data);
    if (this.#ws.readyState !== NodeWebSocket.OPEN) {
      // "increase the bufferedAmount attribute by the length of data in bytes" although nothing is sent (closing or closed).
      this.#discarded += typeof payload === 'string' ? Buffer.byteLength(payload) : payload instanceof Blob ? payload.size : (payload as ArrayBufferLike | ArrayBufferView).byteLength;
      return;
    }
    this.#ws.send(payload as string, { binary });
  }

  /**
   * Start the closing handshake (or abort the connection while CONNECTING).
   *
   * @throws {DOMException} "InvalidAccessError" for a code other than 1000 or 3000–4999; "SyntaxError" for a reason over 123 bytes
   */
  close(code?: number, reason?: string): void {
    // "If code is present, but is neither an integer equal to 1000 nor an integer in the range
    // 3000 to 4999, inclusive, throw an "InvalidAccessError" DOMException."
    if (code !== undefined) {
      // A fraction is dropped, as Chromium does (WebIDL's [Clamp] would round it; undici rounds).
      code = Math.trunc(Number(code));
      if (code !== 1000 && !(code >= 3000 && code <= 4999)) throw new DOMException(`invalid close code: ${code}`, 'InvalidAccessError');
    }
    // "If reasonBytes's length is greater than 123, then throw a "SyntaxError" DOMException."
    if (reason !== undefined && Buffer.byteLength(String(reason)) > 123) throw new DOMException('close reason longer than 123 bytes', 'SyntaxError');
    const state = this.#ws.readyState;
    if (state === NodeWebSocket.CLOSING || state === NodeWebSocket.CLOSED) return;
    // While connecting this fails the connection ('error', then 'close' with 1006), as the standard says.
    void this.#ws.close(code, reason === undefined ? undefined : String(reason));
  }

  #attribute<E extends Event>(type: EventType): Handler<E> {
    return (this.#handlers[type] ?? null) as Handler<E>;
  }

  #setAttribute<E extends Event>(type: EventType, handler: Handler<E>): void {
    const had = type in this.#handlers;
    this.#handlers[type] = (typeof handler === 'function' ? handler : null) as Handler;
    // An event handler is one listener, registered when it is first set (its place in the order).
    if (!had) this.addEventListener(type, (event: Event) => this.#handlers[type]?.call(this, event));
  }

  /** Event handler attribute. */
  get onopen(): Handler {
    return this.#attribute('open');
  }
  set onopen(handler: Handler) {
    this.#setAttribute('open', handler);
  }
  /** Event handler attribute. */
  get onmessage(): Handler<MessageEvent> {
    return this.#attribute('message');
  }
  set onmessage(handler: Handler<MessageEvent>) {
    this.#setAttribute('message', handler);
  }
  /** Event handler attribute. */
  get onerror(): Handler {
    return this.#attribute('error');
  }
  set onerror(handler: Handler) {
    this.#setAttribute('error', handler);
  }
  /** Event handler attribute. */
  get onclose(): Handler<CloseEvent> {
    return this.#attribute('close');
  }
  set onclose(handler: Handler<CloseEvent>) {
    this.#setAttribute('close', handler);
  }
}

/** `addEventListener` options (the DOM's `AddEventListenerOptions`, or `capture` as a boolean). */
type ListenerOptions = boolean | { capture?: boolean; once?: boolean; passive?: boolean; signal?: AbortSignal };
/** Any listener `EventTarget` takes. */
type AnyListener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown } | null;

/** Listener types per event, as the DOM's `WebSocketEventMap` gives them. */
export interface WebSocket {
  addEventListener(type: 'message', listener: (this: WebSocket, event: MessageEvent) => unknown, options?: ListenerOptions): void;
  addEventListener(type: 'close', listener: (this: WebSocket, event: CloseEvent) => unknown, options?: ListenerOptions): void;
  addEventListener(type: 'open' | 'error', listener: (this: WebSocket, event: Event) => unknown, options?: ListenerOptions): void;
  addEventListener(type: string, listener: AnyListener, options?: ListenerOptions): void;
  removeEventListener(type: 'message', listener: (this: WebSocket, event: MessageEvent) => unknown, options?: ListenerOptions): void;
  removeEventListener(type: 'close', listener: (this: WebSocket, event: CloseEvent) => unknown, options?: ListenerOptions): void;
  removeEventListener(type: string, listener: AnyListener, options?: ListenerOptions): void;
}

defineReadyStates(WebSocket);
for (const name of ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType', 'onopen', 'onmessage', 'onerror', 'onclose']) {
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)!;
  Object.defineProperty(WebSocket.prototype, name, { ...descriptor, enumerable: true });
}

function isSharedArrayBuffer(data: unknown): boolean {
  return typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer;
}
