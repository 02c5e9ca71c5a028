/**
 * Topics and fan-out for one server: the local topic registry (which connections hold which
 * topic), publishing (frame once, write the same bytes to every subscriber; with
 * permessage-deflate, one shared compression per window size for subscribers without context
 * takeover, and their own compression for the others), the slow-subscriber policy (over
 * `publishBackpressureLimit` a published message is dropped for that connection, or the
 * connection is closed with 1013), and the backplane: a channel is subscribed while the topic has
 * a local subscriber, every publish goes out once in an envelope, and envelopes from other
 * processes are delivered locally (our own are ignored; sequence gaps are counted). It never
 * blocks on a slow connection and never throws into the event loop; it does no socket I/O of its
 * own (connections write).
 */
import { randomBytes } from 'node:crypto';
import { CloseCode, ErrorCode, type PreparedFrame, prepareFrame, WebSocketError } from '../../core/index.js';
import {
  type Backplane,
  type BackplaneSink,
  channelOf,
  decodeEnvelope,
  encodeEnvelope,
  GapDetector,
  isUserKey,
  keyOfChannel,
  SequenceCounter,
  TopicRegistry,
} from '../../pubsub/index.js';
import type { Connection, DropReason, TopicHub } from '../connection/connection.js';
import type { ResolvedDeflateConfig } from '../connection/deflate-options.js';
import { SharedDeflate } from '../connection/shared-deflate.js';
import { asBuffer } from '../platform.js';

/** Settings of a server's topics. */
export interface PublisherSettings {
  readonly maxTopicLength: number;
  readonly maxTopicsPerConnection: number;
  readonly publishBackpressureLimit: number;
  readonly closeOnBackpressureLimit: boolean;
  readonly deflate: ResolvedDeflateConfig | null;
}

/** What the server is told about the backplane, and about listener errors it cannot throw. */
export interface PublisherEvents {
  backplaneStatus(up: boolean, cause: Error | undefined): void;
  /** A listener threw while a message from the backplane was delivered. */
  listenerError(error: Error): void;
}

/** Counters of the topics and the backplane (part of `wss.stats()`). */
export interface PubSubStats {
  /** Local topics with at least one subscriber. */
  readonly topics: number;
  /** Local subscriptions (connection × topic, users' own topics included). */
  readonly subscriptions: number;
  /** Messages published from this process. */
  readonly published: number;
  /** Envelopes received from other processes and delivered here. */
  readonly received: number;
  /** Messages published while the backplane was down (they did not cross processes). */
  readonly notForwarded: number;
  /** Messages other processes published that never arrived here (sequence gaps). */
  readonly gaps: number;
  /** Envelopes ignored as stale (a sequence number already seen) or malformed. */
  readonly ignored: number;
  /** Whether a backplane is in use and up (null: no backplane). */
  readonly backplaneUp: boolean | null;
}

const OPEN = 1;

/** Topics, publishing and the backplane of one server. */
export class Publisher implements BackplaneSink, TopicHub {
  /** This process's id; envelopes carry it with a generation (see {@link SequenceCounter}). */
  readonly originId = randomBytes(8).toString('hex');
  private readonly registry = new TopicRegistry<Connection>();
  private readonly sequences = new SequenceCounter();
  private readonly seen = new GapDetector();
  private subscriptions = 0;
  private published = 0;
  private received = 0;
  private notForwarded = 0;
  private malformed = 0;

  /**
   * @param settings - limits and the server's permessage-deflate tuning
   * @param backplane - the bus shared with other processes, or null for this process only
   * @param events - where backplane status changes go
   */
  constructor(
    private readonly settings: PublisherSettings,
    private readonly backplane: Backplane | null,
    private readonly events: PublisherEvents,
  ) {
    backplane?.attach(this);
  }

  /** Longest topic name accepted. */
  get maxTopicLength(): number {
    return this.settings.maxTopicLength;
  }

  /**
   * Subscribe `connection` to the topic (or user) `key`; a closed connection is not subscribed.
   *
   * @returns true if newly subscribed
   * @throws {WebSocketError} `WS_ERR_TOO_MANY_TOPICS` past `maxTopicsPerConnection`
   */
  subscribe(connection: Connection, key: string): boolean {
    if (connection.closed !== null) return false;
    const topics = (connection.topics ??= new Set());
    if (topics.has(key)) return false;
    if (!isUserKey(key) && userTopicsOf(topics) >= this.settings.maxTopicsPerConnection) {
      throw new WebSocketError(ErrorCode.TooManyTopics, `a connection may subscribe to at most ${this.settings.maxTopicsPerConnection} topics (option "maxTopicsPerConnection")`);
    }
    topics.add(key);
    this.subscriptions++;
    if (this.registry.add(key, connection) === 'first') this.backplane?.subscribe(channelOf('', key));
    return true;
  }

  /** Unsubscribe `connection` from `key`; true if it was subscribed. */
  unsubscribe(connection: Connection, key: string): boolean {
    const topics = connection.topics;
    if (topics === null || !topics.delete(key)) return false;
    this.subscriptions--;
    if (this.registry.remove(key, connection) === 'last') this.topicGone(key);
    return true;
  }

  /** A connection closed: it leaves every topic. */
  leaveAll(connection: Connection): void {
    const topics = connection.topics;
    if (topics === null) return;
    connection.topics = null;
    for (const key of topics) {
      this.subscriptions--;
      if (this.registry.remove(key, connection) === 'last') this.topicGone(key);
    }
  }

  /** Local subscribers of `key`. */
  subscriberCount(key: string): number {
    return this.registry.count(key);
  }

