/**
 * `reconnect(url, options)`: reconnection as an async loop (python-websockets'
 * `async for websocket in connect(...)`). Each iteration yields a newly opened `WebSocket`; when
 * the loop asks for the next one, it waits for that connection to close, consults the retry table
 * (or `shouldReconnect`) and the backoff, waits, and connects again. It ends normally when a
 * connection closes with 1000/1005 (the server's goodbye, or the loop body's own `close()`), and
 * throws a `WS_ERR_RECONNECT_GAVE_UP` error (its `cause` says why) when an ending does not retry
 * or `maxRetries` is spent. Breaking out of the loop closes
 * the current connection and cancels any wait, so no timer outlives the loop. A connection is
 * yielded with reading held until the next turn of the event loop, so a loop body that starts
 * iterating (or attaches a `'message'` listener) right away misses no message. It holds no
 * connection state beyond the current `WebSocket`.
 */
import { CloseCode } from '../../core/index.js';
import type { DisconnectCause } from '../../policy/index.js';
import { WebSocket } from '../websocket.js';
import { gaveUpError, monotonicNow, nextDelay, type ReconnectLoopOptions, resolveReconnect, watchAttempt } from './reconnect-options.js';

/** How one attempt or connection ended. */
interface Ending {
  readonly cause: DisconnectCause;
  readonly wasOpen: boolean;
}

/**
 * Connect, and reconnect after every transient ending, yielding each open connection.
 *
 * @example
 * for await (const ws of reconnect('wss://example.com/feed')) {
 *   ws.send('subscribe');
 *   for await (const message of ws) console.log(message);
 * }
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` (at the first iteration) for a bad URL or option;
 *   `WS_ERR_RECONNECT_GAVE_UP` when it stops retrying
 */
export async function* reconnect(address: string | URL, options: ReconnectLoopOptions = {}): AsyncGenerator<WebSocket, void, undefined> {
  const { protocols, ...rest } = options;
  const settings = resolveReconnect(address, protocols, rest);
  let current: WebSocket | null = null;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  try {
    for (;;) {
      const ws = new WebSocket(settings.url, settings.protocols, settings.client);
      current = ws;
      let resolveOpened: (value: boolean) => void = () => undefined;
      const opened = new Promise<boolean>((resolve) => {
        resolveOpened = resolve;
      });
      const ending = new Promise<Ending>((resolve) => {
        watchAttempt(ws, {
          // A client delivers nothing before the next turn of the event loop, so the loop body
          // attaches its listeners (or starts iterating) before the first message.
          opened: () => resolveOpened(true),
          ended: (_ws, cause, wasOpen) => {
            resolveOpened(false);
            resolve({ cause, wasOpen });
          },
        });
      });
      if (await opened) {
        settings.backoff.opened(monotonicNow());
        yield ws;
      }
      const { cause, wasOpen } = await ending;
      current = null;
      if (wasOpen) settings.backoff.closed(monotonicNow());
      const delay = nextDelay(settings, cause);
      if (delay === null) {
        if (cause.kind === 'closed' && (cause.code === CloseCode.Normal || cause.code === CloseCode.NoStatusReceived)) return;
        throw gaveUpError(cause, settings.backoff.retries);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
      });
      timer = null;
      wake = null;
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
    (wake as (() => void) | null)?.();
    if (current !== null && current.readyState <= WebSocket.OPEN) void current.close();
  }
}

