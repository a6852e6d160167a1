// Items kept sorted by a bigint `value`, unique by value. Used for the per-sharing-key list of
// addresses that a service with the same key could join (spec 3.4).

export class SortedByValue<T extends { readonly value: bigint }> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  at(index: number): T | undefined {
    return this.items[index];
  }

  /** Inserts item; false when an item with the same value is already there. */
  insert(item: T): boolean {
    const i = this.indexAtOrAfter(item.value);
    if (this.items[i]?.value === item.value) return false;
    this.items.splice(i, 0, item);
    return true;
  }

  /** Removes the item with this value; false when there is none. */
  remove(value: bigint): boolean {
    const i = this.indexAtOrAfter(value);
    if (this.items[i]?.value !== value) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Index of the first item whose value is >= value (length when there is none). */
  indexAtOrAfter(value: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as T).value < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
