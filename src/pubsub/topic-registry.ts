/**
 * Which subscribers hold which topic, in one process: a map from topic key to the set of its
 * subscribers. A topic exists only while it has a subscriber (its set is deleted with the last
 * one), so memory is proportional to live subscriptions. The registry tells the caller when a
 * topic gains its first local subscriber or loses its last, which is when a backplane should
 * subscribe or unsubscribe its channel. Each subscriber keeps its own list of topics (so the
 * registry needs no reverse map). Generic over the subscriber type; no I/O.
 */

/** What `add` did. */
export type AddResult = 'first' | 'added' | 'already';
/** What `remove` did. */
export type RemoveResult = 'last' | 'removed' | 'absent';

/** Topic key -> subscribers. */
export class TopicRegistry<S> {
  private readonly topics = new Map<string, Set<S>>();

  /** Subscribe `subscriber` to `key`; 'first' when the topic had no subscriber before. */
  add(key: string, subscriber: S): AddResult {
    const set = this.topics.get(key);
    if (set === undefined) {
      this.topics.set(key, new Set([subscriber]));
      return 'first';
    }
    if (set.has(subscriber)) return 'already';
    set.add(subscriber);
    return 'added';
  }

  /** Unsubscribe `subscriber` from `key`; 'last' when the topic has no subscriber left. */
  remove(key: string, subscriber: S): RemoveResult {
    const set = this.topics.get(key);
    if (set === undefined || !set.delete(subscriber)) return 'absent';
    if (set.size !== 0) return 'removed';
    this.topics.delete(key);
    return 'last';
  }

  /** The subscribers of `key` (do not modify), or undefined when it has none. */
  subscribers(key: string): ReadonlySet<S> | undefined {
    return this.topics.get(key);
  }

  /** How many subscribers `key` has. */
  count(key: string): number {
    return this.topics.get(key)?.size ?? 0;
  }

  /** Every key with at least one subscriber. */
  keys(): IterableIterator<string> {
    return this.topics.keys();
  }

  /** How many keys have subscribers. */
  get size(): number {
    return this.topics.size;
  }
}
