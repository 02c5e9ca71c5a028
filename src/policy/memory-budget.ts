/**
 * A server-wide memory budget, sans-I/O: every connection reports the bytes it holds (incomplete
 * incoming messages plus output not yet taken by the kernel); when the total passes the limit,
 * the largest holders are chosen to be cut first, until the rest fits, so a few connections can
 * never take the process down while small ones keep working. Only connections holding something
 * are tracked. No Node.js APIs.
 */

/** Something that holds memory and can say how much right now. */
export interface MemoryHolder {
  /** Bytes held now. */
  heldBytes(): number;
}

/** The budget of one server. */
export class MemoryBudget<H extends MemoryHolder> {
  private total = 0;
  private readonly holders = new Map<H, number>();

  /** @param limit - bytes all holders together may hold */
  constructor(readonly limit: number) {}

  /** Bytes held by all holders, as last reported. */
  get held(): number {
    return this.total;
  }

  /**
   * Record what `holder` holds now. Returns the holders to cut (largest first) when the total is
   * over the limit, after refreshing every holder's figure; otherwise an empty list.
   */
  update(holder: H, bytes: number): readonly H[] {
    this.set(holder, bytes);
    if (this.total <= this.limit) return NONE;
    for (const h of this.holders.keys()) this.set(h, h.heldBytes());
    if (this.total <= this.limit) return NONE;
    const largest = [...this.holders].sort((a, b) => b[1] - a[1]);
    const cut: H[] = [];
    let total = this.total;
    for (const [h, n] of largest) {
      if (total <= this.limit) break;
      cut.push(h);
      total -= n;
    }
    return cut;
  }

  /** The holder is gone. */
  remove(holder: H): void {
    this.set(holder, 0);
  }

  private set(holder: H, bytes: number): void {
    const before = this.holders.get(holder) ?? 0;
    this.total += bytes - before;
    if (bytes === 0) this.holders.delete(holder);
    else this.holders.set(holder, bytes);
  }
}

const NONE: readonly never[] = [];
