/**
 * The Redis backplane: Redis Pub/Sub (or sharded pub/sub, SPUBLISH/SSUBSCRIBE, for Redis
 * Cluster) as the bus between server processes, over node-redis (`redis`, a peer dependency).
 * Two connections are used, as Redis requires: one in subscriber mode, one for PUBLISH. A channel
 * is subscribed only while the server has a local subscriber for it, so Redis forwards a message
 * only to the processes that want it. node-redis reconnects on its own (here with exponential
 * backoff and full jitter) and re-subscribes every channel; this module turns its connection
 * events into the server's down/up status. While either connection is down, publishes are not
 * queued: they return false and do not cross processes (at-most-once; the server counts them).
 * It never throws into the event loop: Redis errors become status changes.
 */
import { createClient } from 'redis';
import { ErrorCode, WebSocketError } from '../core/index.js';
import type { Backplane, BackplaneSink } from '../pubsub/index.js';

/**
 * The parts of a node-redis (v4 to v6) client this backplane uses. Pass your own clients (one of
 * them will be put in subscriber mode) or a URL.
 */
export interface RedisClientLike {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channels: string, listener: (message: Buffer, channel: Buffer) => unknown, bufferMode: true): Promise<unknown>;
  unsubscribe(channels: string, listener?: (message: Buffer, channel: Buffer) => unknown, bufferMode?: true): Promise<unknown>;
  sPublish?(channel: string, message: Buffer): Promise<unknown>;
  sSubscribe?(channels: string, listener: (message: Buffer, channel: Buffer) => unknown, bufferMode: true): Promise<unknown>;
  sUnsubscribe?(channels: string, listener?: (message: Buffer, channel: Buffer) => unknown, bufferMode?: true): Promise<unknown>;
  on(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
}

/** Where the backplane connects. */
export type RedisConnection =
  /** A Redis URL (`redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS); the backplane makes, owns and closes two clients. */
  | { readonly url: string }
  /** Your clients: `client` publishes, `subscriber` is put in subscriber mode. They are connected if they are not, and left open by `close()`. */
  | { readonly client: RedisClientLike; readonly subscriber: RedisClientLike };

/** Backplane settings. */
export interface RedisBackplaneOptions {
  /** Prefix of every Redis channel this backplane uses (several applications can share one Redis). Default `'rfc6455:'`. */
  readonly channelPrefix?: string;
  /** Use sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7+) so a Redis Cluster routes each channel to one shard. Default false. */
  readonly sharded?: boolean;
  /** Reconnection backoff of clients made from a URL: first delay and cap, in ms (full jitter). Default 50 and 5,000. */
  readonly reconnect?: { readonly minDelay?: number; readonly maxDelay?: number };
}

/**
 * Make a Redis backplane for a `WebSocketServer` (`backplane` option).
 *
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for a bad connection or option
 */
export function createRedisBackplane(connection: RedisConnection, options: RedisBackplaneOptions = {}): Backplane {
  const prefix = options.channelPrefix ?? 'rfc6455:';
  if (typeof prefix !== 'string') throw new WebSocketError(ErrorCode.InvalidArgument, 'option "channelPrefix" must be a string');
  const minDelay = options.reconnect?.minDelay ?? 50;
  const maxDelay = options.reconnect?.maxDelay ?? 5000;
  if (!(minDelay > 0 && maxDelay >= minDelay)) throw new WebSocketError(ErrorCode.InvalidArgument, 'option "reconnect" needs 0 < minDelay <= maxDelay');
  if ('url' in connection) {
    if (typeof connection.url !== 'string') throw new WebSocketError(ErrorCode.InvalidArgument, 'a Redis url must be a string');
    const make = () =>
      createClient({
        url: connection.url,
        // Publishes while disconnected are dropped (counted), not queued without bound.
        disableOfflineQueue: true,
        socket: { reconnectStrategy: (retries: number) => Math.random() * Math.min(maxDelay, minDelay * 2 ** Math.min(retries, 20)) },
      }) as unknown as RedisClientLike;
    return new RedisBackplane(make(), make(), true, prefix, options.sharded === true);
  }
  const { client, subscriber } = connection;
  if (client === undefined || subscriber === undefined || client === subscriber) {
    throw new WebSocketError(ErrorCode.InvalidArgument, 'pass { url } or two distinct clients { client, subscriber }');
  }
  return new RedisBackplane(client, subscriber, false, prefix, options.sharded === true);
}

class RedisBackplane implements Backplane {
  private sink: BackplaneSink | null = null;
  /** Channels the server wants (one source of truth: re-issued to Redis whenever the subscriber is ready). */
  private readonly channels = new Set<string>();
  /** Channels given up while an UNSUBSCRIBE could not be sent (Redis down): sent again when it is back. */
  private readonly leaving = new Set<string>();
  private reportedUp = false;
  private closed = false;
  private readonly onMessage = (message: Buffer, channel: Buffer) => {
    // node-redis sends channel names as UTF-8.
    const name = channel.toString('utf8');
    if (this.closed || !name.startsWith(this.prefix)) return;
    const own = name.slice(this.prefix.length);
    // A channel given up meanwhile (Redis may still deliver what was in flight).
    if (!this.channels.has(own)) return;
    this.sink?.message(own, message);
  };
  private readonly onChange = () => this.report();
  private readonly onSubscriberReady = () => this.resync();
  private readonly onError = (error: Error) => this.report(error);

