/**
 * The backplane contract: what a server needs from a message bus shared by many server
 * processes (Redis Pub/Sub, or anything else), and an in-process implementation. A server
 * subscribes a channel while it has a local subscriber to the channel's topic, publishes each
 * message's envelope once, and receives the envelopes other processes publish. The backplane
 * reports whether it is up; while it is down, publishing returns false (the message does not
 * cross processes: at-most-once) and local delivery goes on. Implementations own reconnection
 * and must re-subscribe every live channel when they come back. No Node.js APIs here.
 */

/** What a backplane delivers to (the server it is attached to). */
export interface BackplaneSink {
  /** An envelope another process (or this one) published on `channel`. */
  message(channel: string, envelope: Uint8Array): void;
  /** The bus went down (`up` false, with the cause) or came back. */
  status(up: boolean, cause?: Error): void;
}

/** A message bus shared by server processes. */
export interface Backplane {
  /** Attach the (one) server that uses this backplane; called once, before anything else. */
  attach(sink: BackplaneSink): void;
  /** Start receiving `channel` (idempotent). */
  subscribe(channel: string): void;
  /** Stop receiving `channel` (idempotent). */
  unsubscribe(channel: string): void;
  /** Publish an envelope; false when the bus is down and the envelope was dropped. */
  publish(channel: string, envelope: Uint8Array): boolean;
  /** Whether the bus is reachable now. */
  readonly up: boolean;
  /** Stop: unsubscribe everything and release connections. */
  close(): Promise<void>;
}

/**
 * A bus inside one process: backplanes made by the same hub hear each other (several servers in
 * one process acting as one, and a model of the Redis backplane for tests). Delivery is
 * asynchronous (a microtask), in publish order.
 */
export class InProcessHub {
  private readonly members = new Set<InProcessBackplane>();

  /** A new backplane on this hub. */
  backplane(): Backplane {
    const member = new InProcessBackplane(this);
    this.members.add(member);
    return member;
  }

  /** @internal */
  deliver(channel: string, envelope: Uint8Array): void {
    for (const member of this.members) member.receive(channel, envelope);
  }

  /** @internal */
  leave(member: InProcessBackplane): void {
    this.members.delete(member);
  }
}

class InProcessBackplane implements Backplane {
  private sink: BackplaneSink | null = null;
  private readonly channels = new Set<string>();
  private closed = false;

  constructor(private readonly hub: InProcessHub) {}

  get up(): boolean {
    return !this.closed;
  }

  attach(sink: BackplaneSink): void {
    this.sink = sink;
  }

  subscribe(channel: string): void {
    this.channels.add(channel);
  }

  unsubscribe(channel: string): void {
    this.channels.delete(channel);
  }

  publish(channel: string, envelope: Uint8Array): boolean {
    if (this.closed) return false;
    queueMicrotask(() => this.hub.deliver(channel, envelope));
    return true;
  }

  receive(channel: string, envelope: Uint8Array): void {
    if (!this.closed && this.channels.has(channel)) this.sink?.message(channel, envelope);
  }

  close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    this.hub.leave(this);
    return Promise.resolve();
  }
}
