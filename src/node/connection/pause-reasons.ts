/**
 * Why a connection is not reading its socket. Reading pauses while any reason holds and resumes
 * only when none does, so one part of the connection (say, the inflate path) can never undo
 * another's pause (the application's `pause()`). A bit set, one number per connection.
 */

/** The reasons, as bits. */
export const PauseReason = {
  /** The application called `pause()`. */
  User: 1,
  /** The peer is not reading our output: our write buffer is over the high-water mark. */
  PeerNotReading: 2,
  /** An async iterator holds `maxQueuedMessages` unconsumed messages. */
  IteratorFull: 4,
  /** A compressed message is being inflated: later input waits. */
  Inflating: 8,
  /** The connection has not started yet (its 'connection' or 'open' listeners are being attached). */
  NotStarted: 16,
  /** A client's first turn after 'open': code that awaited 'open' attaches its listeners first. */
  Handover: 32,
  /** `allowSynchronousEvents: false`: an event was emitted this turn, the next waits for the next turn. */
  Yielding: 64,
} as const;
/** One pause reason. */
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];
