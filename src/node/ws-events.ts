/**
 * ws's WHATWG emulation on the Node.js `WebSocket`: `addEventListener` / `removeEventListener`
 * and the `onopen` / `onmessage` / `onclose` / `onerror` attributes, delivering `Event`,
 * `MessageEvent`, `CloseEvent` and `ErrorEvent`-shaped objects (`type`, `target`, `data`, `code`,
 * `reason`, `wasClean`, `error`, `message`). Listeners are wrappers registered on the emitter
 * itself, so a connection that never uses this API pays nothing for it: no field, no closure. It
 * must not keep state of its own, and it does not change how the emitter's own events are emitted.
 */
import type { EventEmitter } from 'node:events';
import type { WebSocket } from './websocket.js';

const FOR_ATTRIBUTE = Symbol('rfc6455.for-event-attribute');
const LISTENER = Symbol('rfc6455.listener');

/** An event of the emulation (`open`, and the base of the others). */
export class WsEvent {
  /** The event's name. */
  readonly type: string;
  /** The WebSocket that emitted it. */
  target: WebSocket = null as unknown as WebSocket;
  /** @param type - the event's name */
  constructor(type: string) {
    this.type = type;
  }
}

/** A `message` event: `data` is a string for text, and per `binaryType` for binary. */
export class WsMessageEvent extends WsEvent {
  /** The message. */
  readonly data: unknown;
  /** @param data - the message */
  constructor(data: unknown) {
    super('message');
    this.data = data;
  }
}

/** A `close` event. */
export class WsCloseEvent extends WsEvent {
  /** The close code (1005 when the peer sent none, 1006 when there was no close frame). */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /** Whether close frames went both ways before the transport closed. */
  readonly wasClean: boolean;
  /** @param code - close code @param reason - reason @param wasClean - clean close */
  constructor(code: number, reason: string, wasClean: boolean) {
    super('close');
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

/** An `error` event. */
export class WsErrorEvent extends WsEvent {
  /** The error. */
  readonly error: Error;
  /** Its message. */
  readonly message: string;
  /** @param error - the error */
  constructor(error: Error) {
    super('error');
    this.error = error;
    this.message = error.message;
  }
}

/** A listener: a function or an object with `handleEvent`. */
export type WsEventListener<E> = ((event: E) => void) | { handleEvent(event: E): void };

/** What the emulation needs of the emitter: its events and how it closed. */
export interface EmulationHost extends EventEmitter {
  /** How the connection ended, once it has. */
  readonly _closeInfo: { readonly wasClean: boolean } | null;
}

type Wrapper = ((...args: unknown[]) => void) & { [FOR_ATTRIBUTE]?: boolean; [LISTENER]?: unknown };

function call(listener: unknown, target: unknown, event: WsEvent): void {
  event.target = target as WebSocket;
  if (typeof listener === 'function') (listener as (e: WsEvent) => void).call(target, event);
  else (listener as { handleEvent(e: WsEvent): void }).handleEvent(event);
}


function wrapperFor(type: string, listener: unknown): Wrapper | null {
  const made = makeWrapper(type, listener);
  return made as unknown as Wrapper | null;
}

function makeWrapper(type: string, listener: unknown): object | null {
  switch (type) {
    case 'open':
      return function open(this: EmulationHost) {
        call(listener, this, new WsEvent('open'));
      };
    case 'message':
      return function message(this: EmulationHost, data: unknown, isBinary: boolean) {
        call(listener, this, new WsMessageEvent(isBinary ? data : String(data)));
      };
    case 'close':
      return function close(this: EmulationHost, code: number, reason: Buffer) {
        call(listener, this, new WsCloseEvent(code, reason.toString(), this._closeInfo?.wasClean ?? false));
      };
    case 'error':
      return function error(this: EmulationHost, cause: Error) {
        call(listener, this, new WsErrorEvent(cause));
      };
    default:
      return null;
  }
}

/**
 * ws's `addEventListener(type, listener, { once })` for 'open', 'message', 'close' and 'error';
 * adding the same listener twice adds it once; other types are ignored, as in ws.
 */
export function addEventListener(host: EmulationHost, type: string, listener: unknown, options?: { once?: boolean }, forAttribute = false): void {
  if (typeof listener !== 'function' && (typeof listener !== 'object' || listener === null || typeof (listener as { handleEvent?: unknown }).handleEvent !== 'function')) return;
  if (!forAttribute) {
    for (const existing of host.listeners(type) as Wrapper[]) if (existing[LISTENER] === listener && existing[FOR_ATTRIBUTE] !== true) return;
  }
  const wrapper = wrapperFor(type, listener);
  if (wrapper === null) return;
  wrapper[LISTENER] = listener;
  wrapper[FOR_ATTRIBUTE] = forAttribute;
  if (options?.once === true) host.once(type, wrapper);
  else host.on(type, wrapper);
}

/** ws's `removeEventListener(type, listener)`: removes a listener added with `addEventListener`. */
export function removeEventListener(host: EmulationHost, type: string, listener: unknown): void {
  for (const existing of host.listeners(type) as Wrapper[]) {
    if (existing[LISTENER] === listener && existing[FOR_ATTRIBUTE] !== true) {
      host.removeListener(type, existing);
      return;
    }
  }
}

/** Define `onopen`, `onmessage`, `onclose` and `onerror` on a prototype (enumerable accessors, as in ws). */
export function defineEventAttributes(prototype: object): void {
  for (const type of ['open', 'error', 'close', 'message']) {
    Object.defineProperty(prototype, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EmulationHost): unknown {
        for (const existing of this.listeners(type) as Wrapper[]) if (existing[FOR_ATTRIBUTE] === true) return existing[LISTENER];
        return null;
      },
      set(this: EmulationHost, handler: unknown) {
        for (const existing of this.listeners(type) as Wrapper[]) {
          if (existing[FOR_ATTRIBUTE] === true) {
            this.removeListener(type, existing);
            break;
          }
        }
        if (typeof handler === 'function') addEventListener(this, type, handler, undefined, true);
      },
    });
  }
}
