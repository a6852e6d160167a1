// Service writes the controller made that its Service cache may not show yet. The watch event of
// our own annotation patch arrives before (or without) the status patch sent beside it; seen
// alone, that event looks like a Service missing its status and used to cost a second,
// identical status patch per Service: at 50,000 Services a third of the controller's API writes.
// A write is redundant while an identical one is in flight, or when it completed at a resource
// version newer than the cached object's. Resource versions of one resource are comparable
// integers (Kubernetes 1.35, KEP-5504); when one does not parse, nothing is skipped.

interface Mark {
  uid: string;
  target: string;
  inFlight: number;
  /** Highest resource version our writes of `target` returned. */
  writtenRv?: bigint;
}

/** A positive decimal integer without leading zeros (KEP-5504's format), else undefined. */
export function parseResourceVersion(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^[1-9][0-9]*$/.test(rv) ? BigInt(rv) : undefined;
}

export class WriteMarks {
  private readonly marks = new Map<string, Mark>();

  /**
   * True when writing `target` for this Service would repeat a write the cache has not caught up
   * with: an identical write is in flight, or completed at a newer resource version than `cachedRv`.
   */
  redundant(key: string, uid: string, target: string, cachedRv: string | undefined): boolean {
    const m = this.marks.get(key);
    if (!m || m.uid !== uid || m.target !== target) return false;
    if (m.inFlight > 0) return true;
    const cached = parseResourceVersion(cachedRv);
    return m.writtenRv !== undefined && cached !== undefined && cached < m.writtenRv;
  }

  /** A write of `target` starts; a different earlier target of the key is forgotten. */
  begin(key: string, uid: string, target: string): void {
    const m = this.marks.get(key);
    if (m && m.uid === uid && m.target === target) m.inFlight++;
    else this.marks.set(key, { uid, target, inFlight: 1 });
  }

  /** The write of `target` ended; `rvs` are the resource versions its responses carried. */
  end(key: string, target: string, ok: boolean, rvs: readonly (string | undefined)[]): void {
    const m = this.marks.get(key);
    if (!m || m.target !== target) return;
    m.inFlight = Math.max(0, m.inFlight - 1);
    if (!ok) {
      // A failed write proves nothing about the object: the next pass writes again.
      if (m.inFlight === 0) this.marks.delete(key);
      return;
    }
    for (const rv of rvs.map(parseResourceVersion)) {
      if (rv !== undefined && (m.writtenRv === undefined || rv > m.writtenRv)) m.writtenRv = rv;
    }
  }

  /** The cache shows what the controller wants (or the Service is gone): nothing to remember. */
  forget(key: string): void {
    const m = this.marks.get(key);
    if (m && m.inFlight === 0) this.marks.delete(key);
  }

  get size(): number {
    return this.marks.size;
  }
}
