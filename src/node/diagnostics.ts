/**
 * What operators can see: per-server counters (`wss.stats()`), `node:diagnostics_channel`
 * channels for connection open and close, handshake rejections and limit hits, and debug lines
 * through `util.debuglog` (`NODE_DEBUG=rfc6455`). Publishing costs nothing while nobody
 * subscribes. It holds no connection state and changes no behaviour.
 */
import { channel } from 'node:diagnostics_channel';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { type AddressLoad, type Admission, topN } from '../policy/index.js';
import type { TrafficCounters } from './connection/connection.js';

/** The channels, by name. Messages are plain objects (see the README). */
export const diagnostics = {
  /** `{ remoteAddress, protocol, extensions }` when a server connection opens. */
  open: channel('rfc6455:connection:open'),
  /** `{ remoteAddress, code, reason, wasClean }` when a server connection closes. */
  close: channel('rfc6455:connection:close'),
  /** `{ remoteAddress, status, reason }` when an upgrade is refused. */
  rejection: channel('rfc6455:handshake:reject'),
  /** `{ remoteAddress, limit }` when a connection breaks a limit (rate, stall, buffer, admission). */
  limit: channel('rfc6455:limit'),
} as const;

// Guarded by `enabled` at each call: a disabled logger still costs a call per connection.
const debug = debuglog('rfc6455');

/** Counters of one server since it started. */
export interface ServerStatsSnapshot {
  /** Open connections (closing ones included). */
  readonly open: number;
  /** Open connections by state (`closing`: a close frame is on its way). */
  readonly byState: { readonly open: number; readonly closing: number };
  /** Opening handshakes in progress. */
  readonly pendingHandshakes: number;
  /** Connections accepted. */
  readonly accepted: number;
  /** Data messages and payload bytes received (after decompression) and sent (as given to `send`). */
  readonly traffic: { readonly messagesIn: number; readonly bytesIn: number; readonly messagesOut: number; readonly bytesOut: number };
  /** Data messages dropped instead of delivered (`rateLimit.overflow: 'drop'`). */
  readonly dropped: number;
  /** Refused upgrades, by HTTP status. */
  readonly rejections: Readonly<Record<string, number>>;
  /** Closed connections, by close code. */
  readonly closes: Readonly<Record<string, number>>;
  /** Limit hits, by limit name. */
  readonly limits: Readonly<Record<string, number>>;
  /** The 10 client addresses holding the most open connections and pending handshakes. */
  readonly topAddresses: readonly AddressLoad[];
  /** The 10 client addresses with the most limit hits (rate limits, stalls, admission refusals...). */
  readonly topLimitHitters: readonly { readonly address: string; readonly hits: number }[];
}

/** Distinct addresses whose limit hits are counted; past it, a full table is cleared (a flood of spoofed-looking addresses cannot grow it). */
const MAX_TRACKED_ADDRESSES = 10_000;
const TOP = 10;

/** The mutable counters behind `wss.stats()`. */
export class ServerStats {
  accepted = 0;
  /** Counted by each connection of the server (see `ConnectionOwner`). */
  readonly traffic: TrafficCounters = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, dropped: 0 };
  private readonly rejections = new Map<number, number>();
  private readonly closes = new Map<number, number>();
  private readonly limits = new Map<string, number>();
  private readonly hitsByAddress = new Map<string, number>();

  rejected(status: number, reason: string, remoteAddress: string | undefined): void {
    this.rejections.set(status, (this.rejections.get(status) ?? 0) + 1);
    reportRejection(status, reason, remoteAddress);
  }
  closed(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }
  limitHit(limit: string, remoteAddress: string | undefined): void {
    this.limits.set(limit, (this.limits.get(limit) ?? 0) + 1);
    if (remoteAddress !== undefined && remoteAddress !== '') {
      const hits = this.hitsByAddress.get(remoteAddress);
      if (hits === undefined && this.hitsByAddress.size >= MAX_TRACKED_ADDRESSES) this.hitsByAddress.clear();
      this.hitsByAddress.set(remoteAddress, (hits ?? 0) + 1);
    }
    reportLimit(limit, remoteAddress);
  }

  /** A snapshot, with the connection counts read from the server's admission and its closing count. */
  snapshot(admission: Admission, closing: number): ServerStatsSnapshot {
    const t = this.traffic;
    const hitters = topN([...this.hitsByAddress].map(([address, hits]) => ({ address, hits })), TOP, (h) => h.hits);
    return {
      open: admission.open,
      byState: { open: admission.open - closing, closing },
      pendingHandshakes: admission.pending,
      accepted: this.accepted,
      traffic: { messagesIn: t.messagesIn, bytesIn: t.bytesIn, messagesOut: t.messagesOut, bytesOut: t.bytesOut },
      dropped: t.dropped,
      rejections: Object.fromEntries(this.rejections),
      closes: Object.fromEntries(this.closes),
      limits: Object.fromEntries(this.limits),
      topAddresses: admission.busiestAddresses(TOP),
      topLimitHitters: hitters,
    };
  }
}

/**
 * The server each socket in its handshake counts for. Beside the socket, not on it: a property
 * added to a socket stays in its shape for its whole life (and can push its properties out of the
 * object into a second allocation), where this entry goes at adoption.
 */
const countedFor = new WeakMap<Duplex, ServerStats>();

/** Let rejections on `socket` during its handshake count for the server whose `stats` these are. */
export function countFor(socket: Duplex, stats: ServerStats): void {
  countedFor.set(socket, stats);
}

/** The handshake of `socket` is over (an open connection counts through its owner). */
export function stopCounting(socket: Duplex): void {
  countedFor.delete(socket);
}

/** The stats a socket counts for, if any. */
export function statsOf(socket: Duplex): ServerStats | undefined {
  return countedFor.get(socket);
}

/** Report a refused upgrade (channel and debug log). */
export function reportRejection(status: number, reason: string, remoteAddress: string | undefined): void {
  if (diagnostics.rejection.hasSubscribers) diagnostics.rejection.publish({ remoteAddress, status, reason });
  if (debug.enabled) debug('rejected %s: %d %s', remoteAddress, status, reason);
}

/** Report a limit hit (channel and debug log). */
export function reportLimit(limit: string, remoteAddress: string | undefined): void {
  if (diagnostics.limit.hasSubscribers) diagnostics.limit.publish({ remoteAddress, limit });
  if (debug.enabled) debug('limit %s hit by %s', limit, remoteAddress);
}

/** Report a connection that opened. */
export function reportOpen(remoteAddress: string | undefined, protocol: string, extensions: string): void {
  if (diagnostics.open.hasSubscribers) diagnostics.open.publish({ remoteAddress, protocol, extensions });
  if (debug.enabled) debug('open %s', remoteAddress);
}

/** Report a connection that closed. */
export function reportClose(remoteAddress: string | undefined, code: number, reason: string, wasClean: boolean): void {
  if (diagnostics.close.hasSubscribers) diagnostics.close.publish({ remoteAddress, code, reason, wasClean });
  if (debug.enabled) debug('close %s: %d %s', remoteAddress, code, reason);
}
