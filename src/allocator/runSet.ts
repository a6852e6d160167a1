// A set of bigints kept as sorted, disjoint, non-adjacent inclusive runs [start, end].
// The allocator keeps one per pool CIDR for the addresses in use: finding the first free
// address is one binary search, whatever the pool size (a /64 has 2^64 addresses).

export class RunSet {
  // Parallel arrays: run i covers starts[i]..ends[i]; ends[i] + 1 < starts[i + 1] always
  // (adjacent runs are merged), so the value after a run is never in the set.
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private count = 0;

  /** Builds the set from strictly ascending values in one pass. */
  static fromAscending(values: Iterable<bigint>): RunSet {
    const set = new RunSet();
    let prev: bigint | undefined;
    for (const v of values) {
      if (prev !== undefined && v <= prev) throw new Error(`RunSet.fromAscending: ${v} does not follow ${prev}`);
      const last = set.ends.length - 1;
      if (last >= 0 && set.ends[last] === v - 1n) set.ends[last] = v;
      else {
        set.starts.push(v);
        set.ends.push(v);
      }
      set.count++;
      prev = v;
    }
    return set;
  }

  /** Number of values held. */
  get size(): number {
    return this.count;
  }

  /** Number of runs (a measure of fragmentation). */
  get runCount(): number {
    return this.starts.length;
  }

  has(value: bigint): boolean {
    const i = this.runAtOrBefore(value);
    return i >= 0 && (this.ends[i] as bigint) >= value;
  }

  /** Adds value; false if it was already present. */
  add(value: bigint): boolean {
    const i = this.runAtOrBefore(value);
    if (i >= 0 && (this.ends[i] as bigint) >= value) return false;
    const joinsLeft = i >= 0 && this.ends[i] === value - 1n;
    const joinsRight = i + 1 < this.starts.length && this.starts[i + 1] === value + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1] as bigint;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = value;
    } else if (joinsRight) {
      this.starts[i + 1] = value;
    } else {
      this.starts.splice(i + 1, 0, value);
      this.ends.splice(i + 1, 0, value);
    }
    this.count++;
    return true;
  }

  /** Removes value; false if it was not present. */
  delete(value: bigint): boolean {
    const i = this.runAtOrBefore(value);
    if (i < 0) return false;
    const start = this.starts[i] as bigint;
    const end = this.ends[i] as bigint;
    if (end < value) return false;
    if (start === end) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (value === start) {
      this.starts[i] = value + 1n;
    } else if (value === end) {
      this.ends[i] = value - 1n;
    } else {
      this.ends[i] = value - 1n;
      this.starts.splice(i + 1, 0, value + 1n);
      this.ends.splice(i + 1, 0, end);
    }
    this.count--;
    return true;
  }

  /** Smallest value >= from that is NOT in the set. */
  firstAbsentFrom(from: bigint): bigint {
    const i = this.runAtOrBefore(from);
    if (i >= 0 && (this.ends[i] as bigint) >= from) return (this.ends[i] as bigint) + 1n;
    return from;
  }

  /** The runs, ascending (for tests and debugging). */
  runs(): Array<readonly [bigint, bigint]> {
    return this.starts.map((s, i) => [s, this.ends[i] as bigint] as const);
  }

  /** Index of the last run starting at or before value, -1 if none. */
  private runAtOrBefore(value: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as bigint) <= value) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