  constructor(
    private readonly publisher: RedisClientLike,
    private readonly subscriber: RedisClientLike,
    private readonly owned: boolean,
    private readonly prefix: string,
    private readonly sharded: boolean,
  ) {
    if (sharded && (publisher.sPublish === undefined || subscriber.sSubscribe === undefined)) {
      throw new WebSocketError(ErrorCode.InvalidArgument, 'option "sharded" needs a client with sPublish / sSubscribe (node-redis 4.6 or later)');
    }
  }

  get up(): boolean {
    return !this.closed && this.publisher.isReady && this.subscriber.isReady;
  }

  attach(sink: BackplaneSink): void {
    if (this.sink !== null) throw new WebSocketError(ErrorCode.InvalidState, 'a backplane serves one server');
    this.sink = sink;
    for (const client of [this.publisher, this.subscriber]) {
      client.on('ready', this.onChange);
      client.on('end', this.onChange);
      client.on('reconnecting', this.onChange);
      client.on('error', this.onError);
      if (!client.isOpen) client.connect().catch((error: Error) => this.report(error));
    }
    this.subscriber.on('ready', this.onSubscriberReady);
    // Clients passed in may be connected already: no 'ready' will come.
    this.report();
  }

  subscribe(channel: string): void {
    if (this.closed || this.channels.has(channel)) return;
    this.channels.add(channel);
    this.leaving.delete(channel);
    this.send(true, channel);
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel) || this.closed) return;
    this.send(false, channel);
  }

  /**
   * SUBSCRIBE or UNSUBSCRIBE one channel. node-redis keeps a subscription (and re-sends it on
   * reconnect) only once Redis confirmed it; one that fails while Redis is down is sent again
   * from {@link resync} when the subscriber is ready.
   */
  private send(join: boolean, channel: string): void {
    const full = this.prefix + channel;
    const s = this.subscriber;
    const done = join
      ? this.sharded
        ? s.sSubscribe!(full, this.onMessage, true)
        : s.subscribe(full, this.onMessage, true)
      : this.sharded
        ? s.sUnsubscribe!(full, this.onMessage, true)
        : s.unsubscribe(full, this.onMessage, true);
    done.then(
      () => {
        if (!join) this.leaving.delete(channel);
      },
      (error: Error) => {
        if (!join && !this.channels.has(channel)) this.leaving.add(channel);
        this.report(error);
      },
    );
  }

  /** The subscriber is (again) ready: make Redis's subscriptions match {@link channels}. */
  private resync(): void {
    if (this.closed) return;
    // Idempotent for channels node-redis re-subscribed by itself.
    for (const channel of this.channels) this.send(true, channel);
    for (const channel of this.leaving) this.send(false, channel);
  }

  publish(channel: string, envelope: Uint8Array): boolean {
    if (!this.up) return false;
    const message = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    const full = this.prefix + channel;
    const done = this.sharded ? this.publisher.sPublish!(full, message) : this.publisher.publish(full, message);
    done.catch((error: Error) => this.report(error));
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const channels = [...this.channels];
    this.channels.clear();
    for (const client of [this.publisher, this.subscriber]) {
      client.off('ready', this.onChange);
      client.off('end', this.onChange);
      client.off('reconnecting', this.onChange);
    }
    this.subscriber.off('ready', this.onSubscriberReady);
    if (this.owned) {
      await Promise.all([this.publisher, this.subscriber].map((client) => endClient(client)));
    } else if (this.subscriber.isReady) {
      for (const channel of channels) {
        const full = this.prefix + channel;
        await (this.sharded ? this.subscriber.sUnsubscribe!(full, this.onMessage, true) : this.subscriber.unsubscribe(full, this.onMessage, true)).catch(() => undefined);
      }
    }
    for (const client of [this.publisher, this.subscriber]) client.off('error', this.onError);
  }

  /** Tell the server when the bus goes down or comes back (once per change). */
  private report(cause?: Error): void {
    if (this.closed) return;
    const up = this.up;
    if (up === this.reportedUp) return;
    this.reportedUp = up;
    this.sink?.status(up, up ? undefined : cause);
  }
}

/** Close a client this backplane made; a client that is reconnecting is destroyed. */
async function endClient(client: RedisClientLike): Promise<void> {
  const destroyable = client as RedisClientLike & { destroy?: () => void; disconnect?: () => Promise<unknown> };
  try {
    if (client.isReady) await (client.close?.() ?? client.quit?.());
    else if (client.isOpen) destroyable.destroy?.() ?? (await destroyable.disconnect?.());
  } catch {
    // Closing a client that is going away anyway.
  }
}