  /** Local topics with subscribers (users' own topics not listed). */
  topics(): string[] {
    const out: string[] = [];
    for (const key of this.registry.keys()) if (!isUserKey(key)) out.push(key);
    return out;
  }

  /**
   * Publish to every subscriber of `key` here (but `skip`) and, through the backplane, in every
   * other process.
   *
   * @returns the number of local connections it was written (or queued) to
   */
  publish(key: string, bytes: Uint8Array, binary: boolean, compress: boolean, skip: Connection | null): number {
    this.published++;
    const backplane = this.backplane;
    // The other processes first: a listener that throws during local delivery cannot stop it.
    if (backplane !== null) {
      const channel = channelOf('', key);
      // The sequence number is taken even when the bus is down, so receivers count the loss.
      const sequence = this.sequences.take(channel);
      const envelope = encodeEnvelope(`${this.originId}.${this.sequences.generation}`, sequence, binary, compress, bytes);
      if (!backplane.up || !backplane.publish(channel, envelope)) this.notForwarded++;
    }
    return this.deliver(key, bytes, binary, compress, skip);
  }

  /** @internal BackplaneSink: an envelope from the bus. */
  message(channel: string, bytes: Uint8Array): void {
    const key = keyOfChannel('', channel);
    const envelope = key === null ? null : decodeEnvelope(bytes);
    if (key === null || envelope === null) {
      this.malformed++;
      return;
    }
    // Our own envelope (any generation of our origin): delivered locally when it was published.
    if (envelope.origin.startsWith(this.originId)) return;
    // A topic left meanwhile: nothing to deliver, nothing to track.
    if (this.registry.count(key) === 0) return;
    if (!this.seen.observe(channel, envelope.origin, envelope.sequence)) return;
    this.received++;
    try {
      this.deliver(key, envelope.payload, envelope.binary, envelope.compress, null);
    } catch (error) {
      // A throwing 'dropped' listener must not unwind into the bus client's parser.
      this.events.listenerError(error as Error);
    }
  }

  /** @internal BackplaneSink */
  status(up: boolean, cause?: Error): void {
    this.events.backplaneStatus(up, cause);
  }

  /** Counters for `stats()`. */
  stats(): PubSubStats {
    return {
      topics: this.registry.size,
      subscriptions: this.subscriptions,
      published: this.published,
      received: this.received,
      notForwarded: this.notForwarded,
      gaps: this.seen.gaps,
      ignored: this.seen.stale + this.malformed,
      backplaneUp: this.backplane === null ? null : this.backplane.up,
    };
  }

  /** Stop using the backplane. */
  close(): Promise<void> {
    return this.backplane?.close() ?? Promise.resolve();
  }

  /**
   * Write one message to the local subscribers of `key`. A 'dropped' listener that throws does
   * not stop delivery to the others: the first such error is thrown once every subscriber had
   * its turn.
   */
  private deliver(key: string, bytes: Uint8Array, binary: boolean, compress: boolean, skip: Connection | null): number {
    const subscribers = this.registry.subscribers(key);
    if (subscribers === undefined) return 0;
    const { publishBackpressureLimit: limit, closeOnBackpressureLimit } = this.settings;
    let plain: PreparedFrame | null = null;
    let shared: Map<number, SharedDeflate> | null = null;
    let written = 0;
    let failure: unknown = null;
    // A connection closed here (backpressure) leaves the set while it is iterated: take a copy only then.
    let closing: Connection[] | null = null;
    const drop = (connection: Connection, reason: DropReason) => {
      try {
        connection.dropPublished(key, reason, bytes.length);
      } catch (error) {
        failure ??= error;
      }
    };
    for (const connection of subscribers) {
      if (connection === skip || connection.readyState !== OPEN) continue;
      if (connection.bufferedAmount > limit) {
        if (closeOnBackpressureLimit) (closing ??= []).push(connection);
        else drop(connection, 'backpressure');
        continue;
      }
      // Frames of two messages cannot interleave (RFC 6455 §5.4): not while the application's own
      // fragmented message is half sent.
      if (connection.sendingFragment) {
        drop(connection, 'fragmented-send');
        continue;
      }
      written++;
      if (compress && connection.compressesPublished(bytes.length)) {
        const sharedKey = connection.sharedCompressionKey;
        if (sharedKey === null) {
          // Context takeover: this connection's compressor depends on its own history.
          connection.send(bytes, binary, true, true, undefined);
          continue;
        }
        let deflate = (shared ??= new Map()).get(sharedKey);
        if (deflate === undefined) {
          const tuning = this.settings.deflate ?? { level: 6, memLevel: 8 };
          shared.set(sharedKey, (deflate = new SharedDeflate(bytes, binary, sharedKey, tuning)));
        }
        connection.sendPublished(key, null, deflate, bytes, binary);
        continue;
      }
      connection.sendPublished(key, (plain ??= asNodeFrame(prepareFrame(bytes, binary))), null, bytes, binary);
    }
    if (closing !== null) {
      for (const connection of closing) {
        drop(connection, 'backpressure');
        connection.close(CloseCode.TryAgainLater, 'publish backpressure limit');
      }
    }
    if (failure !== null) throw failure;
    return written;
  }

  private topicGone(key: string): void {
    const channel = channelOf('', key);
    this.backplane?.unsubscribe(channel);
    this.seen.forget(channel);
  }
}

function userTopicsOf(topics: Set<string>): number {
  let n = topics.size;
  for (const key of topics) if (isUserKey(key)) n--;
  return n;
}

/** The frame with Buffer views of its chunks, made once: sockets take Buffers without converting each write. */
function asNodeFrame(frame: PreparedFrame): PreparedFrame {
  return { ...frame, chunks: frame.chunks.map((chunk) => asBuffer(chunk)) };
}
