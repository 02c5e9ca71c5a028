/**
 * Connection admission, sans-I/O: budgets for opening handshakes in progress (total and per
 * client address) and for open connections (total, per address, per authenticated user). A
 * server asks before it spends work on a socket (`beginHandshake`, before any parsing) and again
 * before it writes `101` (`admit`); every grant is a ticket that is given back exactly once.
 * Refusals carry the HTTP status to answer with: 429 with `Retry-After` for a per-address or
 * per-user limit, 503 for a server-wide one. Counts live in maps whose entries go when they reach
 * zero, so memory follows live clients only. No sockets, no timers, no Node.js APIs.
 */

/** The budgets. Every one is on by default (see `src/core/defaults.ts`). */
export interface AdmissionLimits {
  /** Open connections, all clients together. */
  readonly maxConnections: number;
  /** Open connections of one client address. */
  readonly maxConnectionsPerIp: number;
  /** Open connections of one user (the id `verify` returned). */
  readonly maxConnectionsPerUser: number;
  /** Opening handshakes in progress (TLS, request head, verify), all clients together. */
  readonly maxPendingHandshakes: number;
  /** Opening handshakes in progress from one client address. */
  readonly maxPendingHandshakesPerIp: number;
}

/** A refusal: answer with this status (and `Retry-After` seconds when set) and close. */
export interface AdmissionRefusal {
  readonly ok: false;
  readonly status: 429 | 503;
  readonly reason: string;
  readonly retryAfter: number | undefined;
  /** Which budget refused. */
  readonly limit: keyof AdmissionLimits;
}

/** A granted open connection; give it back with {@link Admission.release}. */
export interface OpenTicket {
  readonly ok: true;
  readonly address: string;
  readonly user: string | undefined;
}

/**
 * What an open connection keeps of its ticket until it is released: the address alone when no
 * user is counted (the common case: no object per connection), the ticket otherwise.
 */
export type AdmissionRecord = string | OpenTicket;

/** The record an open connection keeps of `ticket`. */
export function admissionRecord(ticket: OpenTicket): AdmissionRecord {
  return ticket.user === undefined ? ticket.address : ticket;
}

/** The user a record counts, if any. */
export function userOf(record: AdmissionRecord): string | undefined {
  return typeof record === 'string' ? undefined : record.user;
}

/** The ticket a record stands for (what {@link Admission.release} takes). */
export function ticketOf(record: AdmissionRecord): OpenTicket {
  return typeof record === 'string' ? { ok: true, address: record, user: undefined } : record;
}

/** Seconds a client refused by a per-address or per-user limit is told to wait. */
/** Open connections and pending handshakes of one client address. */
export interface AddressLoad {
  readonly address: string;
  readonly open: number;
  readonly pending: number;
}

/** The `n` items with the largest `score`, largest first. */
export function topN<T>(items: T[], n: number, score: (item: T) => number): T[] {
  return items.sort((a, b) => score(b) - score(a)).slice(0, n);
}

const RETRY_AFTER_SECONDS = 5;

function refuse(status: 429 | 503, reason: string, limit: keyof AdmissionLimits): AdmissionRefusal {
  return { ok: false, status, reason, retryAfter: status === 429 ? RETRY_AFTER_SECONDS : undefined, limit };
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
function decrement(map: Map<string, number>, key: string): void {
  const n = map.get(key);
  if (n === undefined) return;
  if (n <= 1) map.delete(key);
  else map.set(key, n - 1);
}

/** The admission state of one server. */
export class Admission {
  private pendingTotal = 0;
  private readonly pendingByAddress = new Map<string, number>();
  private openTotal = 0;
  private readonly openByAddress = new Map<string, number>();
  private readonly openByUser = new Map<string, number>();

  /** @param limits - the budgets */
  constructor(readonly limits: AdmissionLimits) {}

  /** Handshakes in progress. */
  get pending(): number {
    return this.pendingTotal;
  }

  /** Open connections. */
  get open(): number {
    return this.openTotal;
  }

  /**
   * The `n` addresses holding the most open connections and pending handshakes, largest first
   * (for `stats()`: one pass over the addresses present, nothing kept between calls).
   */
  busiestAddresses(n: number): AddressLoad[] {
    const load = new Map<string, AddressLoad>();
    for (const [address, open] of this.openByAddress) load.set(address, { address, open, pending: 0 });
    for (const [address, pending] of this.pendingByAddress) {
      const entry = load.get(address);
      if (entry === undefined) load.set(address, { address, open: 0, pending });
      else load.set(address, { ...entry, pending });
    }
    return topN([...load.values()], n, (a) => a.open + a.pending);
  }

  /** Open connections of `address`. */
  openFrom(address: string): number {
    return this.openByAddress.get(address) ?? 0;
  }

  /**
   * A socket from `address` wants to open: true when a handshake slot was taken (give it back
   * with {@link Admission.endHandshake}), or the refusal.
   */
  beginHandshake(address: string): true | AdmissionRefusal {
    const l = this.limits;
    if (this.pendingTotal >= l.maxPendingHandshakes) return refuse(503, 'too many pending handshakes', 'maxPendingHandshakes');
    if ((this.pendingByAddress.get(address) ?? 0) >= l.maxPendingHandshakesPerIp) return refuse(429, 'too many pending handshakes from this address', 'maxPendingHandshakesPerIp');
    this.pendingTotal++;
    increment(this.pendingByAddress, address);
    return true;
  }

  /** The handshake that {@link Admission.beginHandshake} granted has ended (upgraded, refused or gone). */
  endHandshake(address: string): void {
    if (this.pendingTotal === 0) return;
    this.pendingTotal--;
    decrement(this.pendingByAddress, address);
  }

  /** Whether one more connection from `address` (and `user`) fits, without taking it. */
  check(address: string, user: string | undefined): true | AdmissionRefusal {
    const l = this.limits;
    if (this.openTotal >= l.maxConnections) return refuse(503, 'too many connections', 'maxConnections');
    if ((this.openByAddress.get(address) ?? 0) >= l.maxConnectionsPerIp) return refuse(429, 'too many connections from this address', 'maxConnectionsPerIp');
    if (user !== undefined && (this.openByUser.get(user) ?? 0) >= l.maxConnectionsPerUser) return refuse(429, 'too many connections for this user', 'maxConnectionsPerUser');
    return true;
  }

  /** Take an open-connection slot for `address` (and `user`), or get the refusal. */
  admit(address: string, user: string | undefined): OpenTicket | AdmissionRefusal {
    const verdict = this.check(address, user);
    if (verdict !== true) return verdict;
    this.openTotal++;
    increment(this.openByAddress, address);
    if (user !== undefined) increment(this.openByUser, user);
    return { ok: true, address, user };
  }

  /** A connection {@link Admission.admit} granted has closed. Call once per ticket. */
  release(ticket: OpenTicket): void {
    if (this.openTotal === 0) return;
    this.openTotal--;
    decrement(this.openByAddress, ticket.address);
    if (ticket.user !== undefined) decrement(this.openByUser, ticket.user);
  }
}
