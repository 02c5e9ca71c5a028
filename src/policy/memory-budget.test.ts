import { describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget.js';

class Holder {
  constructor(
    readonly name: string,
    public bytes: number,
  ) {}
  heldBytes(): number {
    return this.bytes;
  }
}

describe('MemoryBudget', () => {
  it('picks the largest holders until the rest fits', () => {
    const budget = new MemoryBudget<Holder>(100);
    const small = new Holder('small', 10);
    const big = new Holder('big', 60);
    const bigger = new Holder('bigger', 70);
    expect(budget.update(small, 10)).toEqual([]);
    expect(budget.update(big, 60)).toEqual([]);
    expect(budget.update(bigger, 70).map((h) => h.name)).toEqual(['bigger']);
  });
  it('refreshes stale figures before cutting anyone', () => {
    const budget = new MemoryBudget<Holder>(100);
    const a = new Holder('a', 90);
    budget.update(a, 90);
    a.bytes = 0; // drained meanwhile, not yet reported
    const b = new Holder('b', 50);
    expect(budget.update(b, 50)).toEqual([]);
    expect(budget.held).toBe(50);
  });
  it('tracks only holders that hold something', () => {
    const budget = new MemoryBudget<Holder>(100);
    const a = new Holder('a', 5);
    budget.update(a, 5);
    budget.remove(a);
    expect(budget.held).toBe(0);
    expect((budget as unknown as { holders: Map<Holder, number> }).holders.size).toBe(0);
  });
});
